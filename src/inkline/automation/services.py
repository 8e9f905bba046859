"""Run lifecycle writes: start, pause, resume, cancel.

Invariant 1 lives in the database: starting is an INSERT that the partial unique constraint
`one_active_run_per_site` refuses while the site has a queued, running or paused run. Cancel,
complete and fail leave the active set, so nothing can stay locked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce

from inkline import clock
from inkline.accounts.models import Site
from inkline.accounts.services import site_pipeline_changed
from inkline.ai.checking import connection_check
from inkline.ai.types import AICheck
from inkline.automation import schedule, selectors
from inkline.automation.events import event_record, run_notice
from inkline.automation.models import STAGE_NAMES, AutomationConfig, AutomationRun, RunStatus
from inkline.billing.services import holds_release_for_run
from inkline.celery import app as celery_app
from inkline.core.errors import InvalidTransition, NotFound, RunActive
from inkline.notices.models import EventKind

EXECUTE_RUN = "inkline.automation.execute_run"  # automation.tasks.execute_run


def run_wake(run_id: str) -> None:
    """Wake a worker for this run (the database stays the queue of record: if the message is
    lost, the reconciler enqueues the run again). The task is looked up by name: its module
    (`automation.tasks`) calls the engine, which calls these services."""
    celery_app.tasks[EXECUTE_RUN].delay(run_id)


def config_next_run(config: AutomationConfig, *, now: dt.datetime) -> dt.datetime:
    """The config's first slot strictly after `now`, in UTC."""
    return schedule.next_run_at(
        frequency=config.frequency,
        scheduled_time=config.scheduled_time,
        timezone=config.site.timezone,
        day_of_week=config.day_of_week,
        day_of_month=config.day_of_month,
        now=now,
    )


def config_for(site: Site) -> AutomationConfig:
    config, _ = AutomationConfig.objects.get_or_create(site=site)
    return config


START_ATTEMPTS = 5  # inserts of a new run, each refused because a run was active
SCHEDULE_FIELDS = ("is_enabled", "frequency", "scheduled_time", "day_of_week", "day_of_month")


def config_update(*, site: Site, data: Mapping[str, Any]) -> AutomationConfig:
    """Change a site's automation settings (already validated). When the schedule changes,
    `next_run_at` is recomputed (DST-safe, see `schedule`); enabling a schedule clears its
    failure streak; disabling it clears `next_run_at`.

    The row is read again under a lock and only the columns given (and those they decide)
    are written: concurrent changes of other settings, and the scheduler's own writes
    (`next_run_at`, the failure streak), all take effect."""
    with transaction.atomic():
        # Lock order: the site (its time zone decides `next_run_at`; `site_pipeline_changed`
        # writes it), then the config, as `sites.site_update` does.
        current_site = Site.objects.select_for_update(no_key=True).filter(pk=site.pk).first()
        if current_site is None:
            raise NotFound("No such site.")
        config, _ = AutomationConfig.objects.select_for_update(no_key=True).get_or_create(
            site=current_site
        )
        config.site = current_site
        was_enabled = config.is_enabled
        old_schedule = [getattr(config, name) for name in SCHEDULE_FIELDS]
        written = set(data)
        for name, value in data.items():
            setattr(config, name, value)
        if not config.is_enabled:
            config.next_run_at = None
            written.add("next_run_at")
        elif (
            not was_enabled
            or config.next_run_at is None
            or old_schedule != [getattr(config, name) for name in SCHEDULE_FIELDS]
        ):
            config.next_run_at = config_next_run(config, now=clock.now())
            written.add("next_run_at")
        if config.is_enabled and not was_enabled:
            config.consecutive_failures = 0
            written.add("consecutive_failures")
        if written:
            config.save(update_fields=written)
        site_pipeline_changed(site_id=site.pk)  # limits and stages on/off: pages show them
    return config


