"""Import of 100,000 keywords from a CSV file, then stage 1 (clustering) over all of them
through the real engine with the local provider, on SQLite (issue #9, figure 3): wall time of
each and the process's peak resident memory after each (`ru_maxrss`, which only grows).

Run by `make bench` in its own process, so the peak is this benchmark's alone."""

from __future__ import annotations

import csv
import io
import os
import random
import resource
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import machine, report, setup_django, verdict

N = 100_000
PEAK_GOAL_MB = 300
TOPICS = [
    "cold brew", "espresso machine", "french press", "pour over", "burr grinder", "aeropress",
    "running shoes", "trail running", "marathon training", "yoga mat", "home gym", "kettlebell",
    "sourdough starter", "cast iron skillet", "air fryer", "meal prep", "chef knife",
    "standing desk", "mechanical keyboard", "noise cancelling headphones", "usb c hub",
    "houseplants", "fiddle leaf fig", "raised garden bed", "compost bin", "tomato plants",
    "budget travel", "carry on luggage", "travel insurance", "hiking boots", "tent",
    "index funds", "roth ira", "credit score", "emergency fund", "budget app",
    "dog food", "puppy training", "cat litter", "aquarium filter", "bird feeder",
]  # fmt: skip
BEFORE = [
    "", "best", "cheap", "how to choose a", "how to clean a", "how to use a", "is a",
    "top 10", "affordable", "review of", "what is a", "diy", "professional", "beginner",
]  # fmt: skip
AFTER = [
    "", "for beginners", "under 100", "under 500", "vs alternatives", "reviews", "near me",
    "for small spaces", "for kids", "2026", "guide", "tips", "mistakes to avoid", "on a budget",
    "for travel", "for seniors", "comparison", "worth it", "reddit", "ideas",
]  # fmt: skip
INTENTS = ["", "informational", "commercial", "transactional", "navigational"]


def phrases() -> list[str]:
    """100,000 distinct search phrases: topic × modifiers, then numbered variants."""
    base = [" ".join(p for p in (b, t, a) if p) for t in TOPICS for b in BEFORE for a in AFTER]
    out = list(base)
    n = 1
    while len(out) < N:
        out.extend(f"{p} {n}" for p in base[: N - len(out)])
        n += 1
    return out[:N]


def csv_bytes() -> bytes:
    rng = random.Random(9)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["keyword", "volume", "difficulty", "intent"])
    for phrase in phrases():
        writer.writerow([phrase, rng.randint(10, 50_000), rng.randint(0, 100), rng.choice(INTENTS)])
    return buffer.getvalue().encode()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    data_dir = setup_django()
    from django.db import connection

    from inkline.automation import engine
    from inkline.automation.models import AutomationConfig
    from inkline.automation.services import run_start
    from inkline.automation.sites import account_create, site_create
    from inkline.planner.models import Cluster, Keyword
    from inkline.planner.services import keywords_import_csv

    account, _ = account_create(name="Bench", username="bench", password="x", credits=10**9)
    site = site_create(account=account, name="large")
    AutomationConfig.objects.filter(site=site).update(
        **{f"stage_{s}_enabled": s == 1 for s in range(1, 8)},
        max_keywords_per_run=0,
        max_credits_per_run=0,
    )
    data = csv_bytes()
    print(f"machine: {machine()}, database: {connection.vendor}, "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    print(f"before: peak RSS {peak_mb():.0f} MB (Django loaded, {len(data) / 1e6:.1f} MB CSV)")

    started = time.perf_counter()
    outcome = keywords_import_csv(site=site, data=data)
    imported = time.perf_counter() - started
    del data
    print(
        f"import: {outcome.created:,} keywords created, {outcome.duplicates} duplicates, "
        f"{len(outcome.errors)} errors in {imported:.1f} s; peak RSS {peak_mb():.0f} MB"
    )

    run = run_start(site=site, wake=False)
    started = time.perf_counter()
    run = engine.run_to_end(run_id=run.run_id)
    clustered = time.perf_counter() - started
    left = Keyword.objects.filter(site=site, status=Keyword.Status.NEW).count()
    clusters = Cluster.objects.filter(site=site).count()
    print(f"stage 1: run {run.status}, {N - left:,} keywords into "
          f"{clusters:,} clusters in {clustered:.1f} s "
          f"({left} left); peak RSS {peak_mb():.0f} MB "
          f"(load average {os.getloadavg()[0]:.2f})")  # fmt: skip
    peak = peak_mb()
    report(
        f"Import of {N:,} keywords (CSV), then stage 1 over all of them through the real "
        f"engine, local provider, {connection.vendor}: peak RSS of the process "
        f"(`keywords_100k.py`)",
        f"peak RSS ≤ {PEAK_GOAL_MB} MB, wall reported",
        f"peak {peak:.0f} MB — {verdict(peak <= PEAK_GOAL_MB)}; import {imported:.1f} s "
        f"({outcome.created:,} created), stage 1 {clustered:.1f} s (run {run.status}, "
        f"{N - left:,} keywords into {clusters:,} clusters, {left} left)",
    )
    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
