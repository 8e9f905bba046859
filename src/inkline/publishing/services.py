"""Publishing writes: scheduling approved content into slots, and publishing what is due.

Invariant 6: every approved item is either scheduled or carries a reason why not.
Invariant 7: slots come from `slots.next_slots` (pure, DST-safe); the database's partial
unique constraint on (site, scheduled_publish_at) backs "no two items share a slot".
Publishing is at-least-once with idempotent publishers: a conditional claim
(`scheduled → publishing`) per item, the remote call outside any transaction, the outcome
written conditionally on the claim.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, DateTimeField, F, Value, When

from inkline import clock
from inkline.accounts.models import Site
from inkline.accounts.services import site_pipeline_changed
from inkline.core.errors import InvalidTransition, ValidationFailed
from inkline.notices.models import EventKind
from inkline.notices.services import event_emit
from inkline.publishing import links, refresh, schedule_sync, selectors
from inkline.publishing.delivery import CLAIM_TIMEOUT, article_of, backoff
from inkline.publishing.models import (
    INTERNAL_LINKS_MAX_LIMIT,
    PublishingSettings,
    SchedulingMode,
)
from inkline.publishing.publishers import Publisher, PublishError, SchedulingPublisher
from inkline.publishing.publishers.factory import get_publisher, publisher_problem
from inkline.publishing.slots import NoSlots, SlotRules, next_slots
from inkline.writer.models import Content

log = logging.getLogger(__name__)

MAX_PUBLISH_ATTEMPTS = 5

REASON_AUTO_PUBLISH_OFF = "Auto-publish is off for this site."


@dataclass
class ScheduleReport:
    scheduled: int = 0
    unscheduled: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        text = f"Scheduled {self.scheduled} approved article(s) for publishing"
        if not self.unscheduled:
            return text + "."
        reasons: dict[str, int] = {}
        for item in self.unscheduled:
            reasons[item["reason"]] = reasons.get(item["reason"], 0) + 1
        return (
            text
            + f"; {len(self.unscheduled)} not scheduled: "
            + " ".join(f"{n} × {reason}" for reason, n in reasons.items())
        )


# --- scheduling ----------------------------------------------------------------------------
def _hold_reason(site: Site, settings: PublishingSettings, rules: SlotRules) -> str:
    if not settings.auto_publish_enabled:
        return REASON_AUTO_PUBLISH_OFF
    problem = publisher_problem(site)
    if problem:
        return problem
    try:
        rules.check()
    except NoSlots as exc:
        return f"Nothing can be scheduled: {exc.reason}."
    return ""


def content_schedule(*, site: Site, now: dt.datetime | None = None) -> ScheduleReport:
    """Place the site's approved, unscheduled content (oldest approval first) into the next
    free slots while fewer than `queue_limit` items are scheduled; record a reason on every
    item left out. A constant number of queries whatever the number of items."""
    now = now or clock.now()
    report = ScheduleReport()
    with transaction.atomic():
        # Serializes schedulers of one site (a row lock on PostgreSQL; SQLite's IMMEDIATE
        # transactions already serialize writers).
        settings, _ = PublishingSettings.objects.select_for_update().get_or_create(site=site)
        queue = selectors.queue_state(site.pk, since=now)
        waiting = queue.waiting
        if not waiting:
            return report
        rules = SlotRules.from_settings(settings)
        reason = _hold_reason(site, settings, rules)
        placed: list[tuple[int, dt.datetime]] = []
        if not reason:
            room = max(0, settings.queue_limit - queue.scheduled)
            take = min(room, len(waiting))
            if take:
                instants = next_slots(
                    rules=rules, tz=site.tz, now=now, count=take, occupied=queue.occupied
                )
                placed = list(zip(waiting[:take], instants, strict=True))
            if take < len(waiting):
                reason = (
                    f"The publishing queue is full ({queue.scheduled + take} of "
                    f"{settings.queue_limit} scheduled); it gets a slot as items are published."
                )
        if placed:
            report.scheduled = _place(site.pk, placed)
            if schedule_sync.hands_off(site, settings):
                schedule_sync.schedules_mark(
                    site_id=site.pk, content_ids=[pk for pk, _ in placed], now=now
                )
        left = waiting[len(placed) :]
        if left:
            # Whatever is still waiting now is exactly what was left out (no id list needed).
            selectors.unscheduled_approved(site.pk).update(unscheduled_reason=reason[:255])
            report.unscheduled = [{"content_id": pk, "reason": reason} for pk in left]
    return report


def _place(site_id: int, placed: list[tuple[int, dt.datetime]]) -> int:
    """Give each item its slot in one UPDATE, whatever their number, if it is still approved
    and waiting. The assignments travel as one JSON parameter joined to the table by id: the
    ORM's way, a CASE with a branch per item, needs a statement per 2,000 items (parameter
    limits) and time in n² (1.8 s for 10,000 items on SQLite). The WHERE is
    `selectors.waiting_q` in SQL."""
    ops = connection.ops
    t = ops.quote_name(Content._meta.db_table)
    if connection.vendor == "postgresql":
        slots = {str(pk): at.isoformat() for pk, at in placed}
        source, pk, at = "jsonb_each_text(%s::jsonb)", "s.key::bigint", "s.value::timestamptz"
        keep = ""
    else:
        # Datetimes as Django stores them on SQLite: the text of the naive UTC value (what
        # `adapt_datetimefield_value` gives, at a third of its cost). The unary + keeps SQLite
        # from driving the join by the site's index, which would scan the JSON once per row.
        slots = {str(pk): str(at.astimezone(dt.UTC).replace(tzinfo=None)) for pk, at in placed}
        source, pk, at, keep = "json_each(%s)", "CAST(s.key AS INTEGER)", "s.value", "+"
    # Identifiers from the model, every value a parameter.
    sql = (
        f"UPDATE {t} SET site_status = %s, scheduled_publish_at = {at}, "  # noqa: S608
        "unscheduled_reason = '', publish_attempts = 0, publish_error = '', "
        f"next_publish_attempt_at = NULL FROM {source} AS s WHERE {t}.id = {pk} "
        f"AND {keep}{t}.site_id = %s AND {keep}{t}.status = %s "
        f"AND {keep}{t}.site_status = %s AND {t}.scheduled_publish_at IS NULL"
    )
    params: list[str | int] = [
        Content.SiteStatus.SCHEDULED,
        json.dumps(slots),
        site_id,
        Content.Status.APPROVED,
        Content.SiteStatus.NOT_PUBLISHED,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def sites_schedule(*, now: dt.datetime | None = None) -> int:
    """The beat's scheduling tick: schedule every site with approved, unscheduled content."""
    total = 0
    for site in selectors.sites_with_unscheduled():
        total += content_schedule(site=site, now=now).scheduled
    return total


