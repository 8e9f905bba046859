"""Import of 1,000,000 keywords from a CSV file (~55 MB) with `inkline import-keywords`, as a
user runs it, on SQLite (issue #17): the command's wall time, CPU time and peak resident
memory (`ru_maxrss` of the child process), then a check that every keyword is there exactly
once. On a machine busy with other work the wall time stretches with the load average (both
are printed); the CPU time does much less.

The command stores the file in an import job and executes the job itself: every line is
checked first, then all rows are written in one transaction (chunked `INSERT … ON CONFLICT
DO NOTHING`), the file read as a stream both times. Run by `make bench` in its own process."""

from __future__ import annotations

import csv
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import machine, report, setup_django, verdict
from benchmarks.keywords_100k import AFTER, BEFORE, INTENTS, TOPICS

N = 1_000_000
WALL_GOAL_S = 60
PEAK_GOAL_MB = 300


def write_csv(path: Path) -> None:
    """N distinct phrases (topic × modifiers × a number), written as they are made."""
    base = [" ".join(p for p in (b, t, a) if p) for t in TOPICS for b in BEFORE for a in AFTER]
    rng = random.Random(17)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["keyword", "volume", "difficulty", "intent"])
        for i in range(N):
            writer.writerow(
                [
                    f"{base[i % len(base)]} {i // len(base)}",
                    rng.randint(10, 50_000),
                    rng.randint(0, 100),
                    rng.choice(INTENTS),
                ]
            )


def main() -> None:
    data_dir = setup_django()
    from django.db import connection

    from inkline.automation.sites import account_create, site_create
    from inkline.planner.models import Keyword

    account, _ = account_create(name="Bench", username="bench", password="x", credits=0)
    site = site_create(account=account, name="million")
    path = Path(data_dir) / "keywords.csv"
    write_csv(path)
    size_mb = path.stat().st_size / 1e6
    connection.close()  # the command is the only writer while it runs
    load_before = os.getloadavg()[0]
    print(f"machine: {machine()}, database: {connection.vendor}, load average "
          f"{load_before:.2f} (on a shared machine the wall time varies with it)")  # fmt: skip
    print(f"file: {N:,} lines, {size_mb:.1f} MB")

    env = {**os.environ, "INKLINE_DATA_DIR": data_dir, "DJANGO_SETTINGS_MODULE": "inkline.settings"}
    env.pop("DATABASE_URL", None)  # the embedded default: SQLite
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "inkline.cli", "import-keywords", str(site.pk), str(path), "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    child = resource.getrusage(resource.RUSAGE_CHILDREN)  # the command alone: no other child
    peak = child.ru_maxrss / 1024  # KiB on Linux
    cpu = child.ru_utime + child.ru_stime
    load_after = os.getloadavg()[0]
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-4000:])
        raise SystemExit(f"import-keywords exited {done.returncode}")
    job = json.loads(done.stdout)
    stored = Keyword.objects.filter(site=site).count()
    distinct = Keyword.objects.filter(site=site).values("normalized").distinct().count()
    print(
        f"import-keywords: job {job['status']}, {job['created']:,} created, "
        f"{job['duplicates']} duplicates, {job['errors_total']} errors in {wall:.1f} s "
        f"({cpu:.1f} s of CPU); peak RSS {peak:.0f} MB; "
        f"{stored:,} keywords stored ({distinct:,} distinct); "
        f"load average {load_before:.2f} before, {load_after:.2f} after"
    )
    ok = job["status"] == "done" and stored == distinct == job["created"] == N
    report(
        f"Import of {N:,} keywords ({size_mb:.0f} MB CSV) with `inkline import-keywords`, "
        f"one transaction, {connection.vendor}: wall time and peak RSS of the command "
        f"(`keywords_1m.py`)",
        f"≤ {WALL_GOAL_S} s and peak RSS ≤ {PEAK_GOAL_MB} MB",
        f"{wall:.1f} s ({cpu:.1f} s of CPU), peak {peak:.0f} MB — "
        f"{verdict(wall <= WALL_GOAL_S and peak <= PEAK_GOAL_MB and ok)}; "
        f"{stored:,} keywords stored, each once; load average {load_before:.2f} → "
        f"{load_after:.2f} on {os.cpu_count()} cores",
    )
    shutil.rmtree(data_dir, ignore_errors=True)
    if not ok:
        raise SystemExit("the import did not store every keyword exactly once")


if __name__ == "__main__":
    main()
