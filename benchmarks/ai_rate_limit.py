"""Adaptive pacing against a rate-limited endpoint: throughput and 429 share.

The fake OpenAI server runs in its own process with a token bucket of R requests per second
holding B (`--rate-limit`, `--burst`); C threads (the engine's pool, `INKLINE_AI_CONCURRENCY`)
share one `openai` provider and call `write_content` without pause for D seconds, each call
taking L at the server. The ceiling without a limit would be about C / L calls per second, well
above R. Figures: calls answered per second after a warm-up ÷ R (goal ≥ 0.90), and the share of
all requests the server answered 429 over the whole run, start included (goal ≤ 2%), once with
OpenAI's `x-ratelimit-*` headers on every answer and once with only 429 + Retry-After (whole
seconds, as self-hosted gateways send it).

    python benchmarks/ai_rate_limit.py [--rate 20] [--burst 20] [--seconds 30] [--latency-ms 100]
                                       [--concurrency 8] [--modes headers,plain]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine, report, setup_django, verdict  # noqa: E402

THROUGHPUT_GOAL = 0.90
LIMITED_GOAL = 0.02
MODES = {"headers": "OpenAI `x-ratelimit-*` headers", "plain": "429 + Retry-After only"}


def start_fake_server(args: argparse.Namespace, headers: bool) -> tuple[subprocess.Popen[str], str]:
    command = [
        sys.executable,
        "-m",
        "tests.ai.fake_openai",
        "--latency",
        str(args.latency_ms / 1000),
        "--rate-limit",
        str(args.rate),
        "--burst",
        str(args.burst),
    ]
    if headers:
        command.append("--ratelimit-headers")
    server = subprocess.Popen(
        command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    base_url = server.stdout.readline().strip()
    if not base_url.startswith("http"):
        server.kill()
        raise SystemExit("the fake OpenAI server did not start")
    return server, base_url


def stop_fake_server(server: subprocess.Popen[str]) -> dict[str, int]:
    """Close its stdin; it prints `key=value` counts (requests, rate_limited) and exits."""
    assert server.stdin is not None and server.stdout is not None
    server.stdin.close()
    line = server.stdout.read().strip().splitlines()[-1]
    server.wait(timeout=10)
    return {k: int(v) for k, v in (part.split("=") for part in line.split())}


def measure(args: argparse.Namespace, headers: bool) -> dict[str, Any]:
    from django.test import override_settings
    from tests.ai.fake_openai import API_KEY, CHAT_MODEL, IMAGE_MODEL

    from inkline.ai.openai_provider import OpenAIProvider
    from inkline.ai.types import AIError, ArticleIn

    brief = ArticleIn(
        title="Coffee guide",
        primary_keyword="coffee topic",
        target_keywords=("coffee topic",),
        content_type="guide",
        outline=("What it is", "How it works"),
    )
    server, base_url = start_fake_server(args, headers)
    provider: Any = OpenAIProvider(
        model=CHAT_MODEL,
        image_model=IMAGE_MODEL,
        api_key=API_KEY,
        base_url=base_url,
        timeout=30,
        max_retries=2,  # the default of INKLINE_OPENAI_MAX_RETRIES
    )
    done: list[float] = []
    failed: list[str] = []
    answers: list[tuple[float, int]] = []  # every HTTP answer the limiter saw: time, status
    lock = threading.Lock()
    started = time.perf_counter()
    deadline = started + args.seconds
    observe = provider.limiter.observe

    def recording(ticket: Any, status: int, headers: Any) -> None:
        answers.append((time.perf_counter() - started, status))
        observe(ticket, status, headers)

    provider.limiter.observe = recording

    def worker() -> None:
        while time.perf_counter() < deadline:
            try:
                provider.write_content(brief)
            except AIError as exc:
                with lock:
                    failed.append(str(exc)[:80])
                continue
            with lock:
                done.append(time.perf_counter() - started)

    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    try:
        # The limiter's ceiling is the engine's pool width, read when a request starts.
        with override_settings(INKLINE_AI_CONCURRENCY=args.concurrency):
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        counts = stop_fake_server(server)
    wall = time.perf_counter() - started
    window = args.seconds - args.warmup
    steady = sum(1 for t in done if args.warmup <= t < args.seconds)
    after = [status for t, status in answers if t >= args.warmup]
    return {
        "steady_share": after.count(429) / max(1, len(after)),
        "throughput": steady / window / args.rate,
        "overall": len(done) / wall / args.rate,
        "calls": len(done),
        "failed": len(failed),
        "requests": counts["requests"],
        "limited": counts["rate_limited"],
        "share": counts["rate_limited"] / max(1, counts["requests"]),
        "limiter": provider.limiter.snapshot(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="R: requests per second")
    parser.add_argument("--burst", type=float, default=20.0, help="B: requests the bucket holds")
    parser.add_argument("--seconds", type=float, default=30.0, help="D: seconds of calls")
    parser.add_argument("--warmup", type=float, default=4.0, help="seconds not counted")
    parser.add_argument("--latency-ms", type=int, default=100, help="L: server time per call")
    parser.add_argument("--concurrency", type=int, default=8, help="C: threads")
    parser.add_argument("--modes", default="headers,plain", help="headers, plain or both")
    args = parser.parse_args()
    setup_django()
    print(f"machine: {machine()}")
    print(
        f"R = {args.rate:g}/s, B = {args.burst:g}, C = {args.concurrency}, L = {args.latency_ms}"
        f" ms, {args.seconds:g} s of calls (throughput counted after {args.warmup:g} s)"
    )
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        result = measure(args, headers=mode == "headers")
        met = result["throughput"] >= THROUGHPUT_GOAL and result["share"] <= LIMITED_GOAL
        print(
            f"{mode:<8} throughput {result['throughput']:.3f} R (whole run {result['overall']:.3f}"
            f" R), 429 {result['limited']}/{result['requests']} = {100 * result['share']:.2f}%"
            f" ({100 * result['steady_share']:.2f}% after {args.warmup:g} s),"
            f" {result['calls']} calls, {result['failed']} failed; limiter {result['limiter']}",
            flush=True,
        )
        report(
            f"Rate-limited endpoint, {MODES[mode]}: fake server with a token bucket of R = "
            f"{args.rate:g} requests/s (burst {args.burst:g}), {args.concurrency} threads calling "
            f"the `openai` provider for {args.seconds:g} s, L = {args.latency_ms} ms: "
            f"throughput ÷ R after {args.warmup:g} s, share of requests answered 429 "
            "(`ai_rate_limit.py`)",
            f"≥ {THROUGHPUT_GOAL:.2f} R and ≤ {100 * LIMITED_GOAL:.0f}% 429",
            f"{result['throughput']:.3f} R, {100 * result['share']:.2f}% 429 — {verdict(met)}"
            f" ({result['limited']} of {result['requests']} requests, the first contact"
            f" included; {100 * result['steady_share']:.2f}% after {args.warmup:g} s; whole run"
            f" {result['overall']:.3f} R; {result['failed']} calls failed)",
        )


if __name__ == "__main__":
    main()