def content_delete(*, content: Content, now: dt.datetime | None = None) -> set[int]:
    """Delete an article; the other published articles of its cluster lose their link to it
    (their blocks are pushed again on the next publish tick: the static files and the
    WordPress posts). The article itself stays wherever it was published. Returns the ids of
    the articles marked for a push."""
    schedule_sync.schedule_withdraw_now(content=content)
    with transaction.atomic():
        limit = selectors.settings_of(content.site).internal_links_max
        marked = links.content_removed(content=content, limit=limit, now=now or clock.now())
    site_pipeline_changed(site_id=content.site_id)
    return marked


def content_unschedule(
    *, content: Content, reason: str = "Taken out of the schedule by a user."
) -> Content:
    """scheduled → back to review (approved again, it is scheduled again); its slot is free
    for the next item right away."""
    with transaction.atomic():
        updated = Content.objects.filter(
            pk=content.pk, status=Content.Status.APPROVED, site_status=Content.SiteStatus.SCHEDULED
        ).update(
            status=Content.Status.REVIEW,
            site_status=Content.SiteStatus.NOT_PUBLISHED,
            scheduled_publish_at=None,
            unscheduled_reason=reason[:255],
            next_publish_attempt_at=None,
        )
        if not updated:
            current = Content.objects.values_list("site_status", flat=True).get(pk=content.pk)
            raise InvalidTransition(
                f"Content {content.pk} is not scheduled ({current}).", status=current
            )
        schedule_sync.schedule_changed(content=content, now=clock.now())
        site_pipeline_changed(site_id=content.site_id)
    content.refresh_from_db()
    content_schedule(site=content.site)
    return content


