"""Runs on real Celery worker and beat processes, on the embedded default (SQLite file and the
filesystem broker) and on production parts (PostgreSQL and Redis): a run completes, survives
`kill -9` of its worker with nothing lost, duplicated or charged twice, and 50 simultaneous
start requests make exactly one run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require
from tests.integration.stack import Stack, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # it brings its own databases

TASKS = 6


@pytest.fixture(params=["embedded", "postgres-redis"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    production = request.param == "postgres-redis"
    if production:
        require("postgres")
        require("redis")
    with Stack(tmp_path, production=production, extra_env={}) as stack:
        yield stack


def check_books(stack: Stack, *, account_id: int, site_id: int, tasks: int = TASKS) -> None:
    """No item lost or written twice, no credit charged twice, every credit explained."""
    task_rows = stack.value("SELECT count(*) FROM writer_writingtask WHERE site_id = %s", site_id)
    contents = stack.value("SELECT count(*) FROM writer_content WHERE site_id = %s", site_id)
    distinct = stack.value(
        "SELECT count(DISTINCT task_id) FROM writer_content WHERE site_id = %s", site_id
    )
    assert task_rows == contents == distinct == tasks
    balance, held = stack.sql(
        "SELECT credits, credits_held FROM accounts_account WHERE id = %s", account_id
    )[0]
    ledger = stack.value(
        "SELECT sum(amount) FROM billing_credittransaction WHERE account_id = %s", account_id
    )
    assert balance == ledger and held == 0
    twice = stack.sql(
        "SELECT idempotency_key FROM billing_credittransaction WHERE kind = 'capture' "
        "GROUP BY idempotency_key HAVING count(*) > 1"
    )
    assert twice == []
    writes = stack.value(
        "SELECT count(*) FROM billing_credittransaction WHERE kind = 'capture' "
        "AND operation_type = 'content_generation' AND account_id = %s",
        account_id,
    )
    assert writes == tasks
    assert stack.value("SELECT count(*) FROM billing_credithold WHERE status = 'open'") == 0


def test_runs_complete_and_survive_a_killed_worker(stack: Stack) -> None:
    info = stack.probe("setup", "--tasks", str(TASKS))
    site_id, account_id = info["site_id"], info["account_id"]

    # 50 start requests at the same instant, through the API: one run, 49 answers "active".
    starts = stack.probe("start-many", "50", str(site_id), info["token"])
    assert starts["statuses"] == {"201": 1, "409": 49}, starts
    assert starts["codes"] == ["run_active"]
    (run_id,) = starts["created"]
    assert starts["refused_point_to"] == [run_id]
    assert stack.value("SELECT count(*) FROM automation_automationrun") == 1

    stack.spawn("beat", "beat")
    stack.spawn("worker-1", "worker", "--concurrency", "1")
    count_content = "SELECT count(*) FROM writer_content WHERE site_id = %s"
    holding = "SELECT lease_owner FROM automation_automationrun WHERE run_id = %s"
    try:
        wait_for(
            "the worker to be writing articles",
            lambda: stack.value(count_content, site_id) >= 1 and stack.value(holding, run_id),
            timeout=45,
            every=0.02,
        )
        stack.kill9("worker-1")  # mid-stage, holding the lease, usually mid-AI-call
        at_kill = stack.run_row(run_id)
        assert at_kill["status"] == "running" and at_kill["current_stage"] == 4, at_kill
        assert stack.value(count_content, site_id) < TASKS

        stack.spawn("worker-2", "worker", "--concurrency", "1")
        wait_for(
            "the run to complete on the new worker",
            lambda: stack.run_row(run_id)["status"] in ("completed", "failed"),
            timeout=50,
        )
        done = stack.run_row(run_id)
        assert done["status"] == "completed", done
        assert done["lease_epoch"] > at_kill["lease_epoch"]
        assert done["recoveries"] == 1  # the reconciler took it from the dead worker
        check_books(stack, account_id=account_id, site_id=site_id)

        # `inkline run SITE` queues a run and wakes a worker, which runs it to the end.
        queued = stack.cli("run", "integ", "--json")
        assert queued.returncode == 0, queued.stderr
        second = json.loads(queued.stdout)
        assert second["status"] == "queued" and second["trigger_type"] == "manual"
        wait_for(
            "the CLI's run to complete",
            lambda: stack.run_row(second["run_id"])["status"] == "completed",
            timeout=30,
        )
    except AssertionError:
        print(stack.logs())
        raise
    logs = stack.logs()
    assert "database is locked" not in logs
    assert "Traceback" not in logs.split("--- worker-2 ---")[-1], logs