def config_reschedule(*, site: Site) -> None:
    """Recompute `next_run_at` after the site's timezone changed: the schedule is a local
    time of day, so its next UTC instant moves with the zone. Called in the transaction that
    changed the zone, holding the site's lock; the config is read under its own."""
    config = (
        AutomationConfig.objects.select_for_update(no_key=True)
        .filter(site=site, is_enabled=True)
        .first()
    )
    if config is None:
        return
    config.site = site
    config.next_run_at = config_next_run(config, now=clock.now())
    config.save(update_fields=["next_run_at"])


def snapshot(site_id: int) -> dict[str, int]:
    pending = selectors.pipeline_pending(site_id)
    snap = {f"stage_{stage}": n for stage, n in pending.items()}
    snap["total_initial_items"] = sum(pending.values())
    return snap


def run_start(
    *,
    site: Site,
    trigger: str = AutomationRun.Trigger.MANUAL,
    by: str = "user",
    wake: bool = True,
) -> AutomationRun:
    """Queue a new run; RunActive (409, naming the active run) when the site already has
    one. The active run may end between the refused insert and its lookup: the insert is then
    tried again, so the answer is always a new run or a 409 with a real `run_id`."""
    for _ in range(START_ATTEMPTS):
        now = clock.now()
        try:
            with transaction.atomic():
                run = AutomationRun.objects.create(
                    site=site,
                    account_id=site.account_id,
                    trigger_type=trigger,
                    queued_at=now,
                    last_enqueued_at=now,
                    initial_snapshot=snapshot(site.pk),
                )
            break
        except IntegrityError:
            active = selectors.active_run(site.pk)
            if active is not None:
                raise RunActive(
                    f"Site '{site.name}' already has an active run ({active.run_id}, "
                    f"{active.status}).",
                    run_id=active.run_id,
                ) from None
    else:  # each lookup missed a run that each insert met: answer with the latest one
        latest = AutomationRun.objects.filter(site=site).order_by("-queued_at", "-id").first()
        raise RunActive(
            f"Site '{site.name}' is starting and ending runs too fast; try again.",
            run_id=latest.run_id if latest else "",
        )
    total = run.initial_snapshot["total_initial_items"]
    event_record(
        site_id=site.pk,
        run=run,
        code="started",
        message=f"Run queued ({trigger}, by {by}); {total} items pending across the stages.",
    )
    if wake:
        transaction.on_commit(lambda: run_wake(run.run_id))
    return run


def _transition(
    *,
    run: AutomationRun,
    to: str,
    allowed_from: tuple[str, ...],
    fields: Callable[[], dict[str, object]],
) -> AutomationRun:
    """Move a run to `to` with a conditional UPDATE, so a concurrent change cannot be lost."""
    run.refresh_from_db()
    if run.status not in allowed_from:
        raise InvalidTransition(
            f"Run {run.run_id} is {run.status}; it cannot become {to}.",
            status=run.status,
            run_id=run.run_id,
        )
    values = {"status": to, **fields()}
    updated = AutomationRun.objects.filter(pk=run.pk, status=run.status).update(**values)
    if not updated:  # changed under us: answer from the fresh state
        return _transition(run=run, to=to, allowed_from=allowed_from, fields=fields)
    run.refresh_from_db()
    return run


def run_pause(*, run: AutomationRun, by: str = "user") -> AutomationRun:
    """Pause: the worker stops before its next item and releases the lease."""
    run = _transition(
        run=run,
        to=RunStatus.PAUSED,
        allowed_from=(RunStatus.QUEUED, RunStatus.RUNNING),
        fields=lambda: {"paused_at": clock.now(), "stopped_reason": f"Paused by {by}."},
    )
    event_record(
        site_id=run.site_id,
        run=run,
        stage=run.current_stage,
        code="paused",
        message=f"Automation paused by {by} at stage {run.current_stage}.",
    )
    return run