def content_publish_retry(*, content: Content) -> Content:
    """failed → scheduled again, due at once (its attempts start over)."""
    now = clock.now()
    updated = Content.objects.filter(
        pk=content.pk, status=Content.Status.APPROVED, site_status=Content.SiteStatus.FAILED
    ).update(
        site_status=Content.SiteStatus.SCHEDULED,
        scheduled_publish_at=Case(
            When(scheduled_publish_at__isnull=True, then=Value(now)),
            default=F("scheduled_publish_at"),
            output_field=DateTimeField(),
        ),
        publish_attempts=0,
        next_publish_attempt_at=None,
    )
    if not updated:
        raise InvalidTransition(f"Content {content.pk} has not failed to publish.")
    content.refresh_from_db()
    return content


# --- review decisions: approval places the article in the schedule ------------------
def content_approve(*, content: Content, by: str = "user") -> Content:
    """review/rejected → approved, then placed into a publishing slot right away (or given
    the reason it cannot be)."""
    with transaction.atomic():
        content = Content.objects.select_for_update().get(pk=content.pk)
        content.check_transition(Content.Status.APPROVED)
        content.status = Content.Status.APPROVED
        content.approved_at = clock.now()
        content.save(update_fields=["status", "approved_at"])
        site_pipeline_changed(site_id=content.site_id)
    content_schedule(site=content.site)
    content.refresh_from_db()
    return content


def content_reject(*, content: Content, by: str = "user", reason: str = "") -> Content:
    """review/approved → rejected. A scheduled item gives its slot back, to the next item
    waiting for one; an item being published right now cannot be rejected."""
    with transaction.atomic():
        content = Content.objects.select_for_update().get(pk=content.pk)
        content.check_transition(Content.Status.REJECTED)
        if content.site_status == Content.SiteStatus.PUBLISHING:
            raise InvalidTransition(
                f"Content {content.pk} is being published right now.", status=content.status
            )
        freed = content.site_status == Content.SiteStatus.SCHEDULED
        content.status = Content.Status.REJECTED
        content.last_error = reason
        if freed:
            content.site_status = Content.SiteStatus.NOT_PUBLISHED
            content.scheduled_publish_at = None
        content.unscheduled_reason = ""
        content.save(
            update_fields=[
                "status",
                "last_error",
                "site_status",
                "scheduled_publish_at",
                "unscheduled_reason",
            ]
        )
        if freed:
            schedule_sync.schedule_changed(content=content, now=clock.now())
        site_pipeline_changed(site_id=content.site_id)
    if freed:
        content_schedule(site=content.site)
    return content


