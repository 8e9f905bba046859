"""The run executor: takes a run's lease and works through its stages for one slice.

Invariant 2: a worker first takes the run's execution lease (`lease.py`); every write it makes
to the run afterwards is conditional on the lease's epoch (`RunContext.write`).
Invariant 3: the run's status is read before each item, so pause and cancel act between items.
Invariant 4: AI calls run outside any transaction (in a bounded thread pool); each result
commits in one short transaction with its item's state change and its credit capture
(`StageRunner`, one stage at a time; `Slice`, the stages in order).

Before a run's first AI call (the first AI stage with pending items) the endpoint is checked
(`AIProvider.check`, in a thread while the lease is renewed): the result is stored on the run
and as the site's latest check; an endpoint that cannot work fails the run at once, naming
it, and one that cannot make images has stage 6 skipped in this run.

A run ends truthfully (`Slice.complete`): `completed` when every enabled stage finished, its
stopped reason saying how many items failed and why, and which limits were met; `failed` when
it processed nothing and items failed, as when the circuit breaker stops it (see
`stagerunner`).

A transient database error (SQLite's "database is locked", a PostgreSQL serialization
failure, deadlock or lost connection) ends the slice, never the run: the holds of the calls in
flight go back, the item in hand rolled back and is redone, and the next slice goes on. Each
counts as one of the run's recoveries, so a database that keeps failing fails the run after
`INKLINE_MAX_RECOVERIES`, as a worker that keeps dying does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F

from inkline import clock
from inkline.ai.registry import get_provider
from inkline.ai.types import AICheck, AIProvider
from inkline.automation.events import event_record, run_notice
from inkline.automation.lease import Lease, lease_acquire, lease_release, worker_id
from inkline.automation.models import (
    STAGE_NAMES,
    AutomationConfig,
    AutomationRun,
    RunEvent,
    RunStatus,
)
from inkline.automation.refresh import (
    RefreshStop,
    RunCharge,
    refresh_request_for_run,
    revision_write,
)
from inkline.automation.runcontext import RunContext, StageStop
from inkline.automation.services import ai_check_record, stage_left_message
from inkline.automation.shutdown import shutdown_requested
from inkline.automation.stagerunner import StageRunner, endpoint_of
from inkline.automation.stages import STAGE_CLASSES, Stage
from inkline.billing import services as billing
from inkline.billing.models import CreditCostConfig
from inkline.core.errors import LeaseLost
from inkline.notices.models import EventKind
from inkline.publishing.services import content_schedule
from inkline.writer.models import ContentRevision
from inkline.writer.quality import seo_threshold
from inkline.writer.services import revisions_requeue_for_run

__all__ = [
    "Lease",
    "RunContext",
    "Slice",
    "SliceResult",
    "StageRunner",
    "StageStop",
    "execute_slice",
    "lease_acquire",
    "lease_release",
    "run_to_end",
    "worker_id",
]

log = logging.getLogger(__name__)

# Database errors that may pass if tried again: they end the slice, not the run.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


@dataclass
class SliceResult:
    """What one slice did: `outcome` is one of "finished" (the run ended), "continue" (more
    to do: enqueue the next slice), "stopped" (paused or cancelled), "busy" (another worker
    holds the lease, or the run is not executable)."""

    outcome: str
    status: str = ""


T = TypeVar("T")


class Slice:
    """One slice of a leased run: its stages in order from the current one, until the run
    ends, the slice's time is up, or the run is paused or cancelled."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx

    def run(self) -> SliceResult:
        ctx = self.ctx
        self.pick_up()
        while ctx.run.current_stage <= 7:
            status = ctx.status()
            if status != RunStatus.RUNNING:
                return self.leave_stage(status)
            if ctx.time_up():
                return self.hand_back(status)
            number = ctx.run.current_stage
            if not ctx.config.stage_enabled(number):
                self.skip_stage(number)
                continue
            stage = STAGE_CLASSES[number]
            if self.check_due(stage) and not self.check_endpoint():
                return SliceResult("finished", RunStatus.FAILED)
            if number == 6 and ctx.run.ai_check.get("images") is False:
                waiting = stage.pending(ctx.site.pk).count()
                self.skip_stage(
                    number, because=NO_IMAGES + (f" {waiting} images wait." if waiting else "")
                )
                continue
            try:
                finished = StageRunner(ctx, stage).run()
            except StageStop as stop:
                if stop.fail_run:
                    self.fail(stop.error, reason=stop.reason)
                    return SliceResult("finished", RunStatus.FAILED)
                ctx.note(stop.reason)
                if stop.end_run:
                    ctx.run.current_stage = 8
                    return self.complete()
                finished = True
            if not finished:
                status = ctx.status()
                if status != RunStatus.RUNNING:
                    return self.leave_stage(status)
                return self.hand_back(status)
            self.end_stage(stage)
        stopped = self.refresh()
        return stopped or self.complete()

    def refresh(self) -> SliceResult | None:
        """After the stages: the published articles the site's automation settings pick are
        refreshed (`automation.refresh`), picked once per run and written one at a time,
        their credits counted toward the run's budget. Pause, cancel and the slice's time act
        between articles, as between items; None once there is nothing left to write."""
        ctx = self.ctx
        if not ctx.config.refresh_enabled:
            return None
        mine = ContentRevision.objects.filter(run_pk=ctx.run.pk)
        if not mine.exists():
            made = refresh_request_for_run(run=ctx.run, now=clock.now())
            if made:
                ctx.event(
                    f"Refresh: {len(made)} published article(s) picked to be rewritten; "
                    "each waits for review beside the live one.",
                    code="refresh",
                )
        charge = RunCharge(
            run_pk=ctx.run.pk,
            run_id=ctx.run.run_id,
            cap=int(ctx.config.max_credits_per_run),
            on_capture=lambda charged: ctx.write(
                total_credits_used=ctx.run.total_credits_used + charged
            ),
            call=lambda fn: self.with_heartbeat(fn, name="inkline-refresh"),
        )
        waiting = mine.filter(status=ContentRevision.Status.QUEUED).order_by("pk")
        for pk, title in waiting.values_list("pk", "content__title"):
            status = ctx.status()
            if status != RunStatus.RUNNING:
                return self.leave_stage(status)
            if ctx.time_up():
                return self.hand_back(status)
            try:
                outcome = revision_write(revision_id=pk, provider=ctx.provider, charge=charge)
            except RefreshStop as stop:
                ctx.note(stop.reason)
                mine.filter(status=ContentRevision.Status.QUEUED).update(
                    status=ContentRevision.Status.FAILED, last_error=stop.reason
                )
                ctx.event(stop.reason, level=RunEvent.Level.WARNING, code="refresh")
                break
            if outcome != "skipped":
                row = mine.values("status", "last_error", "credits_used").get(pk=pk)
                ctx.event(
                    f"Refresh of '{title}': "
                    + (
                        f"written ({row['credits_used']} credits), waits for review."
                        if outcome == "written"
                        else f"failed: {row['last_error']}"
                    ),
                    level=RunEvent.Level.INFO if outcome == "written" else RunEvent.Level.WARNING,
                    code="refresh",
                )
        return None

    def leave_stage(self, status: str) -> SliceResult:
        """The run was paused or cancelled and the calls that were in flight are settled
        (recorded, their credits captured or released): the stage in hand says so in its
        event, a cancelled one ends with the status "cancelled", and the run's figures are
        final for now. The lease goes on the way out, ending the run's settling."""
        ctx, number = self.ctx, self.ctx.run.current_stage
        result = ctx.run.stage_results.get(str(number)) if number <= 7 else None
        if result is not None and not result.get("status") and status in LEFT_BY:
            if status == RunStatus.CANCELLED:
                result["status"] = "cancelled"
            ctx.event(
                stage_left_message(number, result, how=status), stage=number, code=LEFT_BY[status]
            )
            ctx.write(stage_results=ctx.run.stage_results, progress_percent=ctx.progress())
        return SliceResult("stopped", status)

    def hand_back(self, status: str) -> SliceResult:
        """The slice's time is up: the run goes on in the next slice (on another worker when
        this process is shutting down; the lease is released on the way out)."""
        if shutdown_requested():
            self.ctx.event(
                f"The worker is shutting down: the run stopped at stage "
                f"{self.ctx.run.current_stage} between items and goes on with the next worker.",
                stage=self.ctx.run.current_stage,
                code="worker_shutdown",
            )
        return SliceResult("continue", status)

    def pick_up(self) -> None:
        ctx = self.ctx
        if ctx.run.lease_epoch > 1 and ctx.run.status == RunStatus.RUNNING:
            # A previous executor held this run: give back whatever it had on hold.
            billing.holds_release_for_run(run_pk=ctx.run.pk, reason="run picked up by a new worker")
            revisions_requeue_for_run(run_pk=ctx.run.pk)
        if ctx.run.status == RunStatus.QUEUED:
            ctx.write(status=RunStatus.RUNNING, started_at=clock.now())
            ctx.event(f"Run started on {ctx.lease.owner.split(':')[0]}.", code="running")

    def skip_stage(self, number: int, *, because: str = "") -> None:
        ctx = self.ctx
        result = ctx.stage_result(number)
        result["status"] = "skipped"
        if because:
            note = f"Stage {number} ({STAGE_NAMES[number]}) skipped: {because}"
            result["note"] = note
            ctx.note(note)
        ctx.event(
            f"Stage {number} ({STAGE_NAMES[number]}) "
            + (f"skipped: {because}" if because else "is disabled: skipped."),
            stage=number,
            code="stage_skipped",
        )
        ctx.write(current_stage=number + 1, stage_results=ctx.run.stage_results)

    def check_due(self, stage: Stage) -> bool:
        """The run's first AI call is near: an AI stage with pending items, no check yet."""
        ctx = self.ctx
        return (
            stage.operation is not None
            and not ctx.run.ai_check
            and stage.pending(ctx.site.pk).exists()
        )

    def check_endpoint(self) -> bool:
        """The connection check before the run's first AI call (see the module's docstring).
        False when the run failed because the endpoint cannot work."""
        ctx = self.ctx
        try:
            check = self.ask_check()
        except (LeaseLost, DatabaseError):  # the slice's own troubles, handled as always
            raise
        except Exception as exc:  # a provider bug must not block every run: go on without
            log.warning("run %s: the AI connection check failed", ctx.run.run_id, exc_info=True)
            ctx.write(ai_check={"error": f"{type(exc).__name__}: {exc}"[:500]})
            ctx.event(
                f"The AI connection check could not be made ({type(exc).__name__}: {exc}); "
                "the run goes on without it.",
                level=RunEvent.Level.WARNING,
                code="ai_check",
            )
            return True
        where = check.base_url or endpoint_of(ctx.provider)
        if check.only_passing:
            # A rate limit or a server error met by the check says nothing lasting about the
            # endpoint: the run goes on (the breaker stops it if the failures go on) and what
            # the endpoint can do stays unknown, so nothing is skipped for it.
            ctx.write(ai_check={**check.as_dict(), "images": None, "passing": True})
            ctx.event(
                f"The AI connection check of {where} met a passing problem ("
                + "; ".join(p.message for p in check.problems)
                + "); the run goes on and stops if the endpoint keeps failing.",
                level=RunEvent.Level.WARNING,
                code="ai_check",
            )
            return True
        document = ai_check_record(site_id=ctx.site.pk, check=check)
        ctx.write(ai_check=document)
        if not check.ok:
            problems = "; ".join(
                f"{p.message} ({p.fix})" if p.fix else p.message for p in check.problems
            ) or describe_check(check)
            reason = (
                f"Stopped before the first AI call: the AI endpoint {where} cannot be used: "
                f"{problems}. Nothing was tried or charged; the items stay pending."
            )
            self.fail(problems, reason=reason)
            return False
        ctx.event(f"AI endpoint {where}: {describe_check(check)}.", code="ai_check")
        return True

    def ask_check(self) -> AICheck:
        """`provider.check()` in a thread; the lease is renewed while it takes."""
        return self.with_heartbeat(self.ctx.provider.check, name="inkline-check")

    def with_heartbeat(self, call: Callable[[], T], *, name: str) -> T:
        """`call()` in a thread; the run's lease is renewed while it takes."""
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        try:
            future = pool.submit(call)
            while True:
                try:
                    return future.result(timeout=settings.INKLINE_RUN_LEASE_SECONDS / 3)
                except FutureTimeout:
                    self.ctx.write()  # heartbeat
        finally:
            pool.shutdown(wait=False)

    def end_stage(self, stage: Stage) -> None:
        ctx, number = self.ctx, stage.number
        result = ctx.stage_result(number)
        result.setdefault("status", "done")
        left = stage.pending(ctx.site.pk).count()
        result["left"] = left
        if result.get("held"):  # the approval gate held some articles in review
            threshold = seo_threshold(site_id=ctx.site.pk)
            note = (
                f"{result['created']} approved, {result['held']} held: SEO score below {threshold}."
            )
            result["note"] = note
            ctx.note(note)
            ctx.event(note, stage=number, code="approval_gate")
        ctx.event(
            f"Stage {number} ({STAGE_NAMES[number]}) finished: {result['processed']} processed, "
            f"{result['created']} created, {result['failed']} failed, "
            f"{result['credits_used']} credits"
            + (f"; {left} {stage.noun} left for the next run." if left else "."),
            stage=number,
            code="stage_end",
        )
        ctx.write(
            current_stage=number + 1,
            stage_results=ctx.run.stage_results,
            progress_percent=ctx.progress(),
        )
        if number == 7:  # approved content goes into publishing slots right away
            report = content_schedule(site=ctx.site)
            ctx.event(report.summary(), stage=number, code="scheduled")

    def complete(self) -> SliceResult:
        """End the run truthfully: `failed` when it processed nothing and items failed;
        else `completed`, its reason saying how many items failed and why, and its notes."""
        ctx = self.ctx
        results = ctx.run.stage_results
        processed = sum(int(r.get("processed", 0)) for r in results.values())
        failures = failure_summary(results)
        notes = " ".join(ctx.run.notes or [])
        if failures and not processed:
            reason = f"Nothing was done: {failures}" + (f" {notes}" if notes else "")
            self.fail(failures, reason=reason)
            if ctx.run.status != RunStatus.FAILED:  # paused or cancelled at the last moment
                return SliceResult("stopped", ctx.status())
            return SliceResult("finished", RunStatus.FAILED)
        if failures:
            reason = f"Completed with {failures}" + (f" {notes}" if notes else "")
        elif notes:
            reason = f"Completed with limits: {notes}"
        else:
            reason = "Completed: every enabled stage finished."
        with transaction.atomic():
            updated = AutomationRun.objects.filter(
                pk=ctx.run.pk, lease_epoch=ctx.lease.epoch, status=RunStatus.RUNNING
            ).update(
                status=RunStatus.COMPLETED,
                completed_at=clock.now(),
                current_stage=8,
                progress_percent=100,
                stopped_reason=reason,
                stage_results=ctx.run.stage_results,
            )
            if updated:
                ctx.run.status, ctx.run.stopped_reason = RunStatus.COMPLETED, reason
                run_notice(ctx.run, EventKind.RUN_COMPLETED)
        if not updated:  # paused or cancelled at the last moment: that wins
            return SliceResult("stopped", ctx.status())
        ctx.event(f"Run completed. {reason}", code="completed")
        return SliceResult("finished", RunStatus.COMPLETED)

    def fail(self, error: str, *, reason: str) -> None:
        run_fail(self.ctx.run, self.ctx.lease, error=error, reason=reason)


