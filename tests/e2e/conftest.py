"""A live Inkline for the browser tests: `inkline web` (gunicorn) and `inkline worker` as
real processes sharing a file SQLite database in a temporary data directory, and Chromium
driven by Playwright. The tests read the database directly (sqlite3) to compare the pages
with the truth."""

from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screens"
# Below Linux's ephemeral range; picked at random, so that test runs sharing a machine seldom
# try the same port (and when they do, the server's own log tells: see `_start_web`).
PORTS = range(20_000, 32_000)
PASSWORD = "correct horse battery"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    for port in random.sample(PORTS, 50):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS}")


@dataclass
class Live:
    url: str
    data_dir: Path
    username: str
    account_id: int
    env: dict[str, str]

    def db(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.data_dir / "inkline.sqlite3", timeout=30)
        conn.row_factory = sqlite3.Row
        return conn

    def one(self, sql: str, *params: Any) -> Any:
        with contextlib.closing(self.db()) as conn:
            row = conn.execute(sql, params).fetchone()
        return None if row is None else (row[0] if len(row) == 1 else dict(row))

    def inkline(self, *args: str) -> str:
        return subprocess.run(
            [str(Path(sys.executable).parent / "inkline"), *args],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout

    def wait_for(self, sql: str, *params: Any, expect: Any, timeout: float = 60) -> Any:
        """Poll the database until `sql` answers `expect` (bounded)."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.one(sql, *params)
            if value == expect:
                return value
            time.sleep(0.1)
        raise AssertionError(f"{sql} {params}: still {value!r}, expected {expect!r}")


def _start_web(exe: str, env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`inkline web` on a free port, once gunicorn's own log says it listens there: between
    the check that a port is free and gunicorn's bind, another process may take it, and
    its answers must not pass for ours. Such a server exits, and another port is tried."""
    for _ in range(3):
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [exe, "web", "--port", str(port), "--workers", "2"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if f"Listening at: {url} " in log.read_text(errors="replace"):
                try:
                    with urllib.request.urlopen(f"{url}/login/", timeout=2):
                        return proc, url
                except OSError:
                    pass
            time.sleep(0.2)
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=20)
            raise RuntimeError(f"the web server did not answer in time:\n{log.read_text()[-3000:]}")
        if "Address already in use" not in log.read_text(errors="replace"):
            raise RuntimeError(f"the web server exited:\n{log.read_text()[-3000:]}")
    raise RuntimeError(f"no port could be bound:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    require("chromium")
    data_dir = tmp_path_factory.mktemp("inkline-live")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "INKLINE_TASKS_EAGER"}
    }
    env |= {
        "INKLINE_DATA_DIR": str(data_dir),
        "INKLINE_LOCAL_AI_LATENCY_MS": "150",
        "INKLINE_AI_CONCURRENCY": "1",
        "INKLINE_LOG_LEVEL": "WARNING",
    }
    live = Live("", data_dir, "ada", 0, env)
    live.inkline("init")
    args = ["create-account", "Roastery", "--username", "ada", "--password", PASSWORD]
    account = json.loads(live.inkline(*args, "--credits", "100000", "--json"))
    live.account_id = account["account_id"]
    exe = str(Path(sys.executable).parent / "inkline")
    with (data_dir / "worker.log").open("wb") as worker_out:
        worker = subprocess.Popen(
            [exe, "worker", "--concurrency", "1"],
            env=env,
            stdout=worker_out,
            stderr=subprocess.STDOUT,
        )
    procs = [worker]
    try:
        web, live.url = _start_web(exe, env, data_dir / "web.log")
        procs.append(web)
        yield live
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Per module: Playwright's sync API runs an event loop, and while one runs Django refuses
    database calls, so it stops before the worker goes on to other test files."""
    require("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@contextlib.contextmanager
def logged_in(
    browser: Any, live: Live, *, width: int = 1280, height: int = 900, on_login: Any = None
) -> Iterator[Any]:
    """A tab of a new browser context, logged in as the live account. After login `/` opens
    the first site's dashboard when the account already has sites (other browser modules make
    some), so this waits for leaving the login page rather than for `/`. `on_login(tab)` runs
    on the login page first (to photograph it, say)."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=width < 600
    )
    context.set_default_timeout(15_000)
    try:
        tab = context.new_page()
        tab.goto(f"{live.url}/login/")
        if on_login is not None:
            on_login(tab)
        tab.get_by_label("Username").fill(live.username)
        tab.get_by_label("Password").fill(PASSWORD)
        tab.get_by_role("button", name="Log in").click()
        tab.wait_for_url(lambda url: "/login/" not in url)
        yield tab
    finally:
        context.close()


@pytest.fixture(scope="module")
def page(browser: Any, live: Live) -> Iterator[Any]:
    """One logged-in tab for a module's tests, which run in order and build on each other."""
    with logged_in(browser, live, on_login=lambda tab: shot(tab, "00-login")) as tab:
        yield tab


def shot(page: Any, name: str) -> Path:
    """A full-page screenshot under test-artifacts/ (gitignored), to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
