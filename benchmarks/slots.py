"""Publishing slots for 10,000 items in stagger mode: the pure slot calculation alone, then
scheduling 10,000 approved articles in the database (time and queries), and the same for 10
to show the query count does not grow with the number of items."""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import machine, report, setup_django, verdict

N = 10_000
GOAL_SECONDS = 0.100
GOAL_QUERIES = 3
NOW = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)  # a Monday before New York's DST change


# Not counted as queries: the transaction's own statements (SQLite's BEGIN IMMEDIATE).
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def main() -> None:
    setup_django()
    from django.db import connection

    from inkline.automation.sites import account_create, site_create
    from inkline.publishing.models import PublishingSettings
    from inkline.publishing.services import content_schedule
    from inkline.publishing.slots import SlotRules, next_slots
    from inkline.writer.models import Content

    rules = SlotRules(
        mode="stagger",
        days=frozenset(range(5)),
        stagger_start=dt.time(9),
        stagger_end=dt.time(18),
        interval_minutes=15,
    )
    started = time.perf_counter()
    slots = next_slots(rules=rules, tz=ZoneInfo("America/New_York"), now=NOW, count=N)
    pure = time.perf_counter() - started
    assert len(set(slots)) == N

    account, _ = account_create(name="Bench", username="bench", password="x")

    def schedule(n: int, name: str) -> tuple[float, int, int]:
        site = site_create(account=account, name=name, timezone="America/New_York")
        PublishingSettings.objects.filter(site=site).update(
            scheduling_mode="stagger", queue_limit=N
        )
        Content.objects.bulk_create(
            Content(
                site=site,
                title=f"Article {i}",
                slug=f"article-{i}",
                status=Content.Status.APPROVED,
                approved_at=NOW,
            )
            for i in range(n)
        )
        queries = 0

        def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal queries
            queries += not sql.lstrip().upper().startswith(TRANSACTION_CONTROL)
            return execute(sql, params, many, context)

        started = time.perf_counter()
        with connection.execute_wrapper(count):
            done = content_schedule(site=site, now=NOW)
        return time.perf_counter() - started, queries, done.scheduled

    small_s, small_q, small_n = schedule(10, "small")
    large_s, large_q, large_n = schedule(N, "large")
    print(f"machine: {machine()}, database: {connection.vendor}")
    print(f"pure slots, {N} items, stagger 09:00-18:00 every 15 min, Mon-Fri: {pure:.3f} s")
    print(f"  last slot {slots[-1]:%Y-%m-%d} ({(slots[-1] - NOW).days} days ahead, no horizon)")
    print(f"content_schedule, {large_n} items: {large_s:.3f} s, {large_q} queries")
    print(f"content_schedule, {small_n} items: {small_s:.3f} s, {small_q} queries")
    rules_text = "stagger 09:00–18:00 every 15 min, Mon–Fri, America/New_York across a DST change"
    report(
        f"Publishing slots for {N:,} items, {rules_text}: pure calculation (`slots.py`)",
        f"≤ {GOAL_SECONDS * 1000:.0f} ms",
        f"{pure * 1000:.0f} ms — {verdict(pure <= GOAL_SECONDS)}; last slot "
        f"{(slots[-1] - NOW).days} days ahead",
    )
    met = large_s <= GOAL_SECONDS and large_q <= GOAL_QUERIES
    report(
        f"Scheduling {large_n:,} approved articles into those slots, {connection.vendor} "
        f"(`slots.py`, `content_schedule`)",
        f"≤ {GOAL_SECONDS * 1000:.0f} ms and ≤ {GOAL_QUERIES} queries",
        f"{large_s * 1000:.0f} ms, {large_q} queries — {verdict(met)} "
        f"({small_n} items: {small_s * 1000:.0f} ms, {small_q} queries)",
    )


if __name__ == "__main__":
    main()