# The event code of a stage left by a pause or a cancel (a cancelled stage has ended).
LEFT_BY: dict[str, str] = {RunStatus.CANCELLED: "stage_end", RunStatus.PAUSED: "stage_paused"}
NO_IMAGES = "the AI endpoint cannot generate images (connection check)."


def describe_check(check: AICheck) -> str:
    """What a connection check found, in words."""
    if not check.reachable:
        return "not reachable"
    if not check.auth:
        return "the API key was refused"
    if not check.model:
        return "the model is not served"
    if check.structured_output is None:
        return "no structured-output mode works"
    images = "images too" if check.images else "no images"
    return f"model {check.model}, structured output {check.structured_output}, {images}"


def failure_summary(results: dict[str, Any]) -> str:
    """The run's failed items in words ("3 failures: 2 in stage 4 (…): …"), or ""."""
    parts, total = [], 0
    for number in sorted(results, key=int):
        result = results[number]
        count = int(result.get("failed", 0))
        if not count:
            continue
        total += count
        listed = result.get("failed_items") or []
        example = f": {listed[-1]['label']}: {listed[-1]['error']}" if listed else ""
        parts.append(f"{count} in stage {number} ({STAGE_NAMES[int(number)]}){example}")
    if not total:
        return ""
    return f"{total} failure{'s' if total != 1 else ''}: " + "; ".join(parts) + "."


