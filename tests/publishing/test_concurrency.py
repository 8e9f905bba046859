"""Several workers at once on PostgreSQL (the suite's PostgreSQL run): each due article is
published by exactly one of them, and concurrent schedulers never share a slot."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, connections

from inkline.accounts.models import Account
from inkline.automation.sites import site_create
from inkline.publishing.services import content_publish_due, content_schedule
from inkline.writer.models import Content
from tests.publishing.builders import approved, publishing

UTC = dt.UTC
NOW = dt.datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
WORKERS = 4


# Row locks and concurrent claims are exercised on PostgreSQL.
pytestmark = pytest.mark.postgres_only


@pytest.fixture(autouse=True)
def on_postgres(transactional_db: Any) -> None:
    assert connection.vendor == "postgresql"


def in_threads(fn: Callable[[], Any]) -> list[Any]:
    def run() -> Any:
        try:
            return fn()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(WORKERS) as pool:
        return [f.result() for f in [pool.submit(run) for _ in range(WORKERS)]]


def test_each_due_article_is_published_by_exactly_one_worker(account: Account) -> None:
    site = site_create(account=account, name="busy")
    publishing(site, scheduling_mode="immediate")
    ids = approved(site, 24)
    content_schedule(site=site, now=NOW)
    later = NOW + dt.timedelta(hours=1)
    reports = in_threads(lambda: content_publish_due(now=later))
    published = Counter(
        pk
        for report in reports
        for pk, outcome in report.outcomes.items()
        if outcome == "published"
    )
    assert published == Counter(ids)  # every article once, none twice
    assert Content.objects.filter(site=site, site_status="published").count() == 24
    files = list((Path(settings.SITE_OUTPUT_DIR) / str(site.pk)).rglob("*.md"))
    assert len(files) == 24


def test_concurrent_schedulers_never_share_a_slot(account: Account) -> None:
    site = site_create(account=account, name="race", timezone="Europe/London")
    approved(site, 60)
    results = in_threads(lambda: content_schedule(site=site, now=NOW).scheduled)
    assert sum(results) == 60
    slots = list(Content.objects.filter(site=site).values_list("scheduled_publish_at", flat=True))
    assert None not in slots and len(set(slots)) == 60