# --- publishing ----------------------------------------------------------------------------
def content_publish(
    *, content_id: int, now: dt.datetime | None = None, publisher: Publisher | None = None
) -> str:
    """Publish one due item. Returns "published", "retry" (failed, due again after a backoff),
    "failed" (gave up: visible, retryable by a user) or "skipped" (not due, or claimed by
    another worker).

    Internal links (`links`): the article is published with the links it is about to get;
    marking it published and deciding its cluster's links commit together, and the siblings
    whose block changed are pushed by `links.link_syncs_due` (the same tick)."""
    now = now or clock.now()
    claimed = (
        Content.objects.filter(pk=content_id, status=Content.Status.APPROVED)
        .filter(selectors.due_q(now))
        .update(
            site_status=Content.SiteStatus.PUBLISHING,
            publish_attempts=F("publish_attempts") + 1,
            next_publish_attempt_at=now + CLAIM_TIMEOUT,
        )
    )
    if not claimed:
        return "skipped"
    content = Content.objects.select_related("site", "cluster", "remote_schedule").get(
        pk=content_id
    )
    attempt = content.publish_attempts
    mine = Content.objects.filter(
        pk=content_id, site_status=Content.SiteStatus.PUBLISHING, publish_attempts=attempt
    )
    limit = selectors.settings_of(content.site).internal_links_max
    # Handed to WordPress as a scheduled post: confirm WordPress published it, or publish it.
    handed = schedule_sync.remote_id_held(content)
    try:
        related = links.prospective_related(content, limit=limit)
        article = article_of(content, related=related)
        target = publisher or get_publisher(content.site)
        if handed is not None and isinstance(target, SchedulingPublisher):
            published = target.publish_scheduled(article, remote_id=handed)
        else:
            published = target.publish(article)
    except PublishError as exc:
        error, retryable = exc.message, exc.retryable
    except Exception as exc:  # a publisher bug must not leave the item claimed
        log.exception("publishing content %s failed", content_id)
        error, retryable = f"{type(exc).__name__}: {exc}", True
    else:
        finished = published.at or max(now, clock.now())
        assert content.scheduled_publish_at is not None
        lateness = max(0, int((finished - content.scheduled_publish_at).total_seconds()))
        with transaction.atomic():
            links.lock_cluster(content.cluster_id)
            done = mine.update(
                status=Content.Status.PUBLISHED,
                site_status=Content.SiteStatus.PUBLISHED,
                published_at=finished,
                published_url=published.url[:1000],
                remote_id=published.remote_id[:255],
                lateness_seconds=lateness,
                # Published, with what went less than fully (e.g. terms left out), if any.
                publish_error=" ".join(published.notes),
                next_publish_attempt_at=None,
            )
            if done:
                # A post handed over was written with the links of its scheduling: its block
                # is pushed again.
                links.content_linked(
                    content=content,
                    limit=limit,
                    pushed=tuple(link.content_id for link in related),
                    republished=attempt > 1 or handed is not None,
                    now=now,
                )
                if handed is not None:
                    schedule_sync.schedule_done(content_id=content_id)
                _article_notice(
                    content,
                    EventKind.ARTICLE_PUBLISHED,
                    url=published.url[:1000],
                    published_at=finished,
                    message=f"{content.title!r} was published on {content.site.name}: "
                    f"{published.url}",
                )
        return "published"
    if retryable and attempt < MAX_PUBLISH_ATTEMPTS:
        mine.update(
            site_status=Content.SiteStatus.SCHEDULED,
            publish_error=f"Attempt {attempt} failed: {error}",
            next_publish_attempt_at=now + backoff(attempt),
        )
        return "retry"
    gave_up = f"Gave up after {attempt} attempt(s): {error}"
    with transaction.atomic():
        if mine.update(
            site_status=Content.SiteStatus.FAILED,
            publish_error=gave_up,
            next_publish_attempt_at=None,
        ):
            _article_notice(
                content,
                EventKind.ARTICLE_FAILED,
                error=gave_up,
                attempts=attempt,
                message=f"{content.title!r} could not be published on {content.site.name}. "
                f"{gave_up} Retry it from the publishing queue once the cause is fixed.",
            )
    return "failed"


def _article_notice(content: Content, kind: EventKind, **data: Any) -> None:
    """The webhook (and email) notice of an article published or given up on, in the
    transaction that records it."""
    site = content.site
    event_emit(
        account_id=site.account_id,
        kind=kind,
        payload={
            "content_id": content.pk,
            "title": content.title,
            "site": {"id": site.pk, "name": site.name},
            **data,
        },
    )


@dataclass
class PublishReport:
    outcomes: dict[int, str] = field(default_factory=dict)
    # content id → outcome of pushing its changed internal links (`links.link_sync`)
    link_updates: dict[int, str] = field(default_factory=dict)
    # content id → outcome of syncing its post handed to WordPress (`schedule_sync`)
    schedule_syncs: dict[int, str] = field(default_factory=dict)
    # revision id → outcome of pushing an approved refresh in place (`refresh`)
    revision_pushes: dict[int, str] = field(default_factory=dict)

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes.values() if o == outcome)