def run_fail(run: AutomationRun, lease: Lease, *, error: str, reason: str) -> None:
    """Fail the run, if `lease` still holds it, and give back its holds."""
    now = clock.now()
    with transaction.atomic():
        updated = AutomationRun.objects.filter(
            pk=run.pk, lease_epoch=lease.epoch, status__in=[RunStatus.RUNNING, RunStatus.QUEUED]
        ).update(
            status=RunStatus.FAILED,
            failed_at=now,
            completed_at=now,
            error_message=error[:4000],
            stopped_reason=reason,
            stage_results=run.stage_results,
        )
        if updated:
            run.status, run.stopped_reason = RunStatus.FAILED, reason
            run.error_message = error[:4000]
            run_notice(run, EventKind.RUN_FAILED)
    if updated or AutomationRun.objects.filter(pk=run.pk, lease_epoch=lease.epoch).exists():
        # Only the run's current executor gives back the run's holds: a fenced-off worker
        # must not release the holds of the worker that took the run over.
        billing.holds_release_for_run(run_pk=run.pk, reason="run failed")
    if updated:
        event_record(
            site_id=run.site_id,
            run=run,
            stage=run.current_stage,
            level=RunEvent.Level.ERROR,
            code="failed",
            message=f"Run failed: {error}",
        )


