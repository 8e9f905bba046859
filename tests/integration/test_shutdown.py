"""Every long-running `inkline` process exits within 10 s of SIGTERM sent to its whole process
group — what systemd's default KillMode, `docker stop` and Ctrl-C do — idle and, for the worker,
mid-run; the run a stopped worker was executing is handed back (lease released, a message for
the next worker) and the next worker completes it with every item done exactly once. Real
processes and signals, on the embedded default (SQLite and the filesystem broker) and on
PostgreSQL and Redis. Each stop is repeated: a prefork worker used to hang 2 times in 3.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import require
from tests.integration.stack import Stack, wait_for
from tests.integration.test_serve import free_port, group_members, http_status
from tests.integration.test_worker import check_books

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # it brings its own databases

LIMIT = 10.0  # seconds from SIGTERM until every process of the group is gone
TRIES = 3


@pytest.fixture(params=["embedded", "postgres-redis"])
def production(request: pytest.FixtureRequest) -> bool:
    if request.param == "postgres-redis":
        require("postgres")
        require("redis")
    return request.param == "postgres-redis"


def stop_groups(stack: Stack, names: list[str], *, group: bool = True) -> dict[str, float]:
    """SIGTERM to the process groups of `names` at once (a machine shutting down), or to their
    main processes only (`group=False`: `kill PID`, `docker stop`, systemd's KillMode=mixed);
    the seconds each took until none of its group's processes was left. Fails when one
    outlives LIMIT (the stack then SIGKILLs it)."""
    procs = {name: stack.procs[name] for name in names}
    began = time.monotonic()
    for proc in procs.values():
        if group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
    took: dict[str, float] = {}
    while len(took) < len(procs) and time.monotonic() - began <= LIMIT:
        for name, proc in procs.items():
            if name not in took and proc.poll() is not None and not group_members(proc.pid):
                took[name] = round(time.monotonic() - began, 2)
        time.sleep(0.05)
    left = sorted(set(procs) - set(took))
    assert not left, f"still running {LIMIT:.0f} s after SIGTERM: {left} (stopped: {took})"
    for name, proc in procs.items():
        assert proc.returncode == 0, (name, proc.returncode)
        stack.procs.pop(name)
    return took


def logged(stack: Stack, name: str, *words: bytes) -> Callable[[], bool]:
    log = stack.data_dir / f"{name}.log"
    return lambda: log.exists() and all(w in log.read_bytes() for w in words)


def answers(url: str) -> Callable[[], bool]:
    return lambda: 0 < http_status(url) < 500


@pytest.fixture
def stack(production: bool, tmp_path: Path) -> Iterator[Stack]:
    with Stack(tmp_path, production=production, extra_env={}) as stack:
        yield stack


@contextmanager
def logs_on_failure(stack: Stack) -> Iterator[None]:
    try:
        yield
    except BaseException:
        print(stack.logs())
        raise


def start_all(stack: Stack, attempt: int) -> tuple[dict[str, str], list[str]]:
    """`inkline web`, `worker`, `beat` and `serve` (its own web, worker and beat), ready; their
    names by role, and the URLs of the two web servers."""
    names = {role: f"{role}-{attempt}" for role in ("web", "worker", "beat", "serve")}
    ports = [free_port(), free_port()]
    stack.spawn(names["web"], "web", "--port", str(ports[0]))
    stack.spawn(names["worker"], "worker")
    # Two beats must not share a schedule file: this one keeps its files apart.
    beat_dir = stack.data_dir / f"beat-{attempt}"
    stack.spawn(names["beat"], "beat", env={"INKLINE_DATA_DIR": str(beat_dir)})
    serve = stack.spawn(names["serve"], "serve", "--port", str(ports[1]))
    urls = [f"http://127.0.0.1:{port}/" for port in ports]
    for url in urls:
        wait_for(f"the web server at {url}", answers(url), timeout=90, every=0.2)
    wait_for("the worker", logged(stack, names["worker"], b" ready."), timeout=60)
    wait_for("the beat", logged(stack, names["beat"], b"beat: Starting"), timeout=60)
    wait_for(
        "serve's worker and beat",
        logged(stack, names["serve"], b" ready.", b"beat: Starting"),
        timeout=60,
    )
    assert len(group_members(serve.pid)) >= 5  # serve, gunicorn and 2 workers, worker, beat
    return names, urls


def test_idle_processes_exit_within_10_s_of_sigterm_to_their_group(stack: Stack) -> None:
    """web, worker, beat and serve stopped at the same time, as when a machine shuts down."""
    times: dict[str, list[float]] = {"web": [], "worker": [], "beat": [], "serve": []}
    with logs_on_failure(stack):
        for attempt in range(TRIES):
            names, urls = start_all(stack, attempt)
            took = stop_groups(stack, list(names.values()))
            for role, name in names.items():
                times[role].append(took[name])
            assert [http_status(url) for url in urls] == [0, 0]

        # SIGTERM to the main process alone: each passes it on to what it started.
        names, _ = start_all(stack, TRIES)
        alone = stop_groups(stack, list(names.values()), group=False)
    backend = "postgres-redis" if stack.production else "embedded"
    print(f"{backend}, idle, seconds from SIGTERM to the group's exit: {times}")
    print(f"{backend}, idle, SIGTERM to the main process only: {alone}")


def test_a_worker_stopped_mid_run_hands_the_run_to_the_next_one(stack: Stack) -> None:
    """Three workers in turn are stopped while they execute the run — the last one while its
    AI calls are still in flight after its grace time — and a fourth completes it. No beat
    runs and the lease lasts 60 s: only the hand-back (the lease released, a message for the
    next worker) lets each next worker go on at once."""
    with logs_on_failure(stack):
        tasks = 14
        info = stack.probe("setup", "--tasks", str(tasks))
        site_id, account_id = info["site_id"], info["account_id"]
        queued = stack.cli("run", "integ", "--json")
        assert queued.returncode == 0, queued.stderr
        run_id = json.loads(queued.stdout)["run_id"]
        written = "SELECT count(*) FROM writer_content WHERE site_id = %s"
        holder = "SELECT lease_owner FROM automation_automationrun WHERE run_id = %s"
        open_holds = "SELECT count(*) FROM billing_credithold WHERE status = 'open'"
        env = {
            "INKLINE_RUN_LEASE_SECONDS": "60",  # a lease left behind would stall the test
            "INKLINE_SLICE_SECONDS": "60",  # one slice per worker: stopped mid-slice
            "INKLINE_LOCAL_AI_LATENCY_MS": "400",
        }
        abandoning = {  # calls far longer than the grace: abandoned at shutdown
            **env,
            "INKLINE_LOCAL_AI_LATENCY_MS": "60000",
            "INKLINE_SHUTDOWN_GRACE_SECONDS": "1",
        }
        times: list[float] = []

        def calls_in_flight() -> bool:
            return bool(stack.value(holder, run_id)) and stack.value(open_holds) >= 2

        for attempt in range(TRIES):
            name = f"worker-{attempt}"
            before = stack.value(written, site_id)
            last = attempt == TRIES - 1

            def writing(before: int = before) -> bool:
                return stack.value(written, site_id) > before and bool(stack.value(holder, run_id))

            stack.spawn(name, "worker", env=abandoning if last else env)
            # Well under the 60 s lease: a worker that had to wait for it would time out.
            wait_for(
                "the worker to be executing the run",
                calls_in_flight if last else writing,
                timeout=40,
                every=0.05,
            )
            times.append(stop_groups(stack, [name])[name])
            row = stack.run_row(run_id)
            assert row["status"] == "running", row
            assert stack.value(holder, run_id) == ""  # released on the way out
            assert stack.value(open_holds) == 0  # abandoned calls gave their holds back
            if last:
                assert stack.value(written, site_id) == before  # nothing stored for them
                assert b"abandoned" in (stack.data_dir / f"{name}.log").read_bytes()
            assert stack.value(written, site_id) < tasks

        stack.spawn("worker-last", "worker", env=env)
        wait_for(
            "the next worker to complete the run",
            lambda: stack.run_row(run_id)["status"] in ("completed", "failed"),
            timeout=60,
        )
        done = stack.run_row(run_id)
        assert done["status"] == "completed", done
        assert done["recoveries"] == 0  # every hand-over was a hand-back, none a lease expiry
        check_books(stack, account_id=account_id, site_id=site_id, tasks=tasks)
        attempts = stack.value(
            "SELECT count(*) FROM writer_writingtask WHERE site_id = %s AND attempts > 0", site_id
        )
        assert attempts == 0  # an abandoned call is not a failed attempt
        handed_back = stack.value(
            "SELECT count(*) FROM automation_runevent WHERE code = 'worker_shutdown'"
        )
        assert handed_back == TRIES
        backend = "postgres-redis" if stack.production else "embedded"
        print(f"{backend}, worker mid-run, seconds from SIGTERM to the group's exit: {times}")
        logs = stack.logs()
        assert "Traceback" not in logs, logs
        assert "database is locked" not in logs
