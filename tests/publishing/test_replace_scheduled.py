"""Issue 20: changing the publishing settings re-places the articles already scheduled (not
those due, being published or retried), previewed first by `replacement_plan`, applied by
`replace_scheduled` through `content_reschedule`; they are then published at the new
times."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from inkline.accounts.models import Site
from inkline.publishing.models import PublishingSettings
from inkline.publishing.services import (
    content_publish_due,
    content_schedule,
    publishing_settings_update,
    replacement_plan,
)
from inkline.writer.models import Content
from tests.publishing.builders import approved, publishing

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NOW = dt.datetime(2026, 6, 1, 6, 0, tzinfo=UTC)  # Monday


def slots(site: Site) -> dict[int, str]:
    rows = Content.objects.filter(site=site, site_status="scheduled").values_list(
        "id", "scheduled_publish_at"
    )
    return {pk: f"{at:%a %H:%M}" for pk, at in rows if at is not None}


def test_new_settings_move_the_scheduled_articles_and_they_publish_at_the_new_times(
    site: Site,
) -> None:
    publishing(site, publish_time_slots=["09:00", "14:00"], publish_days=["mon", "tue"])
    ids = approved(site, 4)
    with time_machine.travel(NOW, tick=False):
        content_schedule(site=site)
        assert list(slots(site).values()) == ["Mon 09:00", "Mon 14:00", "Tue 09:00", "Tue 14:00"]
        preview = PublishingSettings.objects.get(site=site)
        preview.publish_days = ["wed"]
        preview.publish_time_slots = ["08:00", "10:00", "12:00", "16:00"]
        plan = replacement_plan(site=site, settings=preview)
        assert [(m.content_id, f"{m.new:%a %H:%M}") for m in plan.moves] == [
            (ids[0], "Wed 08:00"),
            (ids[1], "Wed 10:00"),
            (ids[2], "Wed 12:00"),
            (ids[3], "Wed 16:00"),
        ]
        assert slots(site)[ids[0]] == "Mon 09:00"  # the plan wrote nothing
        publishing_settings_update(
            site=site,
            data={
                "publish_days": ["wed"],
                "publish_time_slots": ["08:00", "10:00", "12:00", "16:00"],
            },
        )
        assert slots(site) == {
            ids[0]: "Wed 08:00",
            ids[1]: "Wed 10:00",
            ids[2]: "Wed 12:00",
            ids[3]: "Wed 16:00",
        }
    with time_machine.travel(dt.datetime(2026, 6, 1, 9, 0, 1, tzinfo=UTC), tick=False):
        assert content_publish_due().count("published") == 0  # Monday's slot is gone
    wednesday = dt.datetime(2026, 6, 3, 10, 0, 1, tzinfo=UTC)
    with time_machine.travel(wednesday, tick=False):
        report = content_publish_due()
    assert sorted(report.outcomes) == sorted(ids[:2])
    published = Content.objects.filter(pk__in=ids[:2]).values_list("published_at", flat=True)
    assert all(at == wednesday for at in published)


def test_a_swap_of_slots_and_articles_that_cannot_move(site: Site) -> None:
    """Two articles trading places never collide; an article in a retry keeps its slot, and
    the others go around it; a change of targets alone moves nothing."""
    publishing(site, publish_time_slots=["09:00", "14:00", "18:00"], publish_days=["mon"])
    ids = approved(site, 3)
    with time_machine.travel(NOW, tick=False):
        content_schedule(site=site)
        Content.objects.filter(pk=ids[1]).update(publish_attempts=1)  # tried once: stays
        assert (
            replacement_plan(site=site, settings=PublishingSettings.objects.get(site=site)).moves
            == []
        )
        publishing_settings_update(site=site, data={"daily_publish_target": 9})
        assert slots(site) == {ids[0]: "Mon 09:00", ids[1]: "Mon 14:00", ids[2]: "Mon 18:00"}
        publishing_settings_update(
            site=site, data={"publish_time_slots": ["14:00", "18:00", "20:00"]}
        )
        assert slots(site) == {ids[0]: "Mon 18:00", ids[1]: "Mon 14:00", ids[2]: "Mon 20:00"}


def test_settings_without_a_slot_keep_the_scheduled_times(site: Site) -> None:
    publishing(site, publish_time_slots=["09:00"], publish_days=["mon"])
    ids = approved(site, 1)
    with time_machine.travel(NOW, tick=False):
        content_schedule(site=site)
        settings = PublishingSettings.objects.get(site=site)
        settings.publish_days = []
        plan = replacement_plan(site=site, settings=settings)
        assert plan.moves == [] and "no publish days" in plan.summary()
        publishing_settings_update(site=site, data={"publish_days": []})
        assert slots(site) == {ids[0]: "Mon 09:00"}