def execute_slice(
    *,
    run_id: str,
    owner: str | None = None,
    slice_seconds: float | None = None,
    provider: AIProvider | None = None,
) -> SliceResult:
    """Execute one bounded slice of a run. Safe to call from any number of workers at once."""
    owner = owner or worker_id()
    try:
        lease = lease_acquire(run_id=run_id, owner=owner)
    except TRANSIENT_ERRORS:
        log.warning(
            "run %s: database error taking the lease; left for later", run_id, exc_info=True
        )
        _close_if_broken()
        return SliceResult("busy", "")
    if lease is None:
        status = (
            AutomationRun.objects.filter(run_id=run_id).values_list("status", flat=True).first()
        )
        return SliceResult("busy", status or "")
    ctx: RunContext | None = None
    try:
        ctx = _context(lease, provider=provider, slice_seconds=slice_seconds)
        return Slice(ctx).run()
    except LeaseLost:
        log.warning("run %s: lease lost, stopping this slice", run_id)
        return SliceResult("busy", "")
    except TRANSIENT_ERRORS as exc:
        return _retry_later(lease, exc)
    except Exception as exc:
        if ctx is None:
            raise
        log.exception("run %s failed", run_id)
        reason = "The run stopped on an unexpected error."
        Slice(ctx).fail(f"{type(exc).__name__}: {exc}", reason=reason)
        return SliceResult("finished", RunStatus.FAILED)
    finally:
        try:
            lease_release(lease)
        except DatabaseError:  # the lease expires on its own; the reconciler takes it
            log.warning("run %s: lease not released", run_id, exc_info=True)


