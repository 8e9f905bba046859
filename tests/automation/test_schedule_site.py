"""A schedule is a local time of day: changing the site's timezone moves its next run."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from inkline.accounts.models import Site
from inkline.automation.models import AutomationConfig
from inkline.automation.services import config_update
from inkline.automation.sites import site_update

pytestmark = pytest.mark.django_db
UTC = dt.UTC


@time_machine.travel(dt.datetime(2026, 3, 2, 0, 0, tzinfo=UTC), tick=False)
def test_changing_the_site_timezone_recomputes_the_next_run(site: Site) -> None:
    config = config_update(
        site=site, data={"is_enabled": True, "frequency": "daily", "scheduled_time": dt.time(9)}
    )
    assert config.next_run_at == dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    site_update(site=site, timezone="Asia/Kolkata")  # 09:00 IST is 03:30 UTC
    assert AutomationConfig.objects.get(site=site).next_run_at == dt.datetime(
        2026, 3, 2, 3, 30, tzinfo=UTC
    )

    site_update(site=site, name="renamed")  # no timezone change: nothing moves
    assert AutomationConfig.objects.get(site=site).next_run_at == dt.datetime(
        2026, 3, 2, 3, 30, tzinfo=UTC
    )


def test_a_disabled_schedule_stays_without_a_next_run(site: Site) -> None:
    site_update(site=site, timezone="America/New_York")
    assert AutomationConfig.objects.get(site=site).next_run_at is None