def run_resume(*, run: AutomationRun, by: str = "user", wake: bool = True) -> AutomationRun:
    """Resume after any pause length: back to `running`; a worker takes a fresh lease."""
    run = _transition(
        run=run,
        to=RunStatus.RUNNING,
        allowed_from=(RunStatus.PAUSED,),
        fields=lambda: {
            "started_at": Coalesce(F("started_at"), Value(clock.now())),
            "resumed_at": clock.now(),
            "stopped_reason": "",
            "last_enqueued_at": clock.now(),
        },
    )
    event_record(
        site_id=run.site_id,
        run=run,
        stage=run.current_stage,
        code="resumed",
        message=f"Automation resumed by {by} at stage {run.current_stage}.",
    )
    if wake:
        transaction.on_commit(lambda: run_wake(run.run_id))
    return run


def stage_left_message(number: int, result: Mapping[str, Any], *, how: str) -> str:
    """The event of a stage left by a pause or a cancel, with its figures so far."""
    figures = (
        f"{result.get('processed', 0)} processed, {result.get('created', 0)} created, "
        f"{result.get('failed', 0)} failed, {result.get('credits_used', 0)} credits"
    )
    if how == RunStatus.CANCELLED:
        return f"Stage {number} ({STAGE_NAMES[number]}) cancelled: {figures}."
    return (
        f"Stage {number} ({STAGE_NAMES[number]}) paused: {figures} so far; "
        "it goes on when the run is resumed."
    )


def run_cancel(*, run: AutomationRun, by: str = "user") -> AutomationRun:
    """Cancel: keeps what was produced; the site is free for a new run at once."""
    with transaction.atomic():
        run = _transition(
            run=run,
            to=RunStatus.CANCELLED,
            allowed_from=(RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.PAUSED),
            fields=lambda: {
                "cancelled_at": clock.now(),
                "completed_at": clock.now(),
                "stopped_reason": f"Cancelled by {by} at stage {run.current_stage}.",
            },
        )
        run_notice(run, EventKind.RUN_CANCELLED)
    event_record(
        site_id=run.site_id,
        run=run,
        stage=run.current_stage,
        code="cancelled",
        message=f"Automation cancelled by {by} at stage {run.current_stage}.",
    )
    if not run.lease_owner or (run.lease_expires_at and run.lease_expires_at < clock.now()):
        # No live worker will settle them: give back the credits a lost worker still held.
        # (A live worker finishes its calls in flight and settles their holds itself, and
        # ends the stage it was in: see `engine.Slice.leave_stage`.)
        holds_release_for_run(run_pk=run.pk, reason="run cancelled")
        _stage_cancelled(run)
    return run


def _stage_cancelled(run: AutomationRun) -> None:
    """A run cancelled with no live worker (queued, paused, or its worker lost): the stage
    it had started ends as cancelled, with its event."""
    number = run.current_stage
    result = (run.stage_results or {}).get(str(number))
    if number > 7 or result is None or result.get("status"):
        return
    result["status"] = "cancelled"
    if AutomationRun.objects.filter(
        pk=run.pk, lease_epoch=run.lease_epoch, status=RunStatus.CANCELLED
    ).update(stage_results=run.stage_results):
        event_record(
            site_id=run.site_id,
            run=run,
            stage=number,
            code="stage_end",
            message=stage_left_message(number, result, how=RunStatus.CANCELLED),
        )


def ai_check_record(*, site_id: int, check: AICheck) -> dict[str, Any]:
    """Store an AI connection check as the site's latest (what its endpoint can do); returns
    the stored document: the check's fields and "checked_at"."""
    document = {**check.as_dict(), "checked_at": clock.now().isoformat()}
    config, _ = AutomationConfig.objects.get_or_create(site_id=site_id)
    AutomationConfig.objects.filter(pk=config.pk).update(ai_check=document)
    site_pipeline_changed(site_id=site_id)  # stage 7's pending set may change with it
    return document


def ai_check_run(*, site_id: int) -> dict[str, Any]:
    """Check the configured AI endpoint now (bounded by INKLINE_AI_CHECK_TIMEOUT) and store
    the answer as the site's latest; returns the stored document."""
    return ai_check_record(site_id=site_id, check=connection_check())