def content_publish_due(
    *, now: dt.datetime | None = None, limit: int = 200, site_id: int | None = None
) -> PublishReport:
    """The beat's publish tick: publish every due item (overdue ones after downtime too),
    oldest slot first, one claim per item; then push the internal links that changed (those
    publications' siblings, and earlier pushes due again) and the approved refreshes. What
    `limit` leaves is due on the next tick."""
    now = now or clock.now()
    report = PublishReport()
    # First what WordPress should hold (new slots, moved or withdrawn posts).
    report.schedule_syncs = schedule_sync.schedule_syncs_due(now=now, limit=limit, site_id=site_id)
    for content_id in selectors.due_ids(now, limit=limit, site_id=site_id):
        report.outcomes[content_id] = content_publish(content_id=content_id, now=now)
    report.link_updates = links.link_syncs_due(now=now, limit=limit, site_id=site_id)
    report.revision_pushes = refresh.revision_pushes_due(now=now, limit=limit, site_id=site_id)
    return report


# --- re-placing the queue under new settings ----------------------------------------------
@dataclass(frozen=True)
class Move:
    """A scheduled article's slot under the settings in force (`old`) and under new ones."""

    content_id: int
    title: str
    old: dt.datetime
    new: dt.datetime


@dataclass(frozen=True)
class Replacement:
    moves: list[Move]
    kept: int  # scheduled articles that keep their slot (or cannot move: see `reason`)
    reason: str = ""  # why nothing moves when the new settings allow no slot

    def summary(self) -> str:
        if self.reason:
            return self.reason
        n = len(self.moves)
        return f"{n} scheduled article{'' if n == 1 else 's'} move{'s' if n == 1 else ''}."


def _movable(site_id: int, now: dt.datetime) -> list[tuple[int, str, dt.datetime]]:
    """Scheduled articles not yet due and never tried, soonest slot first: what new settings
    may move (an article due, being published or waiting for a retry keeps its slot)."""
    rows = (
        Content.objects.filter(
            site_id=site_id,
            status=Content.Status.APPROVED,
            site_status=Content.SiteStatus.SCHEDULED,
            scheduled_publish_at__gt=now,
            publish_attempts=0,
            next_publish_attempt_at__isnull=True,
        )
        .order_by("scheduled_publish_at", "id")
        .values_list("id", "title", "scheduled_publish_at")
    )
    return [(pk, title, at) for pk, title, at in rows if at is not None]


def replacement_plan(
    *, site: Site, settings: PublishingSettings, now: dt.datetime | None = None
) -> Replacement:
    """Where the site's scheduled articles would go under `settings` (saved or not): in
    their order, each into the next free slot of the new rules, around the slots of articles
    that cannot move. Writes nothing; `replace_scheduled` applies it."""
    now = now or clock.now()
    movable = _movable(site.pk, now)
    if not movable:
        return Replacement(moves=[], kept=0)
    mine = {at for _, _, at in movable}
    fixed = selectors.occupied_instants(site.pk, since=now) - mine
    rules = SlotRules.from_settings(settings)
    try:
        slots = next_slots(rules=rules, tz=site.tz, now=now, count=len(movable), occupied=fixed)
    except NoSlots as exc:
        return Replacement(
            moves=[],
            kept=len(movable),
            reason=f"Scheduled articles keep their times: the new settings allow no slot "
            f"({exc.reason}).",
        )
    moves = [
        Move(pk, title, old, new)
        for (pk, title, old), new in zip(movable, slots, strict=True)
        if new != old
    ]
    return Replacement(moves=moves, kept=len(movable) - len(moves))


def content_reschedule(*, content_id: int, at: dt.datetime) -> bool:
    """Move one scheduled, unpublished article to the instant `at` (a free slot: the
    database refuses a taken one). False when it is no longer scheduled. The one path every
    move of a scheduled article takes (`replace_scheduled` included); the caller tells a
    publisher that keeps a copy of the schedule (`schedule_sync.schedules_moved`)."""
    return bool(
        Content.objects.filter(
            pk=content_id,
            status=Content.Status.APPROVED,
            site_status=Content.SiteStatus.SCHEDULED,
        ).update(scheduled_publish_at=at)
    )


