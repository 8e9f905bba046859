"""Publishing reads: the queue, what is due, which instants are taken, a preview."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q, QuerySet

from inkline import clock
from inkline.accounts.models import Site
from inkline.publishing.models import PublishingSettings
from inkline.publishing.slots import NoSlots, SlotRules, next_slots
from inkline.writer.models import Content

WAITING_REASON = "Approved; it is placed into a slot on the next scheduling tick."


def settings_of(site: Site) -> PublishingSettings:
    """The site's publishing settings (the defaults, unsaved, if it has none yet)."""
    return PublishingSettings.objects.filter(site=site).first() or PublishingSettings(site=site)


def waiting_q() -> Q:
    """Approved content waiting for a slot (`_place` in services writes the same condition
    in SQL)."""
    return Q(
        status=Content.Status.APPROVED,
        site_status=Content.SiteStatus.NOT_PUBLISHED,
        scheduled_publish_at__isnull=True,
    )


def unscheduled_approved(site_id: int) -> QuerySet[Content]:
    """Approved content waiting for a slot."""
    return Content.objects.filter(waiting_q(), site_id=site_id)


def scheduled_count(site_id: int) -> int:
    return Content.objects.filter(site_id=site_id, site_status=Content.SiteStatus.SCHEDULED).count()


def occupied_instants(site_id: int, *, since: dt.datetime) -> set[dt.datetime]:
    """Slot instants from `since` on that an item of the site holds."""
    taken = Content.objects.filter(site_id=site_id, scheduled_publish_at__gte=since)
    return {at for at in taken.values_list("scheduled_publish_at", flat=True) if at is not None}


@dataclass(frozen=True)
class QueueState:
    waiting: list[int]  # approved content without a slot, oldest approval first
    scheduled: int  # content scheduled, whatever its slot
    occupied: set[dt.datetime]  # slot instants from `since` on that an item holds


def queue_state(site_id: int, *, since: dt.datetime) -> QueueState:
    """What scheduling needs to know of a site's content, in one query: the rows waiting for
    a slot, scheduled or holding a slot from `since` on (`unscheduled_approved`,
    `scheduled_count` and `occupied_instants` together)."""
    approved, not_published = Content.Status.APPROVED, Content.SiteStatus.NOT_PUBLISHED
    scheduled_status = Content.SiteStatus.SCHEDULED
    rows = (
        Content.objects.filter(
            waiting_q() | Q(site_status=scheduled_status) | Q(scheduled_publish_at__gte=since),
            site_id=site_id,
        )
        .order_by(F("approved_at").asc(nulls_first=True), "id")  # the waiting ones' order
        .values_list("id", "status", "site_status", "scheduled_publish_at")
    )
    waiting = []
    scheduled = 0
    occupied = set()
    for pk, status, site_status, at in rows:
        if at is None and status == approved and site_status == not_published:
            waiting.append(pk)
        elif at is not None and at >= since:
            occupied.add(at)
        scheduled += site_status == scheduled_status
    return QueueState(waiting=waiting, scheduled=scheduled, occupied=occupied)


def sites_with_unscheduled() -> QuerySet[Site]:
    return Site.objects.filter(pk__in=Content.objects.filter(waiting_q()).values("site_id"))


def due_q(now: dt.datetime) -> Q:
    """Content whose slot has come and that may be attempted now: scheduled (and past any
    retry backoff), or stuck in `publishing` past its claim (its worker died)."""
    ready = Q(next_publish_attempt_at__isnull=True) | Q(next_publish_attempt_at__lte=now)
    return Q(scheduled_publish_at__lte=now) & (
        (Q(site_status=Content.SiteStatus.SCHEDULED) & ready)
        | Q(site_status=Content.SiteStatus.PUBLISHING, next_publish_attempt_at__lte=now)
    )


def due(now: dt.datetime, *, site_id: int | None = None) -> QuerySet[Content]:
    """Due content of sites with auto-publish on, oldest slot first."""
    qs = Content.objects.filter(
        due_q(now),
        status=Content.Status.APPROVED,
        site__publishing_settings__auto_publish_enabled=True,
    )
    if site_id is not None:
        qs = qs.filter(site_id=site_id)
    return qs.order_by("scheduled_publish_at", "id")


def due_ids(now: dt.datetime, *, limit: int, site_id: int | None = None) -> list[int]:
    return list(due(now, site_id=site_id).values_list("id", flat=True)[:limit])


def publishing_queue(site: Site) -> dict[str, Any]:
    """The API's queue: scheduled items and every approved item's reason for not being."""
    settings = settings_of(site)
    items = [
        {
            "content_id": pk,
            "title": title,
            "scheduled_publish_at": at,
            "wordpress_scheduled_at": held_at,
            "wordpress_sync_error": sync_error or "",
        }
        for pk, title, at, held_at, sync_error in Content.objects.filter(
            site=site, site_status=Content.SiteStatus.SCHEDULED
        )
        .order_by("scheduled_publish_at", "id")
        .values_list(
            "id",
            "title",
            "scheduled_publish_at",
            "remote_schedule__held_at",
            "remote_schedule__error",
        )
    ]
    unscheduled = [
        {"content_id": pk, "reason": reason or WAITING_REASON}
        for pk, reason in unscheduled_approved(site.pk)
        .order_by("approved_at", "id")
        .values_list("id", "unscheduled_reason")
    ]
    unscheduled += [
        {"content_id": pk, "reason": f"Publishing failed: {error}"}
        for pk, error in Content.objects.filter(
            site=site, status=Content.Status.APPROVED, site_status=Content.SiteStatus.FAILED
        )
        .order_by("id")
        .values_list("id", "publish_error")
    ]
    return {
        "scheduled_count": len(items),
        "queue_limit": settings.queue_limit,
        "items": items,
        "unscheduled": unscheduled,
    }


def preview_slots(site: Site, *, count: int, now: dt.datetime | None = None) -> list[dt.datetime]:
    """The next `count` free slots of the site, writing nothing ([] when none can exist)."""
    now = now or clock.now()
    settings = settings_of(site)
    try:
        return next_slots(
            rules=SlotRules.from_settings(settings),
            tz=site.tz,
            now=now,
            count=count,
            occupied=occupied_instants(site.pk, since=now),
        )
    except NoSlots:
        return []
