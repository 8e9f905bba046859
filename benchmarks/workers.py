"""Real Celery worker processes (issue #9, figures 7 and 8).

7. Fairness: 20 sites started at once on 2 worker processes (embedded default: SQLite and
   the filesystem broker), slices of 2 s: every site gets its first article long before any
   site finishes; the spread of first-article times is reported.
8. Throughput on PostgreSQL + Redis with 1, 2 and 4 worker processes for an AI-bound workload
   (the local provider's latency knob): the curve of articles per second and the speed-up.
   Each point uses a fresh database it creates and drops (`inkline_bench_*`) and Redis
   database 9, which it empties.

Each measurement runs in a child process of this script (one Django set-up per database);
the workers are `inkline worker` processes, stopped at the end of each measurement."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import machine, report

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get(
    "INKLINE_BENCH_POSTGRES_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("INKLINE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
FAIRNESS = {"sites": 20, "tasks": 30, "workers": 2, "latency_ms": 100, "slice": 2}
THROUGHPUT = {"sites": 8, "tasks": 12, "latency_ms": 200, "slice": 5}
WORKER_COUNTS = (1, 2, 4)  # the throughput curve


def measure(*, sites: int, tasks: int, workers: int, timeout: float) -> dict[str, Any]:
    """In a child process with the environment set: make `sites` sites of `tasks` queued
    writing tasks (stage 4 only), start `workers` workers, start every run at once and wait
    until all have ended. Times are seconds from the start of the runs."""
    from benchmarks.common import setup_django

    data_dir = setup_django(data_dir=os.environ["INKLINE_DATA_DIR"])
    from tests.factories import add_tasks, only_stages

    from inkline.automation.models import AutomationRun
    from inkline.automation.services import run_start
    from inkline.automation.sites import account_create, site_create
    from inkline.writer.models import Content

    account, _ = account_create(name="Bench", username="bench", password="x", credits=10**9)
    made = []
    for i in range(sites):
        site = site_create(account=account, name=f"site {i}")
        add_tasks(site, tasks)
        only_stages(site, 4, max_tasks_per_run=0, max_credits_per_run=0)
        made.append(site)

    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        for n in range(workers):
            log = Path(data_dir) / f"worker-{n}.log"
            logs.append(log)
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "inkline.cli", "worker", "--concurrency", "1"],
                    stdout=log.open("wb"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        deadline = time.monotonic() + 90
        while not all("ready" in log.read_text(errors="replace") for log in logs):
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not start")
            time.sleep(0.2)
        started = time.time()
        runs = [run_start(site=site).run_id for site in made]
        deadline = time.monotonic() + timeout
        active = ["queued", "running", "paused"]
        while AutomationRun.objects.filter(run_id__in=runs, status__in=active).exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"runs did not end within {timeout:.0f} s")
            time.sleep(0.25)
        wall = time.time() - started
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
    first, last = [], []
    for site in made:
        times = [c.created_at.timestamp() - started for c in Content.objects.filter(site=site)]
        first.append(min(times))
        last.append(max(times))
    ended = AutomationRun.objects.filter(run_id__in=runs).values_list("status", flat=True)
    return {
        "items": Content.objects.count(),
        "wall": wall,
        "first": first,
        "last": last,
        "statuses": sorted(set(ended)),
    }


def child(kind: str, workers: int, extra: dict[str, str], timeout: float) -> dict[str, Any]:
    """Run `measure` in a fresh process with its own data dir and environment."""
    spec = FAIRNESS if kind == "fairness" else THROUGHPUT
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INKLINE_", "CELERY_"))}
    env.pop("DATABASE_URL", None)
    env |= {
        "INKLINE_DATA_DIR": tempfile.mkdtemp(prefix="inkline-bench-"),
        "INKLINE_SLICE_SECONDS": str(spec["slice"]),
        "INKLINE_LOCAL_AI_LATENCY_MS": str(spec["latency_ms"]),
        "INKLINE_AI_CONCURRENCY": "1",
        "PYTHONPATH": str(REPO),
        **extra,
    }
    args = [kind, str(spec["sites"]), str(spec["tasks"]), str(workers), str(timeout)]
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", *args],
            env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout + 120, check=False,
        )  # fmt: skip
    finally:
        shutil.rmtree(env["INKLINE_DATA_DIR"], ignore_errors=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def fairness() -> None:
    s = FAIRNESS
    r = child("fairness", s["workers"], {}, timeout=240)
    first, last = sorted(r["first"]), sorted(r["last"])
    per_site = s["tasks"] * s["latency_ms"] / 1000
    print(
        f"fairness: {s['sites']} sites x {s['tasks']} articles (AI {s['latency_ms']} ms each, "
        f"{per_site:.0f} s of AI per site), {s['workers']} workers, slices of {s['slice']} s, "
        f"embedded (SQLite, filesystem broker)"
    )
    print(
        f"  first article per site: min {first[0]:.1f} s, median {statistics.median(first):.1f} s, "
        f"max {first[-1]:.1f} s (spread {first[-1] - first[0]:.1f} s)"
    )
    print(
        f"  site finished: first {last[0]:.1f} s, last {last[-1]:.1f} s; sites finished before "
        f"the last site's first article: {sum(t < first[-1] for t in last)}; "
        f"{r['items']} articles in {r['wall']:.1f} s, runs {', '.join(r['statuses'])}"
    )
    print(f"  load average {os.getloadavg()[0]:.2f}")
    report(
        f"Fairness: {s['sites']} sites × {s['tasks']} articles (stage 4, local provider at "
        f"{s['latency_ms']} ms) started at once on {s['workers']} `inkline worker` processes, "
        f"slices of {s['slice']} s, SQLite + filesystem broker (`workers.py`)",
        "every site progresses; report the spread of first-article times",
        f"spread {first[-1] - first[0]:.1f} s (first article per site: min {first[0]:.1f} s, "
        f"median {statistics.median(first):.1f} s, max {first[-1]:.1f} s); sites finished "
        f"before the last site's first article: {sum(t < first[-1] for t in last)}; "
        f"{r['items']} articles in {r['wall']:.1f} s, runs {', '.join(r['statuses'])}",
    )


def throughput() -> None:
    s = THROUGHPUT
    figure = (
        f"Throughput on PostgreSQL + Redis, {s['sites']} sites × {s['tasks']} articles, local "
        f"provider at {s['latency_ms']} ms, one call at a time per worker, "
        f"{' / '.join(map(str, WORKER_COUNTS))} `inkline worker` processes: steady articles "
        f"per second (`workers.py`)"
    )
    goal = "near-linear speed-up"
    for port, name in ((5432, "PostgreSQL"), (6379, "Redis")):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            print(f"throughput: skipped, {name} is not running on 127.0.0.1:{port}")
            report(figure, goal, f"not run: {name} is not running on 127.0.0.1:{port}")
            return
    import psycopg
    import redis

    items = s["sites"] * s["tasks"]
    print(
        f"throughput: PostgreSQL + Redis, {s['sites']} sites x {s['tasks']} articles, "
        f"AI {s['latency_ms']} ms per call, 1 call at a time per worker"
    )
    base = None
    curve = []
    for workers in WORKER_COUNTS:
        name = f"inkline_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        redis.Redis.from_url(REDIS_URL).flushdb()
        try:
            extra = {
                "DATABASE_URL": f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}",
                "CELERY_BROKER_URL": REDIS_URL,
            }
            r = child("throughput", workers, extra, timeout=240)
        finally:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            redis.Redis.from_url(REDIS_URL).flushdb()
        # Steady rate: from the first article to the last, without the runs' start-up.
        rate = r["items"] / (max(r["last"]) - min(r["first"]))
        base = base or rate
        ideal = 1000 / s["latency_ms"] * workers
        print(
            f"  {workers} worker(s): {r['items']}/{items} articles in {r['wall']:.1f} s "
            f"(first after {min(r['first']):.1f} s); steady {rate:.2f}/s, speed-up "
            f"{rate / base:.2f} (AI-only ceiling {ideal:.0f}/s); "
            f"load average {os.getloadavg()[0]:.2f}"
        )
        curve.append((rate, rate / base, ideal, r["wall"], min(r["first"])))

    def each(i: int, spec: str) -> str:
        return " / ".join(format(point[i], spec) for point in curve)

    report(
        figure,
        goal,
        f"{each(0, '.2f')} articles/s, speed-up {each(1, '.2f')} (AI-only ceiling "
        f"{each(2, '.0f')}/s); wall from the starts {each(3, '.1f')} s, first article after "
        f"{each(4, '.1f')} s",
    )


def main() -> None:
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.2f}")
    fairness()
    throughput()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        kind, sites, tasks, workers, timeout = sys.argv[2:7]
        result = measure(
            sites=int(sites), tasks=int(tasks), workers=int(workers), timeout=float(timeout)
        )
        print(json.dumps(result))
    else:
        main()
