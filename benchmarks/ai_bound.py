"""AI-bound throughput of the real engine: N AI calls of latency L at concurrency C.

A run of stage 4 (writing) over N queued tasks, each one AI call taking L, through the real
engine (lease, per-item transactions, credit hold and capture, events) on SQLite. Figure:
wall time ÷ (N·L/C), the ideal; the goal is ≤ 1.10 (the engine's own work hides behind the
calls in flight). Measured with the local provider's latency knob and with the `openai`
provider against the fake OpenAI server running as a separate process (a real HTTP hop).

    python benchmarks/ai_bound.py [--n 200] [--latency-ms 100] [--concurrency 1 8]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine, report, setup_django, verdict  # noqa: E402

GOAL = 1.10


def start_fake_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.ai.fake_openai", "--latency", str(latency)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    base_url = server.stdout.readline().strip()
    if not base_url.startswith("http"):
        server.kill()
        raise SystemExit("the fake OpenAI server did not start")
    return server, base_url


def measure(*, provider: Any, n: int, concurrency: int, label: str) -> dict[str, Any]:
    from django.db import connection
    from django.test import override_settings
    from tests.factories import add_tasks, only_stages

    from inkline.automation import engine
    from inkline.automation.services import run_start
    from inkline.automation.sites import account_create, site_create

    account, _ = account_create(
        name=label, username=label, password="x", credits=10**9
    )  # a fresh account and site per measurement
    site = site_create(account=account, name=label)
    add_tasks(site, n)
    only_stages(site, 4)
    run = run_start(site=site, wake=False)
    queries = 0

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    with override_settings(INKLINE_AI_CONCURRENCY=concurrency), connection.execute_wrapper(count):
        started = time.perf_counter()
        main_cpu, all_cpu = time.thread_time(), time.process_time()
        run = engine.run_to_end(run_id=run.run_id, provider=provider)
        wall = time.perf_counter() - started
        main_cpu, all_cpu = time.thread_time() - main_cpu, time.process_time() - all_cpu
    processed = run.stage_results["4"]["processed"]
    if run.status != "completed" or processed != n:
        raise SystemExit(
            f"{label}: run {run.status}, {processed}/{n} processed: {run.stopped_reason}"
        )
    return {"wall": wall, "queries": queries, "main_cpu": main_cpu, "cpu": all_cpu}


def bare_call_seconds(provider: Any, calls: int = 20) -> float:
    """The provider's own time per call, one after another without the engine: with the
    `openai` provider the HTTP hop and the SDK add to L, and no engine can hide that."""
    from inkline.ai.types import ArticleIn

    brief = ArticleIn(
        title="Coffee guide",
        primary_keyword="coffee topic",
        target_keywords=("coffee topic",),
        content_type="guide",
        outline=("What it is", "How it works"),
    )
    started = time.perf_counter()
    for _ in range(calls):
        provider.write_content(brief)
    return (time.perf_counter() - started) / calls


def report_provider(
    name: str, args: argparse.Namespace, rows: list[tuple[float, float, Any, Any]], call: float
) -> None:
    """One table row per provider: each concurrency's ratio side by side."""

    def each(values: list[str]) -> str:
        return " / ".join(values)

    ratios = [ratio for ratio, _, _, _ in rows]
    queries = [f"{result['queries'] / args.n:.1f}" for _, _, result, _ in rows]
    main_cpu = [f"{per['main_cpu']:.1f}" for _, _, _, per in rows]
    cs = each([f"C = {c}" for c in args.concurrency])
    result = (
        f"{each([f'{r:.3f}' for r in ratios])} — {verdict(max(ratios) <= GOAL)}; "
        f"{each(queries)} queries per item; main-thread CPU per item {each(main_cpu)} ms"
    )
    if name != "local":
        result += (
            f"; one bare call {1000 * call:.0f} ms, wall ÷ (N·call/C) "
            f"{each([f'{by_call:.3f}' for _, by_call, _, _ in rows])}"
        )
    report(
        f"AI-bound run, N = {args.n} calls of L = {args.latency_ms} ms through the real engine "
        f"(stage 4, SQLite), `{name}` provider: wall ÷ (N·L/C) at {cs} (`ai_bound.py`)",
        f"≤ {GOAL:.2f}",
        result,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    setup_django()

    from tests.ai.fake_openai import API_KEY, CHAT_MODEL, IMAGE_MODEL

    from inkline.ai.local import LocalProvider
    from inkline.ai.openai_provider import OpenAIProvider

    latency = args.latency_ms / 1000
    server, base_url = start_fake_server(latency)
    providers = {
        "local": LocalProvider(latency_ms=args.latency_ms),
        "openai": OpenAIProvider(
            model=CHAT_MODEL,
            image_model=IMAGE_MODEL,
            api_key=API_KEY,
            base_url=base_url,
            timeout=30,
            max_retries=0,
        ),
    }
    print(f"machine: {machine()}")
    print(f"N = {args.n} AI calls (stage 4), L = {args.latency_ms} ms, SQLite, real engine")
    print(
        f"{'provider':<8} {'C':>3} {'ideal s':>8} {'wall s':>8} {'ratio':>6} {'queries':>8}"
        f" {'main CPU':>9} {'all CPU':>8} {'call ms':>8} {'÷ calls':>8}"
        "   (per item; CPU in ms; call ms: one bare call; ÷ calls: wall ÷ (N·call/C))"
    )
    worst = 0.0
    try:
        for name, provider in providers.items():
            # Warm-up (not timed): first-use loads such as the reading-level dictionary.
            measure(provider=provider, n=4, concurrency=2, label=f"{name}warm")
            call = bare_call_seconds(provider)
            rows = []
            for c in args.concurrency:
                ideal = args.n * latency / c
                result = measure(provider=provider, n=args.n, concurrency=c, label=f"{name}{c}")
                ratio = result["wall"] / ideal
                worst = max(worst, ratio)
                per = {k: 1000 * result[k] / args.n for k in ("main_cpu", "cpu")}
                print(
                    f"{name:<8} {c:>3} {ideal:>8.2f} {result['wall']:>8.2f} {ratio:>6.3f}"
                    f" {result['queries'] / args.n:>8.1f} {per['main_cpu']:>9.1f}"
                    f" {per['cpu']:>8.1f} {1000 * call:>8.1f}"
                    f" {result['wall'] / (args.n * call / c):>8.3f}",
                    flush=True,
                )
                rows.append((ratio, result["wall"] / (args.n * call / c), result, per))
            report_provider(name, args, rows, call)
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)
    verdict = "meets" if worst <= GOAL else "misses"
    print(f"worst wall ÷ (N·L/C) = {worst:.3f}: {verdict} the goal ≤ {GOAL:.2f}")
    print(
        "The engine can hide its own work only while it stays under the calls: at C = 1 the"
        " main thread's work per item adds to L; at C = 8 all CPU per item (one interpreter"
        f" lock) must stay under L/C = {args.latency_ms / 8:.1f} ms. Compare with the CPU columns."
    )


if __name__ == "__main__":
    main()
