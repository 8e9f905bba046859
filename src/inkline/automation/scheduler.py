"""The beat tick's automation work: start due scheduled runs and recover lost runs.

Due times live in the database as UTC instants (`AutomationConfig.next_run_at`), never as
Celery ETAs, so a tick that runs late, twice, or after downtime does the right thing: a slot is
claimed with a conditional UPDATE that moves `next_run_at` to the first slot after *now*, so
any number of missed slots make at most one catch-up run.

The reconciler makes the broker's job "wake a worker" only (invariant 2): every executable run
without a live lease is re-enqueued; a run whose worker died (its lease expired) counts a
recovery, and after `INKLINE_MAX_RECOVERIES` it fails with a reason a user understands.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from functools import partial
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from inkline import clock
from inkline.automation.events import event_record, run_notice
from inkline.automation.models import (
    EXECUTABLE_STATUSES,
    AutomationConfig,
    AutomationRun,
    RunEvent,
    RunStatus,
)
from inkline.automation.services import config_next_run, run_start, run_wake
from inkline.billing.services import holds_release_for_run
from inkline.core.errors import RunActive
from inkline.notices.models import EventKind
from inkline.notices.services import event_emit

log = logging.getLogger(__name__)

# Consecutive failed scheduled runs after which a schedule switches itself off.
MAX_SCHEDULED_FAILURES = 3


def _local(instant: dt.datetime, timezone: str) -> str:
    return instant.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")


@dataclass
class TickReport:
    started: list[str] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    disabled: list[int] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str] | list[int]]:
        return {k: list(v) for k, v in self.__dict__.items()}


# --- scheduled runs -------------------------------------------------------------------------
def schedules_record_outcomes(*, report: TickReport | None = None) -> TickReport:
    """Count each ended scheduled run once in its schedule's failure streak: a failure adds
    one, a completion resets it; after MAX_SCHEDULED_FAILURES the schedule turns itself off."""
    report = report or TickReport()
    ended = AutomationRun.objects.filter(
        trigger_type=AutomationRun.Trigger.SCHEDULED,
        status__in=[RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED],
        schedule_outcome_recorded=False,
    ).order_by("queued_at", "id")
    for run in ended:
        with transaction.atomic():
            if not AutomationRun.objects.filter(pk=run.pk, schedule_outcome_recorded=False).update(
                schedule_outcome_recorded=True
            ):
                continue
            configs = AutomationConfig.objects.filter(site_id=run.site_id)
            if run.status == RunStatus.COMPLETED:
                configs.update(consecutive_failures=0)
                continue
            if run.status != RunStatus.FAILED:
                continue  # a cancel is the user's decision, not a failure of the schedule
            configs.update(consecutive_failures=F("consecutive_failures") + 1)
            disabled = configs.filter(
                is_enabled=True, consecutive_failures__gte=MAX_SCHEDULED_FAILURES
            ).update(is_enabled=False, next_run_at=None)
            if disabled:
                report.disabled.append(run.site_id)
                message = (
                    f"The automation schedule was turned off after "
                    f"{MAX_SCHEDULED_FAILURES} scheduled runs failed in a row (the last: "
                    f"{run.run_id}). Fix the cause, then enable the schedule again."
                )
                event_record(
                    site_id=run.site_id,
                    level=RunEvent.Level.ERROR,
                    code="schedule_disabled",
                    message=message,
                )
                site = run.site
                event_emit(
                    account_id=site.account_id,
                    kind=EventKind.SCHEDULE_DISABLED,
                    payload={
                        "site": {"id": site.pk, "name": site.name},
                        "last_run_id": run.run_id,
                        "consecutive_failures": MAX_SCHEDULED_FAILURES,
                        "message": f"{site.name}: {message}",
                    },
                )
    return report


def schedules_start_due(
    *, now: dt.datetime | None = None, wake: bool = True, report: TickReport | None = None
) -> TickReport:
    """Start a scheduled run for every enabled schedule that is due, or skip the slot with an
    event when the site already has an active run (a paused one included)."""
    now = now or clock.now()
    report = report or TickReport()
    configs = AutomationConfig.objects.filter(is_enabled=True).filter(
        Q(next_run_at__lte=now) | Q(next_run_at__isnull=True)
    )
    for config in configs.select_related("site").order_by("next_run_at", "id"):
        due = config.next_run_at
        following = config_next_run(config, now=now)
        claimed = AutomationConfig.objects.filter(
            pk=config.pk, is_enabled=True, next_run_at=due
        ).update(next_run_at=following)
        if not claimed or due is None:
            continue  # another tick took this slot, or the schedule was only just enabled
        site = config.site
        tz = site.timezone
        missed = now - due > dt.timedelta(seconds=2 * settings.INKLINE_TICK_SECONDS)
        by = f"the schedule ({_local(due, tz)}" + (", catch-up after downtime)" if missed else ")")
        try:
            run = run_start(site=site, trigger=AutomationRun.Trigger.SCHEDULED, by=by, wake=wake)
        except RunActive as exc:
            report.skipped.append(site.pk)
            event_record(
                site_id=site.pk,
                level=RunEvent.Level.WARNING,
                code="schedule_skipped",
                message=(
                    f"The scheduled run of {_local(due, tz)} was skipped: run "
                    f"{exc.extra.get('run_id')} is still active (queued, running or paused). "
                    f"Next scheduled run: {_local(following, tz)}."
                ),
            )
            continue
        except Exception:
            log.exception("site %s: the scheduled run could not start", site.pk)
            event_record(
                site_id=site.pk,
                level=RunEvent.Level.ERROR,
                code="schedule_error",
                message=f"The scheduled run of {_local(due, tz)} could not start because of "
                "an internal error; the next slot will be tried as usual.",
            )
            continue
        report.started.append(run.run_id)
    return report


# --- recovery -------------------------------------------------------------------------------
def _fail_lost(run: AutomationRun, *, now: dt.datetime) -> bool:
    reason = (
        f"The run stopped: the worker executing it was lost {run.recoveries + 1} times "
        f"(more than the {settings.INKLINE_MAX_RECOVERIES} recoveries allowed). What was "
        f"produced is kept; start a new run to continue."
    )
    with transaction.atomic():
        failed = AutomationRun.objects.filter(
            pk=run.pk, lease_epoch=run.lease_epoch, status__in=EXECUTABLE_STATUSES
        ).update(
            status=RunStatus.FAILED,
            failed_at=now,
            completed_at=now,
            stopped_reason=reason,
            error_message=f"Lease expired at {run.lease_expires_at:%Y-%m-%d %H:%M:%S} UTC "
            f"without a heartbeat from {run.lease_owner or 'a worker'}.",
            recoveries=F("recoveries") + 1,
            lease_epoch=F("lease_epoch") + 1,  # fences the lost worker should it come back
            lease_owner="",
            lease_expires_at=None,
        )
        if not failed:
            return False
        run.refresh_from_db()
        run_notice(run, EventKind.RUN_FAILED)
        holds_release_for_run(run_pk=run.pk, reason="run failed: its worker was lost")
        event_record(
            site_id=run.site_id,
            run=run,
            stage=run.current_stage,
            level=RunEvent.Level.ERROR,
            code="failed",
            message=reason,
        )
    return True


def runs_reconcile(
    *, now: dt.datetime | None = None, wake: bool = True, report: TickReport | None = None
) -> TickReport:
    """Re-enqueue every queued or running run without a live lease."""
    now = now or clock.now()
    report = report or TickReport()
    limit = settings.INKLINE_MAX_RECOVERIES
    # 1. A worker held the lease and stopped renewing it: presumed dead.
    expired = AutomationRun.objects.filter(
        status__in=EXECUTABLE_STATUSES, lease_expires_at__lt=now
    ).exclude(lease_owner="")
    for run in expired:
        if run.recoveries >= limit:
            if _fail_lost(run, now=now):
                report.failed.append(run.run_id)
            continue
        with transaction.atomic():
            taken = AutomationRun.objects.filter(
                pk=run.pk,
                lease_epoch=run.lease_epoch,
                lease_owner=run.lease_owner,
                lease_expires_at__lt=now,
                status__in=EXECUTABLE_STATUSES,
            ).update(
                recoveries=F("recoveries") + 1,
                lease_owner="",
                lease_expires_at=None,
                last_enqueued_at=now,
            )
            if not taken:
                continue
            event_record(
                site_id=run.site_id,
                run=run,
                stage=run.current_stage,
                level=RunEvent.Level.WARNING,
                code="recovered",
                message=(
                    f"The worker executing this run stopped responding at stage "
                    f"{run.current_stage}; the run was handed to another worker "
                    f"(recovery {run.recoveries + 1} of {limit})."
                ),
            )
            if wake:
                transaction.on_commit(partial(run_wake, run.run_id))
        report.recovered.append(run.run_id)
    # 2. Nobody holds the lease and nobody has for a lease period: the wake-up was lost
    #    (a broker message dropped, a worker killed between slices). Harmless if not.
    cutoff = now - dt.timedelta(seconds=settings.INKLINE_RUN_LEASE_SECONDS)
    idle = AutomationRun.objects.filter(status__in=EXECUTABLE_STATUSES, lease_owner="").filter(
        Q(last_enqueued_at__lt=cutoff) | Q(last_enqueued_at__isnull=True),
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True),
    )
    for run in idle.only("pk", "run_id", "last_enqueued_at"):
        if AutomationRun.objects.filter(
            pk=run.pk, lease_owner="", last_enqueued_at=run.last_enqueued_at
        ).update(last_enqueued_at=now):
            log.info("run %s had no worker for a lease period: enqueued again", run.run_id)
            report.requeued.append(run.run_id)
            if wake:
                run_wake(run.run_id)
    return report


def automation_tick(*, now: dt.datetime | None = None, wake: bool = True) -> TickReport:
    """Everything the beat does for automation, once: recover, count, start due runs."""
    now = now or clock.now()
    report = runs_reconcile(now=now, wake=wake)
    schedules_record_outcomes(report=report)
    schedules_start_due(now=now, wake=wake, report=report)
    if any(report.as_dict().values()):
        log.info("automation tick: %s", report.as_dict())
    return report
