"""`inkline import-keywords SITE FILE.csv` as a user runs it: a real process on a fresh data
dir. It executes the import job itself, shows its progress, and exits 0 when every keyword is
in, 1 when nothing was imported (bad lines, listed), 2 on bad usage, 130 on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # the embedded default database


def env_for(data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "INKLINE_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)
    return env


def inkline(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inkline.cli", *args],
        env=env_for(data_dir),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def db(data_dir: Path, query: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"file:{data_dir / 'inkline.sqlite3'}?mode=ro", uri=True, timeout=30)
    try:
        return list(conn.execute(query).fetchall())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with an account and a site named `shop`."""
    data_dir = tmp_path_factory.mktemp("cli-import")
    assert inkline(data_dir, "init").returncode == 0
    created = inkline(data_dir, "create-account", "Shop", "--username", "u", "--password", "pw")
    assert created.returncode == 0, created.stderr
    script = (
        "import django;django.setup();from inkline.accounts.models import Account;"
        "from inkline.automation.sites import site_create;"
        "site_create(account=Account.objects.get(name='Shop'), name='shop')"
    )
    env = {**env_for(data_dir), "DJANGO_SETTINGS_MODULE": "inkline.settings"}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=120)
    return data_dir


def keywords(data_dir: Path, prefix: str) -> int:
    rows = db(data_dir, f"SELECT count(*) FROM planner_keyword WHERE phrase LIKE '{prefix}%'")
    return int(rows[0][0])  # type: ignore[call-overload]


def test_a_good_file_is_imported_with_a_progress_bar_and_exit_0(shop: Path) -> None:
    csv = shop / "good.csv"
    csv.write_text("keyword,volume\n" + "".join(f"good one {i},{i}\n" for i in range(8000)))
    pretty = inkline(shop, "import-keywords", "shop", str(csv))
    assert pretty.returncode == 0, pretty.stderr
    assert pretty.stdout.startswith("8000 created, 0 duplicates, 0 errors")
    assert "8,000/8,000 lines" in pretty.stderr  # the bar, on stderr
    assert keywords(shop, "good one ") == 8000
    again = inkline(shop, "import-keywords", "shop", str(csv), "--json")
    assert again.returncode == 0
    job = json.loads(again.stdout)
    assert (job["status"], job["created"], job["duplicates"]) == ("done", 0, 8000)
    assert again.stderr == ""  # --json: no bar


def test_bad_lines_import_nothing_are_listed_and_exit_1(shop: Path) -> None:
    csv = shop / "bad.csv"
    csv.write_text("keyword,volume\nbad one a,1\nbad one b,lots\nbad one c,3\n=SUM(A1),4\n")
    pretty = inkline(shop, "import-keywords", "shop", str(csv))
    assert pretty.returncode == 1
    assert "0 created, 0 duplicates, 2 errors" in pretty.stdout
    assert "line 3: volume must be a whole number, got 'lots'" in pretty.stdout
    assert "line 5: keyword starts with '='" in pretty.stdout
    as_json = inkline(shop, "import-keywords", "shop", str(csv), "--json")
    assert as_json.returncode == 1
    job = json.loads(as_json.stdout)
    assert job["status"] == "failed" and [e["line"] for e in job["errors"]] == [3, 5]
    assert keywords(shop, "bad one ") == 0
    no_column = shop / "nocolumn.csv"
    no_column.write_text("phrase\nx\n")
    refused = inkline(shop, "import-keywords", "shop", str(no_column))
    assert refused.returncode == 1 and "no 'keyword' column" in refused.stderr
    unknown = inkline(shop, "import-keywords", "no-such-site", str(csv))
    assert unknown.returncode == 2 and "no site" in unknown.stderr


def test_ctrl_c_stops_the_import_keeping_nothing_and_exits_130(shop: Path) -> None:
    csv = shop / "large.csv"
    csv.write_text("keyword\n" + "".join(f"stopped one {i}\n" for i in range(400_000)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "inkline.cli", "import-keywords", "shop", str(csv), "--json"],
        env=env_for(shop),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not db(shop, "SELECT 1 FROM planner_keywordimportjob WHERE status = 'validating'"):
            assert proc.poll() is None and time.monotonic() < deadline, "the import never began"
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)  # what Ctrl-C in a terminal does
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "nothing was imported" in err
    job = db(shop, "SELECT status, message FROM planner_keywordimportjob ORDER BY created_at")[-1]
    assert job[0] == "failed" and "Ctrl-C" in str(job[1])
    assert keywords(shop, "stopped one ") == 0
