"""The prepared reads — fixed SQL that every page and every poll of the pipeline runs through
Django's public `raw()` and cursor instead of building an ORM query (issue 15) — give what
the plain ORM gives, on SQLite and PostgreSQL alike (the suite runs on both): the same rows
in the same order, the same values and types (aware datetimes, times, JSON), the same
deferred fields, and nothing of another account's."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import models

from inkline.accounts.models import Account, Site
from inkline.accounts.selectors import account_site, site_names
from inkline.automation import services
from inkline.automation.models import AutomationConfig, AutomationRun
from inkline.automation.selectors import latest_run, site_config
from inkline.automation.sites import account_create, site_create, site_update

pytestmark = pytest.mark.django_db

MOMENT = dt.datetime(2026, 11, 28, 9, 15, 30, 123456, tzinfo=dt.UTC)


def _fields(obj: models.Model) -> dict[str, Any]:
    deferred = obj.get_deferred_fields()
    return {
        f.attname: getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if f.attname not in deferred
    }


def assert_same(got: models.Model | None, want: models.Model | None) -> None:
    assert got is not None and want is not None
    assert type(got) is type(want)
    assert got.get_deferred_fields() == want.get_deferred_fields()
    assert _fields(got) == _fields(want)
    assert got._state.db == want._state.db and not got._state.adding


@pytest.fixture
def other(db: Any) -> Account:
    account, _ = account_create(name="Other", username="other", password="pw")
    return account


def test_account_site_equals_the_orm(account: Account, site: Site, other: Account) -> None:
    site_update(site=site, timezone="Asia/Kolkata", publisher_config={"output_dir": "out/ü"})
    foreign = site_create(account=other, name="blog")
    got = account_site(account.pk, site.pk)
    assert_same(got, Site.objects.for_account(account.pk).get(pk=site.pk))
    assert got is not None and not got.get_deferred_fields()
    assert got.created_at.tzinfo is not None and got.publisher_config == {"output_dir": "out/ü"}
    assert account_site(account.pk, foreign.pk) is None  # another account's: as if absent
    assert account_site(other.pk, foreign.pk) is not None
    assert account_site(account.pk, foreign.pk + 1000) is None
    # With relations it is the ORM's own query.
    related = account_site(account.pk, site.pk, related=("automation_config",))
    assert_same(related, got)
    assert related is not None and related.automation_config.site_id == site.pk


def test_site_names_equal_the_orm(account: Account, site: Site, other: Account) -> None:
    for name in ("beta", "Alpha", "alpha 2", "Émile", "Zeta 10", "zeta 9"):
        site_create(account=account, name=name)
    site_create(account=other, name="aardvark")
    want = list(
        Site.objects.for_account(account.pk).order_by("name", "id").values_list("id", "name")
    )
    got = site_names(account.pk)
    assert got == want and len(got) == 7
    assert got[0].pk == want[0][0] and got[0].name == want[0][1]
    assert "aardvark" not in {s.name for s in got}
    assert site_names(other.pk + 1000) == []


def test_site_config_equals_the_orm(site: Site) -> None:
    AutomationConfig.objects.filter(site=site).update(
        is_enabled=True, scheduled_time=dt.time(7, 30), next_run_at=MOMENT, stage_3_enabled=False
    )
    got = site_config(site.pk)
    assert_same(got, AutomationConfig.objects.filter(site_id=site.pk).first())
    assert got is not None and not got.get_deferred_fields()
    assert (got.scheduled_time, got.next_run_at, got.stage_3_enabled) == (
        dt.time(7, 30),
        MOMENT,
        False,
    )
    AutomationConfig.objects.filter(site=site).delete()
    assert site_config(site.pk) is None


LATEST_RUN_FIELDS = (
    "run_id", "site_id", "status", "progress_percent", "heartbeat_at", "stopped_reason",
    "lease_owner", "lease_expires_at",
)  # fmt: skip


def test_latest_run_equals_the_orm(account: Account, site: Site) -> None:
    assert latest_run(site.pk) is None
    first = services.run_cancel(run=services.run_start(site=site, by="t"), by="t")
    second = services.run_start(site=site, by="t")
    AutomationRun.objects.filter(pk=second.pk).update(heartbeat_at=MOMENT, progress_percent=42)
    services.run_start(site=site_create(account=account, name="other site"), by="t")
    got = latest_run(site.pk)
    want = (
        AutomationRun.objects.filter(site_id=site.pk)
        .only(*LATEST_RUN_FIELDS)
        .order_by("-id")
        .first()
    )
    assert_same(got, want)
    assert got is not None and got.pk == second.pk != first.pk
    assert {"stage_results", "initial_snapshot", "queued_at"} <= got.get_deferred_fields()
    assert (got.heartbeat_at, got.progress_percent, got.is_active) == (MOMENT, 42, True)
