"""Large keyword imports as jobs on real worker and beat processes, on the embedded default
(SQLite file and the filesystem broker) and on production parts (PostgreSQL and Redis): the
190,000-line file of issue #17 (killed at the web timeout with 176,000 rows kept) answers 202
and is imported whole by a worker; a worker killed in the middle of writing leaves nothing,
and the beat hands the job to the next worker, which imports every keyword exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require
from tests.integration.stack import REPO, Stack, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # it brings its own databases

BIG = 190_000
KILLED = 60_000


@pytest.fixture(params=["embedded", "postgres-redis"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    production = request.param == "postgres-redis"
    if production:
        require("postgres")
        require("redis")
    with Stack(tmp_path, production=production, extra_env={}) as stack:
        yield stack


def probe(stack: Stack, *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.import_probe", *args],
        env=stack.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def job(stack: Stack, job_id: str) -> dict[str, Any]:
    cols = ("status", "progress", "created_count", "duplicate_count", "error_count", "epoch")
    rows = stack.sql(
        f"SELECT {', '.join(cols)} FROM planner_keywordimportjob WHERE id = %s",
        job_id if stack.production else job_id.replace("-", ""),
    )
    return dict(zip(cols, rows[0], strict=True)) if rows else {}


def test_a_large_import_is_a_job_done_whole_by_a_worker_even_one_killed(stack: Stack) -> None:
    info = probe(stack, "setup")
    site_id, token = info["site_id"], info["token"]
    count = "SELECT count(*) FROM planner_keyword WHERE site_id = %s"
    pieces = "SELECT count(*) FROM planner_keywordimportupload"

    posted = probe(stack, "post", str(site_id), token, "0", str(BIG))
    assert posted["status"] == 202, posted
    assert 4_000_000 < posted["bytes"] <= 5 * 1024 * 1024  # under the default size cap
    big = posted["body"]["job_id"]
    assert job(stack, big)["status"] == "queued" and stack.value(pieces) > 1

    stack.spawn("beat", "beat")
    stack.spawn("worker-1", "worker", "--concurrency", "1")
    try:
        seen = set()

        def finished() -> bool:
            row = job(stack, big)
            seen.add(row["status"])
            kept = stack.value(count, site_id)
            # All or nothing, as an outside observer sees it: no keyword before the end.
            assert kept in (0, BIG), f"{kept} keywords visible while the job is {row}"
            return row["status"] in ("done", "failed")

        wait_for("the worker to import the file", finished, timeout=400, every=0.2)
        done = job(stack, big)
        assert done == {
            "status": "done",
            "progress": 100,
            "created_count": BIG,
            "duplicate_count": 0,
            "error_count": 0,
            "epoch": 1,
        }
        assert stack.value(count, site_id) == BIG
        assert stack.value(pieces) == 0  # the stored file is gone with the job's end
        assert {"validating", "writing"} & seen

        # A second file, overlapping the first by 10,000 keywords; its worker is killed
        # while it writes.
        second = probe(stack, "post", str(site_id), token, str(BIG - 10_000), str(KILLED))
        assert second["status"] == 202, second
        killed = second["body"]["job_id"]
        wait_for(
            "the worker to be writing the second file",
            lambda: job(stack, killed)["status"] == "writing",
            timeout=300,
            every=0.02,
        )
        stack.kill9("worker-1")
        at_kill = job(stack, killed)
        assert at_kill["status"] == "writing" and at_kill["epoch"] == 1, at_kill
        assert stack.value(count, site_id) == BIG  # its partial write went with the worker

        stack.spawn("worker-2", "worker", "--concurrency", "1")
        wait_for(
            "the next worker to import the second file",
            lambda: job(stack, killed)["status"] in ("done", "failed"),
            timeout=400,
            every=0.2,
        )
        again = job(stack, killed)
        assert again["status"] == "done" and again["epoch"] == 2, again
        assert (again["created_count"], again["duplicate_count"]) == (KILLED - 10_000, 10_000)
        assert stack.value(count, site_id) == BIG + KILLED - 10_000
        distinct = "SELECT count(DISTINCT normalized) FROM planner_keyword WHERE site_id = %s"
        assert stack.value(distinct, site_id) == BIG + KILLED - 10_000
    except AssertionError:
        print(stack.logs())
        raise
    logs = stack.logs()
    assert "Traceback" not in logs.split("--- worker-2 ---")[-1], logs
