"""The run executor: takes a run's lease and works through its stages for one slice.

Invariant 2: a worker first takes the run's execution lease (`lease.py`); every write it makes
to the run afterwards is conditional on the lease's epoch (`RunContext.write`).
Invariant 3: the run's status is read before each item, so pause and cancel act between items.
Invariant 4: AI calls run outside any transaction (in a bounded thread pool); each result
commits in one short transaction with its item's state change and its credit capture.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from inkline import clock
from inkline.ai.registry import get_provider
from inkline.ai.types import AIError, AIProvider
from inkline.automation.lease import Lease, lease_acquire, lease_release, worker_id
from inkline.automation.models import (
    STAGE_NAMES,
    AutomationConfig,
    AutomationRun,
    RunEvent,
    RunStatus,
)
from inkline.automation.runcontext import RunContext, StageStop
from inkline.automation.stages import STAGE_CLASSES, ItemGone, Stage, WorkItem, merge_quality
from inkline.billing import services as billing
from inkline.billing.costs import cost_of
from inkline.billing.models import CreditCostConfig
from inkline.core.errors import BudgetExhausted, InsufficientCredits, LeaseLost
from inkline.writer.quality import seo_threshold

__all__ = [
    "Lease",
    "RunContext",
    "SliceResult",
    "StageStop",
    "execute_slice",
    "lease_acquire",
    "lease_release",
    "run_to_end",
    "worker_id",
]

log = logging.getLogger(__name__)

# When this many AI calls fail in a row the provider is presumed down: the run stops.
MAX_CONSECUTIVE_FAILURES = 5
# Pending items read ahead in one query (per concurrency slot), instead of one query per item.
READ_AHEAD = 4


@dataclass
class SliceResult:
    """What one slice did: `outcome` is one of "finished" (the run ended), "continue" (more
    to do: enqueue the next slice), "stopped" (paused or cancelled), "busy" (another worker
    holds the lease, or the run is not executable)."""

    outcome: str
    status: str = ""


def execute_slice(
    *,
    run_id: str,
    owner: str | None = None,
    slice_seconds: float | None = None,
    provider: AIProvider | None = None,
) -> SliceResult:
    """Execute one bounded slice of a run. Safe to call from any number of workers at once."""
    owner = owner or worker_id()
    lease = lease_acquire(run_id=run_id, owner=owner)
    if lease is None:
        status = (
            AutomationRun.objects.filter(run_id=run_id).values_list("status", flat=True).first()
        )
        return SliceResult("busy", status or "")
    run = AutomationRun.objects.select_related("site").get(pk=lease.run_pk)
    ctx = RunContext(
        run=run,
        lease=lease,
        site=run.site,
        config=AutomationConfig.objects.get_or_create(site=run.site)[0],
        provider=provider or get_provider(),
        costs={c.operation_type: c for c in CreditCostConfig.objects.filter(is_active=True)},
        deadline=time.monotonic() + (slice_seconds or settings.INKLINE_SLICE_SECONDS),
        concurrency=settings.INKLINE_AI_CONCURRENCY,
    )
    try:
        if run.lease_epoch > 1 and run.status == RunStatus.RUNNING:
            # A previous executor held this run: give back whatever it had on hold.
            billing.holds_release_for_run(run_pk=run.pk, reason="run picked up by a new worker")
        if run.status == RunStatus.QUEUED:
            now = clock.now()
            ctx.write(status=RunStatus.RUNNING, started_at=now)
            ctx.event(f"Run started on {owner.split(':')[0]}.", code="running")
        outcome = _execute(ctx)
    except LeaseLost:
        log.warning("run %s: lease lost, stopping this slice", run_id)
        return SliceResult("busy", "")
    except Exception as exc:
        log.exception("run %s failed", run_id)
        _fail(ctx, f"{type(exc).__name__}: {exc}", reason="The run stopped on an unexpected error.")
        return SliceResult("finished", RunStatus.FAILED)
    finally:
        lease_release(lease)
    return outcome


def _execute(ctx: RunContext) -> SliceResult:
    while ctx.run.current_stage <= 7:
        status = ctx.status()
        if status != RunStatus.RUNNING:
            return SliceResult("stopped", status)
        if time.monotonic() >= ctx.deadline:
            return SliceResult("continue", status)
        number = ctx.run.current_stage
        stage = STAGE_CLASSES[number]
        if not ctx.config.stage_enabled(number):
            result = ctx.stage_result(number)
            result["status"] = "skipped"
            ctx.event(
                f"Stage {number} ({STAGE_NAMES[number]}) is disabled: skipped.",
                stage=number,
                code="stage_skipped",
            )
            ctx.write(current_stage=number + 1, stage_results=ctx.run.stage_results)
            continue
        try:
            finished = _run_stage(ctx, stage)
        except StageStop as stop:
            if stop.fail_run:
                _fail(ctx, stop.reason, reason=stop.reason)
                return SliceResult("finished", RunStatus.FAILED)
            if stop.end_run:
                ctx.notes.append(stop.reason)
                ctx.run.current_stage = 8
                break
            ctx.notes.append(stop.reason)
            finished = True
        if not finished:
            status = ctx.status()
            return SliceResult("continue" if status == RunStatus.RUNNING else "stopped", status)
        _end_stage(ctx, stage)
    return _complete(ctx)


def _end_stage(ctx: RunContext, stage: Stage) -> None:
    number = stage.number
    result = ctx.stage_result(number)
    result.setdefault("status", "done")
    left = stage.pending(ctx.site.pk).count()
    result["left"] = left
    if result.get("held"):  # the approval gate held some articles in review
        threshold = seo_threshold(site_id=ctx.site.pk)
        note = f"{result['created']} approved, {result['held']} held: SEO score below {threshold}."
        result["note"] = note
        ctx.notes.append(note)
        ctx.event(note, stage=number, code="approval_gate")
    ctx.event(
        f"Stage {number} ({STAGE_NAMES[number]}) finished: {result['processed']} processed, "
        f"{result['created']} created, {result['failed']} failed, {result['credits_used']} credits"
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
        from inkline.publishing.services import content_schedule

        report = content_schedule(site=ctx.site)
        ctx.event(report.summary(), stage=number, code="scheduled")


def _complete(ctx: RunContext) -> SliceResult:
    now = clock.now()
    reason = " ".join(ctx.notes) or "Completed: every enabled stage finished."
    if ctx.notes:
        reason = f"Completed with limits: {reason}"
    updated = AutomationRun.objects.filter(
        pk=ctx.run.pk, lease_epoch=ctx.lease.epoch, status=RunStatus.RUNNING
    ).update(
        status=RunStatus.COMPLETED,
        completed_at=now,
        current_stage=8,
        progress_percent=100,
        stopped_reason=reason,
        stage_results=ctx.run.stage_results,
    )
    if not updated:  # paused or cancelled at the last moment: that wins
        return SliceResult("stopped", ctx.status())
    ctx.run.status = RunStatus.COMPLETED
    ctx.event(f"Run completed. {reason}", code="completed")
    return SliceResult("finished", RunStatus.COMPLETED)


def _fail(ctx: RunContext, error: str, *, reason: str) -> None:
    now = clock.now()
    updated = AutomationRun.objects.filter(
        pk=ctx.run.pk, lease_epoch=ctx.lease.epoch, status__in=[RunStatus.RUNNING, RunStatus.QUEUED]
    ).update(
        status=RunStatus.FAILED,
        failed_at=now,
        completed_at=now,
        error_message=error[:4000],
        stopped_reason=reason,
        stage_results=ctx.run.stage_results,
    )
    if updated or AutomationRun.objects.filter(pk=ctx.run.pk, lease_epoch=ctx.lease.epoch).exists():
        # Only the run's current executor gives back the run's holds: a fenced-off worker
        # must not release the holds of the worker that took the run over.
        billing.holds_release_for_run(run_pk=ctx.run.pk, reason="run failed")
    if updated:
        ctx.event(
            f"Run failed: {error}",
            level=RunEvent.Level.ERROR,
            stage=ctx.run.current_stage,
            code="failed",
        )


def _start_stage(ctx: RunContext, stage: Stage) -> None:
    number = stage.number
    if str(number) in ctx.run.stage_plan:
        return
    pending = stage.pending(ctx.site.pk).count()
    limit = ctx.config.stage_limit(number)
    planned = min(pending, limit) if limit else pending
    ctx.run.stage_plan[str(number)] = planned
    ctx.stage_result(number)
    limit_text = f", per-run limit {limit}" if limit else ""
    ctx.event(
        f"Stage {number} ({STAGE_NAMES[number]}) started: "
        f"{pending} {stage.noun} pending{limit_text}.",
        stage=number,
        code="stage_start",
    )
    ctx.write(stage_plan=ctx.run.stage_plan, stage_results=ctx.run.stage_results)


def _run_stage(ctx: RunContext, stage: Stage) -> bool:
    """Work the stage until nothing is pending or its limit is reached (True), or until the
    slice must stop: pause, cancel, deadline (False)."""
    _start_stage(ctx, stage)
    number = stage.number
    result = ctx.stage_result(number)
    if number == 7 and not _auto_approval(ctx):
        waiting = stage.pending(ctx.site.pk).count()
        result["status"] = "manual_review"
        note = f"Auto-approval is off: {waiting} articles wait for manual review."
        ctx.notes.append(note)
        ctx.event(note, stage=number, code="manual_review")
        return True
    limit = ctx.config.stage_limit(number)
    width = 1 if (stage.sequential or stage.operation is None) else ctx.concurrency
    in_flight: dict[Future[Any], tuple[WorkItem, billing.Hold | None, float]] = {}
    reserved = 0  # items consumed by calls in flight or not yet committed, against the limit
    # Calls that succeeded, committed after the next calls are submitted: the main thread's
    # database work overlaps the AI calls instead of adding to them, at any concurrency.
    # Commits stay serial on this thread. Only a sequential stage keeps the strict order
    # (commit, then the next call): it decides on what the previous call committed (clusters).
    finished: list[tuple[Future[Any], WorkItem, billing.Hold | None]] = []
    overlap = not stage.sequential
    # Items read ahead, oldest first; a sequential stage reads each after the previous commit.
    ahead: deque[WorkItem] = deque()

    def next_item(room: int | None) -> WorkItem | None:
        if ahead:
            return ahead.popleft()
        exclude = {i for item, _, _ in in_flight.values() for i in item.ids}
        exclude |= {i for _, item, _ in finished for i in item.ids}
        exclude |= {i for s, i in ctx.failed_ids if s == number}
        if stage.sequential:
            return stage.next_item(ctx.site.pk, exclude, room)
        ahead.extend(stage.next_items(ctx.site.pk, exclude, READ_AHEAD * width))
        return ahead.popleft() if ahead else None

    stop: StageStop | None = None
    exhausted = False
    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=width, thread_name_prefix=f"inkline-s{number}")
    try:
        while True:
            # One status read per round (a round follows every finished call), so a pause or
            # cancel still acts between items.
            running = not exhausted and stop is None and ctx.status() == RunStatus.RUNNING
            while running and len(in_flight) < width:
                if time.monotonic() >= ctx.deadline:
                    break
                attempted = result["processed"] + result["failed"] + reserved
                room = None if not limit else limit - attempted
                if room is not None and room <= 0:
                    exhausted = True
                    break
                item = next_item(room)
                if item is None:
                    exhausted = True
                    break
                try:
                    hold = _reserve(ctx, stage, item)
                except StageStop as exc:
                    ahead.appendleft(item)  # not taken: first in line for the next try
                    # Holds are estimates: calls in flight usually settle for less and give
                    # credits back, so wait for them and try again; stop only when none are.
                    if not in_flight and not finished:
                        stop = exc
                    break
                reserved += item.size
                in_flight[pool.submit(stage.call, ctx.provider, item)] = (
                    item,
                    hold,
                    time.monotonic(),
                )
            settling, finished = finished, []
            for future, item, hold in settling:
                reserved -= item.size
                outcome = _settle_or_release(ctx, stage, item, hold, future, in_flight, settling)
                stop = stop or outcome
            if not in_flight:
                break
            done, _ = wait(
                list(in_flight),
                timeout=settings.INKLINE_RUN_LEASE_SECONDS / 3,
                return_when=FIRST_COMPLETED,
            )
            if not done:
                ctx.write()  # heartbeat while a long call is in flight
                continue
            for future in done:
                item, hold, _ = in_flight.pop(future)
                if overlap and future.exception() is None:
                    finished.append((future, item, hold))
                    continue
                # Failures settle at once: they may stop the stage before another call starts.
                reserved -= item.size
                outcome = _settle_or_release(ctx, stage, item, hold, future, in_flight, finished)
                stop = stop or outcome
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        result["seconds"] = round(result.get("seconds", 0.0) + time.monotonic() - started, 3)
    if stop is not None:
        result["status"] = "stopped"
        result["note"] = stop.reason
        ctx.event(stop.reason, stage=number, level=RunEvent.Level.WARNING, code="stage_stopped")
        ctx.write(stage_results=ctx.run.stage_results)
        raise stop
    if exhausted:
        left = stage.pending(ctx.site.pk).count()
        if limit and result["processed"] + result["failed"] >= limit and left:
            result["status"] = "limit"
            note = (
                f"Stage {number} reached its per-run limit of {limit} {stage.noun}; "
                f"{left} left for the next run."
            )
            ctx.notes.append(note)
            ctx.event(note, stage=number, code="limit_reached")
        return True
    return False


def _auto_approval(ctx: RunContext) -> bool:
    from inkline.publishing.models import PublishingSettings

    settings_row, _ = PublishingSettings.objects.get_or_create(site=ctx.site)
    return settings_row.auto_approval_enabled


def _reserve(ctx: RunContext, stage: Stage, item: WorkItem) -> billing.Hold | None:
    if stage.operation is None:
        return None
    config = ctx.costs.get(stage.operation)
    if config is None:
        return None
    amount = cost_of(config.unit, config.cost_per_unit, stage.expected_usage(item))
    if amount <= 0:
        return None
    try:
        return billing.credit_reserve(
            account_id=ctx.run.account_id,
            amount=amount,
            operation_type=stage.operation,
            site_id=ctx.site.pk,
            run_id=ctx.run.pk,
            description=f"Hold for {stage.operation} of {item.label} (run {ctx.run.run_id})",
        )
    except BudgetExhausted as exc:
        raise StageStop(exc.message, end_run=exc.extra.get("scope") == "run") from exc
    except InsufficientCredits as exc:
        raise StageStop(f"Stopped: not enough credits. {exc.message}", end_run=True) from exc


def _settle(
    ctx: RunContext, stage: Stage, item: WorkItem, hold: billing.Hold | None, future: Future[Any]
) -> StageStop | None:
    """Commit one finished call, or record its failure. Returns a StageStop when the provider
    looks down (too many failures in a row or a fatal error)."""
    number = stage.number
    result = ctx.stage_result(number)
    try:
        output = future.result()
    except AIError as exc:
        return _item_failed(ctx, stage, item, hold, str(exc), fatal=exc.fatal)
    except Exception as exc:  # a provider bug must not kill the run: the item fails
        log.exception("AI call failed for %s", item.label)
        return _item_failed(ctx, stage, item, hold, f"{type(exc).__name__}: {exc}", fatal=False)
    key = f"{ctx.run.run_id}:{number}:{item.key}"
    try:
        with transaction.atomic():
            committed = stage.commit(ctx.site.pk, item, output)
            charged = 0
            if hold is not None:
                config = ctx.costs[hold.operation_type]
                usage = stage.usage_of(output)
                actual = cost_of(config.unit, config.cost_per_unit, usage) if usage else hold.amount
                charged = billing.credit_capture(
                    hold=hold,
                    amount=actual,
                    key=key,
                    site_id=ctx.site.pk,
                    run_id=ctx.run.pk,
                    description=f"{stage.operation} of {item.label} (run {ctx.run.run_id})",
                )
            result["processed"] += item.size
            result["created"] += committed.created
            if committed.held:
                result["held"] = result.get("held", 0) + committed.held
            merge_quality(result, committed.quality, weight=item.size)
            result["credits_used"] += charged
            ctx.run.total_credits_used += charged
            ctx.write(
                stage_results=ctx.run.stage_results,
                total_credits_used=ctx.run.total_credits_used,
                progress_percent=ctx.progress(),
            )
    except (ItemGone, IntegrityError, InsufficientCredits):
        # Someone else committed this item (or this key) first, or our hold was released
        # under us (the run was taken over): nothing of ours is kept, the item stays pending.
        if hold is not None:
            billing.credit_release(hold=hold, reason=f"{item.label} was already done")
        return None
    except ValueError as exc:
        # The answer cannot be stored as it is (e.g. a clustering that does not place every
        # keyword exactly once): everything rolled back, the item fails with the reason.
        return _item_failed(ctx, stage, item, hold, f"unusable AI answer: {exc}", fatal=False)
    for code, message in committed.events:
        ctx.event(message, stage=number, code=code)
    ctx.consecutive_failures = 0
    return None


def _settle_or_release(
    ctx: RunContext,
    stage: Stage,
    item: WorkItem,
    hold: billing.Hold | None,
    future: Future[Any],
    in_flight: dict[Future[Any], tuple[WorkItem, billing.Hold | None, float]],
    waiting: list[tuple[Future[Any], WorkItem, billing.Hold | None]],
) -> StageStop | None:
    """`_settle`; when the lease is lost, first give back every hold of the stage still open."""
    try:
        return _settle(ctx, stage, item, hold, future)
    except LeaseLost:
        holds = [h for _, h, _ in in_flight.values()] + [h for _, _, h in waiting]
        for other in holds:
            if other is not None:
                billing.credit_release(hold=other, reason="lease lost")
        raise


def _item_failed(
    ctx: RunContext,
    stage: Stage,
    item: WorkItem,
    hold: billing.Hold | None,
    error: str,
    *,
    fatal: bool,
) -> StageStop | None:
    number = stage.number
    if hold is not None:
        billing.credit_release(hold=hold, reason=f"{stage.operation} failed")
    stage.fail(item, error)
    ctx.failed_ids.update((number, i) for i in item.ids)
    result = ctx.stage_result(number)
    result["failed"] += item.size
    ctx.consecutive_failures += 1
    ctx.event(
        f"{item.label} failed: {error}",
        stage=number,
        level=RunEvent.Level.WARNING,
        code="item_failed",
    )
    ctx.write(stage_results=ctx.run.stage_results, progress_percent=ctx.progress())
    if fatal:
        return StageStop(
            f"Stopped: the AI provider refused the request ({error}).", end_run=True, fail_run=True
        )
    if ctx.consecutive_failures >= MAX_CONSECUTIVE_FAILURES:
        return StageStop(
            f"Stopped: {ctx.consecutive_failures} AI calls failed in a row; last error: {error}",
            end_run=True,
            fail_run=True,
        )
    return None


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
