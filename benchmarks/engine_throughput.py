"""Engine throughput: items per second through all seven stages with the local provider at
0 ms on SQLite, and the engine's queries per item-stage.

Engine overhead per item-stage: the main thread's CPU time less the stages' own work on it
(building an item's AI input, committing its output: sanitizing, SEO checks, image files);
what is left is the engine's (leases, status reads, credit holds and captures, run writes,
events). The AI calls run in worker threads and are not counted."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import machine, report, setup_django, verdict

OVERHEAD_GOAL_MS = 2.0


def main() -> None:
    setup_django()
    from django.db import connection

    from inkline.ai.local import LocalProvider
    from inkline.automation import engine
    from inkline.automation.services import run_start
    from inkline.automation.sites import account_create, site_create
    from inkline.automation.stages import STAGE_CLASSES
    from inkline.demo import demo_keywords_csv
    from inkline.planner.services import keywords_import_csv

    account, _ = account_create(name="Bench", username="bench", password="x", credits=10**9)
    site = site_create(account=account, name="bench")
    keywords_import_csv(site=site, data=demo_keywords_csv())
    run = run_start(site=site, wake=False)
    queries = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    stage_cpu = dict.fromkeys(STAGE_CLASSES, 0.0)

    def timed(number: int, method: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return method(*args, **kwargs)
            finally:
                stage_cpu[number] += time.thread_time() - started

        return wrapper

    for number, stage in STAGE_CLASSES.items():  # this process only: the stages' own work
        stage.build = timed(number, stage.build)  # type: ignore[method-assign]
        stage.commit = timed(number, stage.commit)  # type: ignore[method-assign]

    started, main_cpu = time.perf_counter(), time.thread_time()
    with connection.execute_wrapper(count):
        run = engine.run_to_end(run_id=run.run_id, provider=LocalProvider())
    wall, main_cpu = time.perf_counter() - started, time.thread_time() - main_cpu
    item_stages = sum(r.get("processed", 0) for r in run.stage_results.values())
    ai_seconds = sum(r.get("seconds", 0) for r in run.stage_results.values())
    print(f"machine: {machine()}")
    print(f"run status: {run.status}")
    print(f"item-stages processed: {item_stages} in {wall:.2f} s")
    print(f"throughput: {item_stages / wall:.0f} item-stages/s")
    print(f"queries: {queries} total, {queries / item_stages:.1f} per item-stage")
    engine_cpu = main_cpu - sum(stage_cpu.values())
    print(
        f"main-thread CPU {1000 * main_cpu / item_stages:.2f} ms per item-stage, of which the"
        f" engine {1000 * engine_cpu / item_stages:.2f} ms and the stages' own work"
        f" {1000 * sum(stage_cpu.values()) / item_stages:.2f} ms"
    )
    for stage, r in sorted(run.stage_results.items()):
        per = 1000 * r["seconds"] / max(r["processed"], 1)
        n, secs = r["processed"], r["seconds"]
        own = 1000 * stage_cpu[int(stage)] / max(n, 1)
        print(
            f"  stage {stage}: {n:>4} items, {secs:.2f} s, {per:.2f} ms/item"
            f" (stage's own work {own:.2f} ms/item)"
        )
    print(f"(stage seconds sum {ai_seconds:.2f} s)")
    what = (
        "demo site through all seven stages, local provider at 0 ms, SQLite "
        "(`engine_throughput.py`)"
    )
    status = "" if run.status == "completed" else f" (run {run.status})"
    overhead = 1000 * engine_cpu / item_stages
    report(
        f"Engine overhead per item-stage (main-thread CPU less the stages' own work), {what}",
        f"≤ {OVERHEAD_GOAL_MS:.0f} ms",
        f"{overhead:.2f} ms — {verdict(overhead <= OVERHEAD_GOAL_MS)}; main-thread CPU "
        f"{1000 * main_cpu / item_stages:.2f} ms, of which the stages' own work "
        f"{1000 * sum(stage_cpu.values()) / item_stages:.2f} ms{status}",
    )
    report(
        f"Engine queries per item-stage, {what}",
        "constant (report)",
        f"{queries / item_stages:.1f} per item-stage ({queries} in all){status}",
    )
    report(
        f"Engine throughput, {what}",
        "report",
        f"{item_stages / wall:.0f} item-stages/s ({item_stages} in {wall:.2f} s){status}",
    )


if __name__ == "__main__":
    main()
