"""Real Inkline processes (worker, beat, web, CLI) on a private database and broker.

`Stack` owns a temporary data dir and, for the production backend, a PostgreSQL database it
creates and drops and a Redis database it empties. The test process never touches that
database through Django: it reads it with plain SQL (`Stack.sql`), as an outside observer.
Production stacks take turns on the Redis database (a file lock): two pytest-xdist workers, or
two test runs on one machine, would otherwise empty it under each other.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get(
    "INKLINE_TEST_POSTGRES_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("INKLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/3")

# Short enough that a dead worker's run is picked up within seconds.
FAST = {
    "INKLINE_RUN_LEASE_SECONDS": "5",
    "INKLINE_TICK_SECONDS": "1",
    "INKLINE_SLICE_SECONDS": "3",
    "INKLINE_AI_CONCURRENCY": "2",
    "INKLINE_LOCAL_AI_LATENCY_MS": "150",
}


def wait_for(what: str, check: Callable[[], Any], *, timeout: float, every: float = 0.1) -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


class Stack:
    def __init__(self, data_dir: Path, *, production: bool, extra_env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.production = production
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._redis_lock: IO[bytes] | None = None
        self.pg_name = f"inkline_h3_it_{uuid.uuid4().hex[:8]}"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("INKLINE_", "CELERY_")) and k != "DATABASE_URL"
        }
        # This checkout's code first, whatever checkout the environment's install points at.
        path = [
            str(REPO / "src"),
            str(REPO),
            *filter(None, env.get("PYTHONPATH", "").split(os.pathsep)),
        ]
        env |= {"INKLINE_DATA_DIR": str(data_dir), "PYTHONPATH": os.pathsep.join(path)}
        env |= {**FAST, **extra_env}
        env["DJANGO_SETTINGS_MODULE"] = "inkline.settings"
        if production:
            base = PG_ADMIN_URL.rsplit("/", 1)[0]
            env["DATABASE_URL"] = f"{base}/{self.pg_name}"
            env["CELERY_BROKER_URL"] = REDIS_URL
        self.env = env

    # --- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> Stack:
        if self.production:
            import psycopg
            import redis

            name = hashlib.sha256(REDIS_URL.encode()).hexdigest()[:12]
            self._redis_lock = open(  # held until __exit__
                Path(tempfile.gettempdir()) / f"inkline-test-redis-{name}.lock", "wb"
            )
            fcntl.flock(self._redis_lock, fcntl.LOCK_EX)
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.pg_name}"')
            redis.Redis.from_url(REDIS_URL).flushdb()
        self.cli("init", timeout=120)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in list(self.procs):  # the test is over: no need for a graceful stop
            self.kill9(name)
        if self.production:
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
        if self._redis_lock is not None:
            self._redis_lock.close()  # releases the lock

    # --- processes ------------------------------------------------------------------------
    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "inkline.cli", *args],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def probe(self, *args: str, timeout: float = 90) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "tests.integration.probe", *args],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    def spawn(
        self, name: str, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start `inkline ARGS` in its own process group, output to `<name>.log`; `env`
        overrides the stack's environment for this process."""
        log = (self.data_dir / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "inkline.cli", *args],
            env={**self.env, **(env or {})},
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs[name] = proc
        return proc

    def kill9(self, name: str) -> None:
        """The machine dies: SIGKILL to the process and all its children at once."""
        proc = self.procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name)
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            except ProcessLookupError:
                pass

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name} ---\n{p.read_text(errors='replace')[-4000:]}"
            for p in sorted(self.data_dir.glob("*.log"))
        )

    # --- the database, read from outside ----------------------------------------------------
    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        if self.production:
            import psycopg

            with psycopg.connect(self.env["DATABASE_URL"], autocommit=True) as conn:
                yield conn.cursor()
        else:
            path = self.data_dir / "inkline.sqlite3"
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
            try:
                yield conn.cursor()
            finally:
                conn.close()

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        if not self.production:
            query = query.replace("%s", "?")
        with self._cursor() as cur:
            cur.execute(query, params)
            return list(cur.fetchall())

    def value(self, query: str, *params: Any) -> Any:
        rows = self.sql(query, *params)
        return rows[0][0] if rows else None

    def run_row(self, run_id: str) -> dict[str, Any]:
        cols = ("status", "current_stage", "lease_epoch", "recoveries", "error_message")
        rows = self.sql(
            f"SELECT {', '.join(cols)} FROM automation_automationrun WHERE run_id = %s", run_id
        )
        return dict(zip(cols, rows[0], strict=True)) if rows else {}
