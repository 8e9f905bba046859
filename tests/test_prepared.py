"""Prepared reads give what the plain ORM gives, on SQLite and PostgreSQL alike (the suite
runs on both)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import F
from rest_framework.authtoken.models import Token

from inkline.accounts.models import Account, Site
from inkline.automation.models import AutomationRun
from inkline.automation.sites import site_create
from inkline.core.prepared import PreparedRead

pytestmark = pytest.mark.django_db

TOKEN = PreparedRead(
    lambda key: Token.objects.select_related("user__membership").filter(key=key)[:1], str
)
SITES = PreparedRead(
    lambda account_id, name: (
        Site.objects.filter(account_id=account_id)
        .exclude(name=name)
        .select_related("automation_config", "ai_budget_allocation")
        .order_by("name", "id")
    ),
    int,
    str,
)
RUN_STATE = PreparedRead(
    lambda site_id: (
        AutomationRun.objects.filter(site_id=site_id)
        .only("run_id", "site_id", "status", "queued_at")
        .annotate(stage_after=F("current_stage") + 1)
        .order_by("-id")[:1]
    ),
    int,
)


def _fields(obj: Any) -> dict[str, Any]:
    return {
        f.attname: getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if f.attname not in obj.get_deferred_fields()
    }


def test_select_related_instances_equal_the_orm(account: Account) -> None:
    token = Token.objects.get(user__membership__account=account)
    got = TOKEN.first(token.key)
    want = Token.objects.select_related("user__membership").get(key=token.key)
    assert got is not None and got._state.db == "default" and not got._state.adding
    assert _fields(got) == _fields(want)
    assert _fields(got.user) == _fields(want.user)
    assert _fields(got.user.membership) == _fields(want.user.membership)
    assert TOKEN.first("no such key") is None


def test_many_rows_in_order_with_nullable_relations(account: Account, site: Site) -> None:
    for name in ("c", "a", "b"):
        site_create(account=account, name=name)
    found = SITES(account.pk, "b")
    assert [s.name for s in found] == ["a", "blog", "c"]
    with pytest.raises(Site.ai_budget_allocation.RelatedObjectDoesNotExist):
        found[0].ai_budget_allocation  # noqa: B018 - no row: the ORM's answer too
    assert found[0].automation_config.site_id == found[0].pk
    assert SITES(account.pk + 1000, "b") == []


def test_only_and_annotations_and_converters(site: Site) -> None:
    from inkline.automation import services

    run = services.run_start(site=site, by="t")
    got = RUN_STATE.first(site.pk)
    assert got is not None and got.pk == run.pk
    assert got.get_deferred_fields() == RUN_STATE.first(site.pk).get_deferred_fields()
    assert "stage_results" in got.get_deferred_fields()
    assert got.stage_after == run.current_stage + 1  # type: ignore[attr-defined]
    assert got.queued_at == run.queued_at and got.queued_at.tzinfo is not None
    assert got.status == run.status


def test_a_32_bit_id_column(account: Account) -> None:
    from django.contrib.auth import get_user_model

    users = PreparedRead(lambda pk: get_user_model().objects.filter(pk=pk)[:1], int)
    owner = get_user_model().objects.get(username="owner")
    found = users.first(owner.pk)
    assert found is not None and found.username == "owner"
    assert users.first(2**31 - 1) is None


def test_wrong_values_are_refused() -> None:
    with pytest.raises(TypeError):
        TOKEN.first(3)
    with pytest.raises(TypeError):
        RUN_STATE.first(True)
    with pytest.raises(TypeError):
        RUN_STATE.first()


def test_a_parameter_that_does_not_reach_the_sql_fails_when_compiled() -> None:
    unused = PreparedRead(lambda site_id: Site.objects.all(), int)
    with pytest.raises(ValueError, match="do not reach"):
        unused(1)
    with pytest.raises(TypeError):
        PreparedRead(lambda when: Site.objects.filter(created_at__gt=when), float)
