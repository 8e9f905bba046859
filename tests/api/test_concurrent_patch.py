"""Concurrent PATCHes of different fields all take effect, on PostgreSQL: a live server in
this process answers each request in its own thread with its own connection (row locks are
what is exercised). The same scenarios run on SQLite against gunicorn worker processes in
tests/integration/test_concurrent_patch.py."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from inkline.automation.sites import account_create, site_create
from tests.api import patching

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def racer(transactional_db: Any) -> tuple[str, int]:
    """An account's API token and its new site's id."""
    assert connection.vendor == "postgresql"
    account, token = account_create(name="Racers", username="racer", password="pw")
    return token.key, site_create(account=account, name="race").pk


@pytest.fixture
def send(live_server: Any, racer: tuple[str, int]) -> patching.Send:
    return patching.http_sender(live_server.url, racer[0])


@pytest.fixture
def site_id(racer: tuple[str, int]) -> int:
    return racer[1]


def test_site_patches_of_different_fields_all_take_effect(
    send: patching.Send, site_id: int
) -> None:
    patching.site_changes_all_kept(send, site_id)


def test_site_secrets_set_at_once_are_all_kept(send: patching.Send, site_id: int) -> None:
    patching.site_secrets_all_kept(send, site_id)


def test_automation_config_patches_all_take_effect(send: patching.Send, site_id: int) -> None:
    patching.config_changes_all_kept(send, site_id)


def test_timezone_and_schedule_changed_at_once_agree(send: patching.Send, site_id: int) -> None:
    patching.timezone_and_schedule_agree(send, site_id)


def test_publishing_settings_patches_all_take_effect(send: patching.Send, site_id: int) -> None:
    patching.publishing_changes_all_kept(send, site_id)


def test_stagger_window_changed_from_both_ends_stays_valid(
    send: patching.Send, site_id: int
) -> None:
    patching.stagger_window_stays_valid(send, site_id)


def test_time_slot_mode_never_stored_without_slots(send: patching.Send, site_id: int) -> None:
    patching.time_slots_stay_valid(send, site_id)


def test_seo_settings_patches_all_take_effect(send: patching.Send, site_id: int) -> None:
    # The site has no SEO settings row yet: the first burst also races to create it.
    patching.seo_changes_all_kept(send, site_id)


def test_ai_budget_split_changed_at_once_still_sums_to_100(
    send: patching.Send, site_id: int
) -> None:
    patching.budget_split_stays_valid(send, site_id)