def _context(
    lease: Lease, *, provider: AIProvider | None, slice_seconds: float | None
) -> RunContext:
    run = AutomationRun.objects.select_related("site").get(pk=lease.run_pk)
    return RunContext(
        run=run,
        lease=lease,
        site=run.site,
        config=AutomationConfig.objects.get_or_create(site=run.site)[0],
        provider=provider or get_provider(),
        costs={c.operation_type: c for c in CreditCostConfig.objects.filter(is_active=True)},
        deadline=time.monotonic() + (slice_seconds or settings.INKLINE_SLICE_SECONDS),
        concurrency=settings.INKLINE_AI_CONCURRENCY,
    )


def _retry_later(lease: Lease, exc: Exception) -> SliceResult:
    """A transient database error ended the slice (see the module's docstring). What
    committed stays; the run goes on in the next slice, as one of its recoveries."""
    log.warning("run %d: database error, the slice ends: %s", lease.run_pk, exc, exc_info=True)
    _close_if_broken()
    limit = settings.INKLINE_MAX_RECOVERIES
    error = f"{type(exc).__name__}: {exc}"
    try:
        run = AutomationRun.objects.get(pk=lease.run_pk)
        if run.recoveries >= limit:
            reason = (
                f"The run stopped: the database failed {run.recoveries + 1} times "
                f"(more than the {limit} recoveries allowed); last error: {exc}. "
                "What was produced is kept; start a new run to continue."
            )
            run_fail(run, lease, error=error, reason=reason)
            return SliceResult("finished", RunStatus.FAILED)
        with transaction.atomic():
            if not AutomationRun.objects.filter(pk=run.pk, lease_epoch=lease.epoch).update(
                recoveries=F("recoveries") + 1
            ):
                return SliceResult("busy", "")
            event_record(
                site_id=run.site_id,
                run=run,
                stage=run.current_stage,
                level=RunEvent.Level.WARNING,
                code="database_error",
                message=(
                    f"A database error ended this slice ({error}); the run goes on in the "
                    f"next slice (recovery {run.recoveries + 1} of {limit})."
                ),
            )
    except DatabaseError:  # the database is still failing: the reconciler takes the run
        log.warning("run %d: database error not recorded", lease.run_pk, exc_info=True)
        _close_if_broken()
        return SliceResult("busy", "")
    if run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
        return SliceResult("continue", run.status)
    return SliceResult("stopped", run.status)


def _close_if_broken() -> None:
    """Close a connection the error left unusable, so the next query opens a new one (not
    inside a transaction, which must roll back on its own)."""
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


def run_to_end(
    *, run_id: str, provider: AIProvider | None = None, on_slice: Any = None
) -> AutomationRun:
    """Execute a run in this process, slice after slice, until it ends or stops (CLI --wait)."""
    owner = worker_id()
    while True:
        outcome = execute_slice(run_id=run_id, owner=owner, provider=provider)
        if on_slice is not None:
            on_slice(outcome)
        if outcome.outcome != "continue":
            run = AutomationRun.objects.get(run_id=run_id)
            if outcome.outcome == "busy" and run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
                time.sleep(0.5)  # another worker holds the lease: wait for it
                continue
            return run