def replace_scheduled(*, site: Site, now: dt.datetime | None = None) -> Replacement:
    """Re-place the site's scheduled articles under its publishing settings as stored (after
    a change of mode, days, slots or stagger): the moves of `replacement_plan`, applied in
    one transaction under the settings lock, each through `content_reschedule`. The moving
    articles leave their slots first, so two that swap slots never collide. Then approved
    articles still waiting get the slots left (`content_schedule`)."""
    now = now or clock.now()
    with transaction.atomic():
        settings, _ = PublishingSettings.objects.select_for_update().get_or_create(site=site)
        plan = replacement_plan(site=site, settings=settings, now=now)
        if plan.moves:
            Content.objects.filter(
                pk__in=[m.content_id for m in plan.moves],
                site_status=Content.SiteStatus.SCHEDULED,
            ).update(scheduled_publish_at=None)
            for move in plan.moves:
                content_reschedule(content_id=move.content_id, at=move.new)
            # Posts WordPress holds for the moved articles get their new dates (issue 18).
            schedule_sync.schedules_moved(
                site=site,
                settings=settings,
                content_ids=[m.content_id for m in plan.moves],
                now=now,
            )
            site_pipeline_changed(site_id=site.pk)
    content_schedule(site=site, now=now)
    return plan


# --- settings ------------------------------------------------------------------------------
SLOT_FIELDS = frozenset(
    {
        "scheduling_mode",
        "publish_days",
        "publish_time_slots",
        "stagger_start_time",
        "stagger_end_time",
        "stagger_interval_minutes",
    }
)


def publishing_settings_update(*, site: Site, data: dict[str, Any]) -> PublishingSettings:
    """Apply validated changes (from the API serializer or the settings form) to the site's
    publishing settings. The row is read again under a lock, the rules that tie fields
    together (stagger window, slots in time-slot mode) are checked on the result, and only
    the fields given are written, in the same transaction: concurrent changes of other
    fields all take effect, and two changes each valid alone but not together cannot both
    be stored (the second is a ValidationFailed)."""
    with transaction.atomic():
        settings, _ = PublishingSettings.objects.select_for_update(no_key=True).get_or_create(
            site=site
        )
        links_before = settings.internal_links_max
        handed_before = schedule_sync.hands_off(site, settings)
        for name, value in data.items():
            setattr(settings, name, value)
        errors = _settings_errors(settings, sent=data.keys())
        if errors:
            raise ValidationFailed(errors)
        if data:
            settings.save(update_fields=list(data))
        if settings.internal_links_max != links_before:
            # Every cluster's links follow the new limit (under the settings lock, so the
            # last limit stored is the last applied); the changed articles are pushed by the
            # next publish tick.
            links.links_relink_site(site=site, limit=settings.internal_links_max, now=clock.now())
        if schedule_sync.hands_off(site, settings) and not handed_before:
            # Turned on: what is scheduled already is handed over too. (Turned off, the posts
            # WordPress holds stay there; each is confirmed or published at its slot.)
            schedule_sync.schedules_hand_over(site=site, now=clock.now())
    if SLOT_FIELDS.intersection(data):
        # Articles already scheduled follow the new rules (issue 20): nothing keeps a slot
        # the settings no longer have.
        replace_scheduled(site=site)
    return settings


def _settings_errors(settings: PublishingSettings, *, sent: Any) -> dict[str, list[str]]:
    """The rules between fields, each error under a field that was sent when one was."""

    def field(*names: str) -> str:
        return next((name for name in names if name in sent), names[0])

    errors: dict[str, list[str]] = {}
    if settings.stagger_end_time <= settings.stagger_start_time:
        name = field("stagger_end_time", "stagger_start_time")
        errors[name] = [
            f"stagger_end_time must be after stagger_start_time (they would be "
            f"{settings.stagger_start_time:%H:%M}–{settings.stagger_end_time:%H:%M})."
        ]
    if settings.scheduling_mode == SchedulingMode.TIME_SLOTS and not settings.publish_time_slots:
        name = field("publish_time_slots", "scheduling_mode")
        errors[name] = ["Time-slot mode needs at least one time slot."]
    if not 0 <= settings.internal_links_max <= INTERNAL_LINKS_MAX_LIMIT:
        errors["internal_links_max"] = [f"Must be from 0 to {INTERNAL_LINKS_MAX_LIMIT}."]
    return errors
