"""Updates write only the fields they are given, on the row as it stands when they write:
a caller holding an object read before someone else's change (another request, the
scheduler, a form loaded a minute ago) cannot put the old values back. Concurrent requests
are in tests/api/test_concurrent_patch.py (PostgreSQL) and tests/integration/
test_concurrent_patch.py (SQLite processes)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.http import QueryDict

from inkline.accounts.api import SiteIn
from inkline.accounts.models import Site
from inkline.automation.models import AutomationConfig
from inkline.automation.services import config_update
from inkline.automation.sites import site_update
from inkline.billing.models import SiteAIBudgetAllocation
from inkline.billing.services import allocation_update
from inkline.core.errors import ValidationFailed
from inkline.publishing.models import PublishingSettings
from inkline.publishing.services import publishing_settings_update
from inkline.web.forms import SiteSettingsForm

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def test_a_site_update_from_a_stale_object_keeps_what_changed_since(site: Site) -> None:
    stale = Site.objects.get(pk=site.pk)
    Site.objects.filter(pk=site.pk).update(url="https://new.example.com", pipeline_version=7)

    returned = site_update(site=stale, name="renamed")

    stored = Site.objects.get(pk=site.pk)
    assert (stored.name, stored.url, stored.pipeline_version) == (
        "renamed",
        "https://new.example.com",
        7,
    )
    assert returned.url == "https://new.example.com"  # the site as stored
    assert stale.name == "renamed"  # the caller's object gets what was written


def test_secrets_merge_into_the_stored_ones_not_the_callers_copy(site: Site) -> None:
    stale = Site.objects.get(pk=site.pk)
    site_update(site=site, publisher_config={"password": "one"})
    site_update(site=stale, publisher_config={"api_key": "two"})
    assert Site.objects.get(pk=site.pk).secrets() == {"password": "one", "api_key": "two"}


def test_the_site_form_keeps_settings_it_does_not_show(site: Site) -> None:
    loaded = Site.objects.get(pk=site.pk)  # the page was loaded …
    site_update(site=site, publisher="wordpress", publisher_config={"categories": ["Tea"]})
    data = QueryDict(mutable=True)  # … and posted after the API changed a key it hides
    data.update(
        {"name": "renamed", "url": "", "timezone": "UTC", "publisher": "wordpress",
         "wp_username": "ed", "wp_url": "", "static_layout": "hugo"}
    )  # fmt: skip
    form = SiteSettingsForm(data, site=loaded)
    assert form.is_valid(), form.errors
    checked = SiteIn(data=form.site_changes(), partial=True)
    assert checked.is_valid(), checked.errors
    site_update(site=loaded, merge_config=True, **checked.validated_data)

    stored = Site.objects.get(pk=site.pk)
    assert stored.publisher_config == {"categories": ["Tea"], "username": "ed"}
    assert stored.name == "renamed"


@time_machine.travel(dt.datetime(2026, 3, 2, 0, 0, tzinfo=UTC), tick=False)
def test_a_config_change_keeps_the_schedulers_writes(site: Site) -> None:
    config_update(site=site, data={"is_enabled": True, "scheduled_time": dt.time(9)})
    # The scheduler turns the schedule off after repeated failures (its own UPDATE) …
    AutomationConfig.objects.filter(site=site).update(
        is_enabled=False, next_run_at=None, consecutive_failures=3
    )
    # … while a request that read the config before changes a limit.
    config_update(site=site, data={"max_keywords_per_run": 40})

    stored = AutomationConfig.objects.get(site=site)
    assert (stored.is_enabled, stored.next_run_at, stored.consecutive_failures) == (
        False,
        None,
        3,
    )
    assert stored.max_keywords_per_run == 40


@time_machine.travel(dt.datetime(2026, 3, 2, 0, 0, tzinfo=UTC), tick=False)
def test_next_run_follows_the_stored_time_zone_not_the_callers(site: Site) -> None:
    stale = Site.objects.get(pk=site.pk)  # UTC
    Site.objects.filter(pk=site.pk).update(timezone="Asia/Kolkata")
    config = config_update(
        site=stale, data={"is_enabled": True, "frequency": "daily", "scheduled_time": dt.time(9)}
    )
    assert config.next_run_at == dt.datetime(2026, 3, 2, 3, 30, tzinfo=UTC)  # 09:00 IST


def test_publishing_rules_are_checked_on_the_stored_row(site: Site) -> None:
    """The API checked `stagger_start_time` 17:00 against an end of 18:00, but the end moved
    to 10:00 meanwhile: refused naming the field sent, nothing written."""
    PublishingSettings.objects.filter(site=site).update(stagger_end_time=dt.time(10))
    with pytest.raises(ValidationFailed) as refused:
        publishing_settings_update(
            site=site, data={"stagger_start_time": dt.time(17), "queue_limit": 7}
        )
    assert list(refused.value.field_errors) == ["stagger_start_time"]
    stored = PublishingSettings.objects.get(site=site)
    assert (stored.stagger_start_time, stored.queue_limit) == (dt.time(9), 100)

    PublishingSettings.objects.filter(site=site).update(publish_time_slots=[])
    with pytest.raises(ValidationFailed) as refused:
        publishing_settings_update(site=site, data={"scheduling_mode": "time_slots"})
    assert list(refused.value.field_errors) == ["scheduling_mode"]


def test_publishing_writes_only_the_fields_given(site: Site) -> None:
    PublishingSettings.objects.filter(site=site).update(daily_publish_target=9)
    publishing_settings_update(site=site, data={"queue_limit": 7})
    stored = PublishingSettings.objects.get(site=site)
    assert (stored.daily_publish_target, stored.queue_limit) == (9, 7)


def test_a_budget_split_is_checked_against_the_stored_percentages(site: Site) -> None:
    allocation_update(site_id=site.pk, use_global_defaults=False, percentages={})
    SiteAIBudgetAllocation.objects.filter(site=site).update(
        clustering_percentage=25, idea_generation_percentage=0
    )  # another request moved ten points
    with pytest.raises(ValidationFailed):  # 5 + 0 + 50 + 5 + 30 = 90
        allocation_update(
            site_id=site.pk,
            use_global_defaults=False,
            percentages={"clustering": Decimal(5), "content_generation": Decimal(50)},
        )
    stored = SiteAIBudgetAllocation.objects.get(site=site)
    assert (stored.clustering_percentage, stored.content_generation_percentage) == (25, 40)
