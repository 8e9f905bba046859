"""Writes of "hand scheduled posts to WordPress" (`PublishingSettings.schedule_on_wordpress`).

An article placed into a slot of such a site gets a `RemoteSchedule` row, due at once; so does
one taken out of the schedule that WordPress holds. The publish tick (and a wake after each
change) syncs every due row: `handoff.sync_action` decides, the publisher acts outside any
transaction (`SchedulingPublisher`: create the `future` post, move its date, trash it), and
the outcome is written only if nothing changed meanwhile (the row's `token`); a change during
the call leaves the row due, and the next sync finds the post by its id or marker.
At the slot, `services.content_publish` reads the post and publishes it only if WordPress has
not (`publish_scheduled`).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet

from inkline import clock
from inkline.accounts.models import Site
from inkline.celery import app as celery_app
from inkline.core.errors import InvalidTransition
from inkline.publishing import links
from inkline.publishing.delivery import CLAIM_TIMEOUT, article_of, backoff
from inkline.publishing.handoff import handoff_enabled, sync_action
from inkline.publishing.models import PublishingSettings, RemoteSchedule
from inkline.publishing.publishers import (
    Publisher,
    PublishError,
    RemotePost,
    SchedulingPublisher,
)
from inkline.publishing.publishers.factory import get_publisher
from inkline.writer.models import Content

log = logging.getLogger(__name__)

SYNC_SITE = "inkline.publishing.sync_schedules"  # publishing.tasks.sync_schedules
MAX_SYNC_ATTEMPTS = 5


def schedules_wake(site_id: int) -> None:
    """Wake a worker to sync the site's due rows now (the publish tick does it anyway, so a
    broker that cannot take it only delays the sync: `robust` on_commit logs and goes on)."""
    celery_app.tasks[SYNC_SITE].delay(site_id)


def hands_off(site: Site, settings: PublishingSettings) -> bool:
    return handoff_enabled(
        schedule_on_wordpress=settings.schedule_on_wordpress, publisher=site.publisher
    )


def schedules_mark(*, site_id: int, content_ids: Iterable[int], now: dt.datetime) -> None:
    """Rows for `content_ids`, due now (inside the caller's transaction; a worker is woken
    when it commits)."""
    ids = list(content_ids)
    if not ids:
        return
    RemoteSchedule.objects.bulk_create(
        [
            RemoteSchedule(content_id=pk, site_id=site_id, token=uuid.uuid4(), due_at=now)
            for pk in ids
        ],
        update_conflicts=True,
        unique_fields=["content"],
        update_fields=["token", "due_at", "attempts", "error"],
    )
    transaction.on_commit(lambda: schedules_wake(site_id), robust=True)


def schedule_changed(*, content: Content, now: dt.datetime) -> None:
    """`content` left the schedule (unscheduled, rejected): if WordPress holds its post, the
    row is due, to withdraw it (inside the caller's transaction)."""
    if RemoteSchedule.objects.filter(pk=content.pk).update(
        token=uuid.uuid4(), due_at=now, attempts=0, error=""
    ):
        transaction.on_commit(lambda: schedules_wake(content.site_id), robust=True)


def schedules_moved(
    *,
    site: Site,
    settings: PublishingSettings,
    content_ids: Iterable[int],
    now: dt.datetime,
) -> None:
    """Scheduled articles moved to other slots (`services.replace_scheduled`): with hand-over
    on, each is (re)handed over at its new date; with it off, the posts WordPress already
    holds for them are still moved (inside the caller's transaction)."""
    ids = list(content_ids)
    if hands_off(site, settings):
        schedules_mark(site_id=site.pk, content_ids=ids, now=now)
        return
    held = RemoteSchedule.objects.filter(pk__in=ids).values_list("pk", flat=True)
    if held:
        schedules_mark(site_id=site.pk, content_ids=list(held), now=now)


def schedules_hand_over(*, site: Site, now: dt.datetime) -> None:
    """The setting was turned on: hand over what is scheduled already."""
    scheduled = Content.objects.filter(
        site=site, status=Content.Status.APPROVED, site_status=Content.SiteStatus.SCHEDULED
    ).values_list("pk", flat=True)
    schedules_mark(site_id=site.pk, content_ids=scheduled, now=now)


def schedule_sync(
    *, content_id: int, now: dt.datetime | None = None, publisher: Publisher | None = None
) -> str:
    """Bring what WordPress holds for one due row in line. Returns "scheduled", "withdrawn",
    "in_sync", "retry", "failed" or "skipped" (not due, or claimed by another worker)."""
    now = now or clock.now()
    row = RemoteSchedule.objects.filter(pk=content_id).first()
    if row is None:
        return "skipped"
    mine = RemoteSchedule.objects.filter(pk=content_id, token=row.token)
    claimed = mine.filter(due_at__lte=now).update(
        due_at=now + CLAIM_TIMEOUT, attempts=F("attempts") + 1
    )
    if not claimed:
        return "skipped"
    attempt = row.attempts + 1
    content = Content.objects.select_related("site", "cluster").get(pk=content_id)
    action = sync_action(
        status=content.status,
        site_status=content.site_status,
        slot=content.scheduled_publish_at,
        held=row.held_at,
        remote_id=row.remote_id,
        now=now,
    )
    if action == "none":
        mine.update(due_at=None, attempts=0, error="")
        return "in_sync"
    try:
        target = publisher or get_publisher(content.site)
        if not isinstance(target, SchedulingPublisher):
            raise PublishError(
                "This site's publisher cannot hold scheduled posts.", retryable=False
            )
        if action == "schedule":
            limit = (
                PublishingSettings.objects.filter(site=content.site)
                .values_list("internal_links_max", flat=True)
                .first()
            )
            related = links.prospective_related(content, limit=3 if limit is None else limit)
            held: RemotePost | None = target.schedule(
                article_of(content, related=related), remote_id=row.remote_id
            )
        else:
            held = target.unschedule(article_of(content, date=now), remote_id=row.remote_id)
    except PublishError as exc:
        error, retryable = exc.message, exc.retryable
    except Exception as exc:  # a publisher bug must not leave the row claimed
        log.exception("syncing the WordPress schedule of content %s failed", content_id)
        error, retryable = f"{type(exc).__name__}: {exc}", True
    else:
        return _record(mine, content_id=content_id, action=action, held=held, now=now)
    if retryable and attempt < MAX_SYNC_ATTEMPTS:
        mine.update(error=f"Attempt {attempt} failed: {error}", due_at=now + backoff(attempt))
        return "retry"
    mine.update(error=f"Gave up after {attempt} attempt(s): {error}", due_at=None)
    return "failed"


def _record(
    mine: QuerySet[RemoteSchedule],
    *,
    content_id: int,
    action: str,
    held: RemotePost | None,
    now: dt.datetime,
) -> str:
    if held is not None and held.status != "trash":
        # The post's id is a fact whatever changed meanwhile: a later withdraw needs it.
        RemoteSchedule.objects.filter(pk=content_id).update(remote_id=held.remote_id[:255])
    error = ""
    fields: dict[str, Any]
    if held is None or held.status == "trash":
        fields = {"remote_id": "", "url": "", "held_at": None}
        outcome = "withdrawn"
    elif held.status == "future":
        fields = {"url": held.url[:1000], "held_at": held.date}
        outcome = "scheduled"
    else:
        # Live already (WordPress published it): the slot-time step confirms it.
        fields = {"url": held.url[:1000], "held_at": None}
        outcome = "in_sync"
        if action == "withdraw":
            error = "WordPress had already published it; it is left online."
    mine.update(**fields, due_at=None, attempts=0, error=error, synced_at=now)
    return outcome


def schedule_syncs_due(
    *, now: dt.datetime | None = None, limit: int = 200, site_id: int | None = None
) -> dict[int, str]:
    """Sync every due row (oldest first); what `limit` leaves is due on the next tick."""
    now = now or clock.now()
    due = RemoteSchedule.objects.filter(due_at__lte=now)
    if site_id is not None:
        due = due.filter(site_id=site_id)
    ids = list(due.order_by("due_at", "pk").values_list("pk", flat=True)[:limit])
    return {pk: schedule_sync(content_id=pk, now=now) for pk in ids}


def remote_id_held(content: Content) -> str | None:
    """The id of the article's WordPress post handed over ("" when it may exist but its id
    is unknown), or None when it was never handed over. `content` read with
    `select_related("remote_schedule")` costs no query."""
    row: RemoteSchedule | None = getattr(content, "remote_schedule", None)
    return None if row is None else row.remote_id


def schedule_done(*, content_id: int) -> None:
    """The article is published (inside the transaction that says so): nothing more to hold."""
    RemoteSchedule.objects.filter(pk=content_id).delete()


def schedule_withdraw_now(*, content: Content) -> None:
    """Before `content` is deleted: trash the post WordPress holds for it, at once (the row
    goes with the content). InvalidTransition if WordPress cannot be reached, so the
    article is not deleted while its post would still go live."""
    row = RemoteSchedule.objects.filter(pk=content.pk).first()
    if row is None or not (row.remote_id or row.held_at):
        return
    try:
        target = get_publisher(content.site)
        if isinstance(target, SchedulingPublisher):
            target.unschedule(article_of(content, date=clock.now()), remote_id=row.remote_id)
    except PublishError as exc:
        raise InvalidTransition(
            f"WordPress holds content {content.pk} as a scheduled post and it could not be "
            f"trashed ({exc.message}); try again.",
            status=content.status,
        ) from exc
