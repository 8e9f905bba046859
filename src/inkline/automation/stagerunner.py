"""One stage of a run, worked for one slice: the engine's inner loop, in named steps.

Each round of `StageRunner.run`:
  fill     while there is room (concurrency, the per-run limit, the slice's time, credits):
           `next_item` → `reserve` (the credit hold) → `submit` (the AI call, in a worker
           thread, outside any transaction);
  settle   commit the calls that succeeded in the previous round, so the main thread's
           database work overlaps the calls now in flight instead of adding to them;
  collect  wait for a call to finish: a failure is settled at once (it may stop the stage
           before another call starts), a success waits for the next round.
The run's status is read once per round, so pause and cancel act between items (invariant 3).
When the process shuts down (`shutdown.py`) no call starts; the calls in flight get until the
shutdown's deadline to finish and commit, the rest are abandoned (`abandon_in_flight`).

`commit` stores one item in one short transaction: its output, its state change, its credit
capture and the run's figures (invariant 4); a file written for it is removed if that rolls
back. What the commit raises decides what the attempt was:
  ItemGone, or a duplicate capture key: another executor did the item; no attempt is counted;
  IntegrityError otherwise: a constraint refused the output; a failed attempt (`stage.fail`),
    and the item is not tried again in this run, so the paid call is not repeated in a loop;
  ValueError: the answer cannot be stored as it is; a failed attempt;
  a database error: the slice ends (the engine retries it); every hold still open is released.

A call that fails is one of two kinds (`AIError.endpoint`, see `record_failure`):
  an endpoint failure (unreachable, timeouts, server errors, a refused key, an unknown
    model): no attempt is counted, the item stays pending and this run may try it again; the
    circuit breaker fails the run on a fatal one at once, and after
    INKLINE_AI_BREAKER_FAILURES of them in a row, naming the endpoint and the error;
  an item failure (an answer still unusable after the re-ask, any other error): one of the
    item's attempts (`stage.fail`); this run does not take it again; MAX_ITEM_FAILURES_IN_ROW
    of them in a row fail the run (the model's answers are unusable).
Either way the hold is captured for what the provider billed for the failed call
(`AIError.usage`), or released when it billed nothing. The counts in a row and the failed
items are the run's (see `runcontext`), so they carry over from slice to slice.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction

from inkline.ai.types import AIError, Usage
from inkline.automation.events import RunEventAlerts
from inkline.automation.models import STAGE_NAMES, RunEvent, RunStatus
from inkline.automation.runcontext import RunContext, StageStop
from inkline.automation.shutdown import shutdown_deadline
from inkline.automation.stages import Committed, ItemGone, Stage, WorkItem, merge_quality
from inkline.billing import services as billing
from inkline.billing.costs import cost_of
from inkline.billing.selectors import ledger_key_exists
from inkline.core.errors import BudgetExhausted, InsufficientCredits
from inkline.core.files import removed_on_rollback
from inkline.publishing.models import PublishingSettings

log = logging.getLogger(__name__)

# When this many items fail in a row the model's answers are presumed unusable: the run fails.
MAX_ITEM_FAILURES_IN_ROW = 5
# Failed items listed in a stage's result ("failed_items"); its "failed" count has them all.
FAILED_ITEMS_LISTED = 100
# Pending items read ahead in one query (per concurrency slot), instead of one query per item.
READ_AHEAD = 4
# How often a wait for AI calls looks whether the process is shutting down (seconds).
SHUTDOWN_POLL = 0.5
# The names of the threads that make the AI calls start with this.
CALL_THREAD_PREFIX = "inkline-s"


@dataclass
class Call:
    """One item's AI call: its credit hold (None when the stage is free) and its future."""

    item: WorkItem
    hold: billing.Hold | None
    future: Future[Any]


class StageRunner:
    """Works one stage of a run until nothing is pending, its limit is reached, or the slice
    must stop. Commits stay serial on the calling thread; only the AI calls run in the pool."""

    def __init__(self, ctx: RunContext, stage: Stage) -> None:
        self.ctx = ctx
        self.stage = stage
        self.number = stage.number
        self.result = ctx.stage_result(stage.number)
        self.limit = ctx.config.stage_limit(stage.number)
        self.width = 1 if (stage.sequential or stage.operation is None) else ctx.concurrency
        # Only a sequential stage keeps the strict order (commit, then the next call): it
        # decides on what the previous call committed (clusters).
        self.overlap = not stage.sequential
        self.in_flight: dict[Future[Any], Call] = {}
        self.finished: list[Call] = []  # succeeded, committed in the next round
        self.ahead: deque[WorkItem] = deque()  # read ahead, oldest first
        self.reserved = 0  # items taken by calls not yet settled, against the limit
        self.open_holds: dict[int, billing.Hold] = {}  # released if the slice stops on an error
        # Items settled without a commit of ours (gone, or our hold was taken back): not
        # taken again in this slice, so a refused commit never repeats a paid call in a loop.
        self.passed: set[int] = set()
        # Items of this stage that failed in this run (kept on the run): not taken again.
        self.failed: set[int] = ctx.failed_ids(stage.number)
        self.stop: StageStop | None = None
        self.exhausted = False  # nothing left to take, or the limit is reached
        self.abandoned = 0  # calls left in flight when the process shut down
        self.started = time.monotonic()  # when this slice began working the stage
        self.seconds_before = 0.0  # the stage's seconds in the run's earlier slices

    # --- the loop --------------------------------------------------------------------------
    def run(self) -> bool:
        """True when the stage is done (nothing pending, or its limit reached); False when
        the slice must stop first (pause, cancel, deadline). Raises StageStop when the stage
        cannot go on (budget, credits, provider down)."""
        self.start()
        if self.manual_review():
            return True
        self.started = time.monotonic()
        self.seconds_before = float(self.result.get("seconds", 0.0))
        pool = ThreadPoolExecutor(
            max_workers=self.width, thread_name_prefix=f"{CALL_THREAD_PREFIX}{self.number}"
        )
        try:
            while True:
                if self.may_submit():
                    self.fill(pool)
                self.settle_finished()
                if not self.in_flight:
                    break
                self.collect()
        except BaseException as exc:
            self.release_open_holds(f"the slice stopped: {type(exc).__name__}")
            raise
        finally:
            # Calls abandoned at shutdown are not waited for (see `abandon_in_flight`).
            pool.shutdown(wait=not self.abandoned, cancel_futures=True)
            self.clock_seconds()
        return self.end()

    def clock_seconds(self) -> None:
        """Bring the stage's seconds (summed over the run's slices) up to now: written with
        each item, so the run's pace and time remaining are known while the stage works."""
        elapsed = time.monotonic() - self.started
        self.result["seconds"] = round(self.seconds_before + elapsed, 3)

    def start(self) -> None:
        """Plan the stage once per run (its pending count, bounded by its limit)."""
        ctx, number = self.ctx, self.number
        if str(number) in ctx.run.stage_plan:
            return
        pending = self.stage.pending(ctx.site.pk).count()
        ctx.run.stage_plan[str(number)] = min(pending, self.limit) if self.limit else pending
        limit_text = f", per-run limit {self.limit}" if self.limit else ""
        ctx.event(
            f"Stage {number} ({STAGE_NAMES[number]}) started: "
            f"{pending} {self.stage.noun} pending{limit_text}.",
            stage=number,
            code="stage_start",
        )
        ctx.write(stage_plan=ctx.run.stage_plan, stage_results=ctx.run.stage_results)

    def manual_review(self) -> bool:
        """Stage 7 with auto-approval off: nothing to do, the articles wait for a user."""
        if self.number != 7:
            return False
        publishing, _ = PublishingSettings.objects.get_or_create(site=self.ctx.site)
        if publishing.auto_approval_enabled:
            return False
        waiting = self.stage.pending(self.ctx.site.pk).count()
        self.result["status"] = "manual_review"
        note = f"Auto-approval is off: {waiting} articles wait for manual review."
        self.ctx.note(note)
        self.ctx.event(note, stage=self.number, code="manual_review")
        return True

    def may_submit(self) -> bool:
        """One status read per round (a round follows every finished call), so a pause or a
        cancel acts between items."""
        if self.exhausted or self.stop is not None:
            return False
        return self.ctx.status() == RunStatus.RUNNING

    def fill(self, pool: ThreadPoolExecutor) -> None:
        """Start calls until the pool is full, or the slice's time, the limit, the pending
        items or the credits run out."""
        while len(self.in_flight) < self.width:
            if self.ctx.time_up():
                return
            room = self.room()
            if room is not None and room <= 0:
                self.exhausted = True
                return
            item = self.next_item(room)
            if item is None:
                self.exhausted = True
                return
            try:
                hold = self.reserve(item)
            except StageStop as exc:
                self.ahead.appendleft(item)  # not taken: first in line for the next try
                # Holds are estimates: calls in flight usually settle for less and give
                # credits back, so wait for them and try again; stop only when none are.
                if not self.in_flight and not self.finished:
                    self.stop = exc
                return
            self.submit(pool, item, hold)

    def settle_finished(self) -> None:
        settling, self.finished = self.finished, []
        for call in settling:
            self.stop = self.stop or self.settle(call)

    def collect(self) -> None:
        """Wait for calls to finish; heartbeat the lease while a long call is in flight. When
        the process is shutting down, wait only until its deadline (looked at every
        SHUTDOWN_POLL seconds), then abandon the calls still in flight."""
        heartbeat_at = time.monotonic() + settings.INKLINE_RUN_LEASE_SECONDS / 3
        while True:
            now = time.monotonic()
            stopping_at = shutdown_deadline()
            if stopping_at is not None and now >= stopping_at:
                self.abandon_in_flight()
                return
            if now >= heartbeat_at:
                self.ctx.write()
                return
            until = heartbeat_at if stopping_at is None else min(heartbeat_at, stopping_at)
            done, _ = wait(
                list(self.in_flight),
                timeout=min(until - now, SHUTDOWN_POLL),
                return_when=FIRST_COMPLETED,
            )
            if done:
                break
        for future in done:
            call = self.in_flight.pop(future)
            if self.overlap and future.exception() is None:
                self.finished.append(call)
            else:  # failures settle at once: they may stop the stage before another call
                self.stop = self.stop or self.settle(call)

    def end(self) -> bool:
        ctx, number, result = self.ctx, self.number, self.result
        if self.stop is not None:
            result["status"] = "stopped"
            result["note"] = self.stop.reason
            ctx.event(
                self.stop.reason, stage=number, level=RunEvent.Level.WARNING, code="stage_stopped"
            )
            ctx.write(stage_results=ctx.run.stage_results)
            raise self.stop
        if not self.exhausted:
            # The slice ends first (deadline, pause, cancel): keep its seconds all the same.
            ctx.write(stage_results=ctx.run.stage_results)
            return False
        left = self.stage.pending(ctx.site.pk).count()
        if self.limit and result["processed"] + result["failed"] >= self.limit and left:
            result["status"] = "limit"
            note = (
                f"Stage {number} reached its per-run limit of {self.limit} {self.stage.noun}; "
                f"{left} left for the next run."
            )
            ctx.note(note)
            ctx.event(note, stage=number, code="limit_reached")
        return True

    # --- one item --------------------------------------------------------------------------
    def room(self) -> int | None:
        """How many more items the per-run limit lets this stage take (None: no limit)."""
        if not self.limit:
            return None
        return self.limit - (self.result["processed"] + self.result["failed"] + self.reserved)

    def next_item(self, room: int | None) -> WorkItem | None:
        """The oldest pending item not in flight, not waiting to commit and not failed in
        this run; a sequential stage reads each after the previous commit."""
        if self.ahead:
            return self.ahead.popleft()
        exclude = {i for call in self.in_flight.values() for i in call.item.ids}
        exclude |= {i for call in self.finished for i in call.item.ids}
        exclude |= self.failed
        exclude |= self.passed
        site_id = self.ctx.site.pk
        if self.stage.sequential:
            return self.stage.next_item(site_id, exclude, room)
        self.ahead.extend(self.stage.next_items(site_id, exclude, READ_AHEAD * self.width))
        return self.ahead.popleft() if self.ahead else None

    def reserve(self, item: WorkItem) -> billing.Hold | None:
        """Hold the call's estimated credits (invariant 5); None when the stage is free."""
        ctx, stage = self.ctx, self.stage
        config = ctx.costs.get(stage.operation) if stage.operation else None
        if config is None or stage.operation is None:
            return None
        amount = cost_of(config.unit, config.cost_per_unit, stage.expected_usage(item))
        if amount <= 0:
            return None
        try:
            hold = billing.credit_reserve(
                account_id=ctx.run.account_id,
                amount=amount,
                operation_type=stage.operation,
                site_id=ctx.site.pk,
                run_id=ctx.run.pk,
                run_cap=ctx.config.max_credits_per_run,
                alerts=RunEventAlerts(ctx.run.pk),
                description=f"Hold for {stage.operation} of {item.label} (run {ctx.run.run_id})",
            )
        except BudgetExhausted as exc:
            raise StageStop(exc.message, end_run=exc.extra.get("scope") == "run") from exc
        except InsufficientCredits as exc:
            raise StageStop(f"Stopped: not enough credits. {exc.message}", end_run=True) from exc
        self.open_holds[hold.id] = hold
        return hold

    def submit(self, pool: ThreadPoolExecutor, item: WorkItem, hold: billing.Hold | None) -> None:
        self.reserved += item.size
        future = pool.submit(self.stage.call, self.ctx.provider, item)
        self.in_flight[future] = Call(item=item, hold=hold, future=future)

    def settle(self, call: Call) -> StageStop | None:
        """Commit one finished call, or record its failure. Returns a StageStop when the run
        must end (the endpoint is down, or the model's answers keep being unusable)."""
        self.reserved -= call.item.size
        try:
            output = call.future.result()
        except AIError as exc:
            return self.record_failure(
                call, str(exc), endpoint=exc.endpoint, fatal=exc.fatal, usage=exc.usage
            )
        except Exception as exc:  # a provider bug must not kill the run: the item fails
            log.exception("AI call failed for %s", call.item.label)
            return self.record_failure(call, f"{type(exc).__name__}: {exc}")
        return self.commit(call, output)

    def commit(self, call: Call, output: Any) -> StageStop | None:
        """Store the call's output in the item's transaction (see the module's docstring)."""
        item = call.item
        key = f"{self.ctx.run.run_id}:{self.number}:{item.key}"
        try:
            with removed_on_rollback(), transaction.atomic():
                committed = self.stage.commit(self.ctx.site.pk, item, output)
                charged = self.capture(call, output, key)
                self.tally(item, committed, charged)
        except (ItemGone, InsufficientCredits):
            # Someone else committed this item first, or our hold was released under us
            # (the run was taken over): nothing of ours is kept, the item stays as it is.
            self.pass_over(call)
            return None
        except IntegrityError as exc:
            if ledger_key_exists(key):  # this item was captured already: someone else did it
                self.pass_over(call)
                return None
            return self.record_failure(call, f"its output could not be stored: {exc}")
        except ValueError as exc:
            # The answer cannot be stored as it is (e.g. a clustering that does not place
            # every keyword exactly once): everything rolled back, the item fails.
            return self.record_failure(call, f"unusable AI answer: {exc}")
        if call.hold is not None:
            self.open_holds.pop(call.hold.id, None)
        for code, message in committed.events:
            self.ctx.event(message, stage=self.number, code=code)
        return None

    def pass_over(self, call: Call) -> None:
        """Another executor did the item: no attempt is counted, the hold goes back."""
        self.passed.update(call.item.ids)
        self.give_back(call, f"{call.item.label} was already done")

    def capture(self, call: Call, output: Any, key: str) -> int:
        """Charge the call's actual usage against its hold; returns the credits charged."""
        hold = call.hold
        if hold is None:
            return 0
        config = self.ctx.costs[hold.operation_type]
        usage = self.stage.usage_of(output)
        actual = cost_of(config.unit, config.cost_per_unit, usage) if usage else hold.amount
        return billing.credit_capture(
            hold=hold,
            amount=actual,
            key=key,
            site_id=self.ctx.site.pk,
            run_id=self.ctx.run.pk,
            alerts=RunEventAlerts(self.ctx.run.pk),
            description=f"{self.stage.operation} of {call.item.label} (run {self.ctx.run.run_id})",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )

    def tally(self, item: WorkItem, committed: Committed, charged: int) -> None:
        """Count the item in the stage's and the run's figures, written in its transaction."""
        ctx, result = self.ctx, self.result
        self.clock_seconds()
        result["processed"] += item.size
        result["created"] += committed.created
        if committed.held:
            result["held"] = result.get("held", 0) + committed.held
        merge_quality(result, committed.quality, weight=item.size)
        result["credits_used"] += charged
        if self.stage.operation == "clustering":
            # What clustering costs, comparable across runs and providers.
            result["credits_per_1000_keywords"] = round(
                result["credits_used"] * 1000 / result["processed"], 2
            )
        ctx.run.total_credits_used += charged
        ctx.write(
            stage_results=ctx.run.stage_results,
            total_credits_used=ctx.run.total_credits_used,
            progress_percent=ctx.progress(),
            # the endpoint answered and the answer was usable: both failure streaks end
            endpoint_failures_in_row=0,
            item_failures_in_row=0,
        )

    def record_failure(
        self,
        call: Call,
        error: str,
        *,
        endpoint: bool = False,
        fatal: bool = False,
        usage: Usage | None = None,
    ) -> StageStop | None:
        """A failed call (see the module's docstring for its two kinds), recorded in one
        transaction: the hold captured for what was billed or released, the item's attempt
        (an item failure only), and the run's failure state and figures."""
        ctx, item, number, run, result = self.ctx, call.item, self.number, self.ctx.run, self.result
        with transaction.atomic():
            charged = self.charge_failed(call, usage)
            fields: dict[str, Any] = {}
            if endpoint:
                fields["endpoint_failures_in_row"] = run.endpoint_failures_in_row + 1
                result["endpoint_errors"] = result.get("endpoint_errors", 0) + 1
            else:
                self.stage.fail(item, error)
                self.failed.update(item.ids)
                failed_ids = {**(run.failed_item_ids or {}), str(number): sorted(self.failed)}
                result["failed"] += item.size
                listed = result.setdefault("failed_items", [])
                if len(listed) < FAILED_ITEMS_LISTED:
                    entry: dict[str, Any] = {"id": item.ids[0], "label": item.label}
                    if item.size > 1:
                        entry["items"] = item.size
                    listed.append({**entry, "error": error[:500]})
                fields |= {
                    "failed_item_ids": failed_ids,
                    "item_failures_in_row": run.item_failures_in_row + 1,
                    "endpoint_failures_in_row": 0,  # the endpoint answered
                }
            result["credits_used"] += charged
            self.clock_seconds()
            ctx.write(
                stage_results=run.stage_results,
                total_credits_used=run.total_credits_used + charged,
                progress_percent=ctx.progress(),
                **fields,
            )
        if call.hold is not None:
            self.open_holds.pop(call.hold.id, None)
        if endpoint:
            return self.endpoint_failed(item, error, fatal=fatal)
        ctx.event(
            f"{item.label} failed: {error}",
            stage=number,
            level=RunEvent.Level.WARNING,
            code="item_failed",
        )
        if run.item_failures_in_row >= MAX_ITEM_FAILURES_IN_ROW:
            return StageStop(
                f"Stopped: the model's answers were unusable for {run.item_failures_in_row} "
                f"items in a row; last error: {error}",
                end_run=True,
                fail_run=True,
                error=error,
            )
        return None

    def endpoint_failed(self, item: WorkItem, error: str, *, fatal: bool) -> StageStop | None:
        """An endpoint failure was recorded: say so, and trip the circuit breaker when the
        endpoint cannot work (fatal) or failed too often in a row."""
        ctx, breaker = self.ctx, settings.INKLINE_AI_BREAKER_FAILURES
        count = ctx.run.endpoint_failures_in_row
        ctx.event(
            f"{item.label}: the AI endpoint failed ({error}); no attempt is counted and the "
            f"item stays pending (endpoint failure {count} in a row, the run stops at {breaker}).",
            stage=self.number,
            level=RunEvent.Level.WARNING,
            code="endpoint_failed",
        )
        if not fatal and count < breaker:
            return None
        where, error = endpoint_of(ctx.provider), error.rstrip(". ")
        if fatal:
            reason = f"Stopped: the AI endpoint {where} cannot be used: {error}."
        else:
            reason = (
                f"Stopped: the AI endpoint {where} failed {count} times in a row "
                f"(each after the client's retries); last error: {error}."
            )
        reason += " No attempt was counted against the items: they stay pending."
        return StageStop(reason, end_run=True, fail_run=True, error=error)

    def abandon_in_flight(self) -> None:
        """The process is shutting down and these calls did not finish in its grace time:
        their answers are not waited for. Their holds go back and their items stay pending,
        untouched and not counted as attempts, for the next worker to do (the provider may
        still bill the abandoned calls)."""
        for call in list(self.in_flight.values()):
            self.reserved -= call.item.size
            self.give_back(call, "the worker shut down before the call ended")
            call.future.cancel()
        self.abandoned += len(self.in_flight)
        log.warning(
            "run %s: shutting down, %d AI call(s) still in flight abandoned; their items "
            "stay pending for the next worker",
            self.ctx.run.run_id,
            len(self.in_flight),
        )
        self.in_flight.clear()

    # --- credits ---------------------------------------------------------------------------
    def charge_failed(self, call: Call, usage: Usage | None) -> int:
        """Settle a failed call's hold: captured for what the provider billed (`usage`, by
        the operation's unit; may be 0), released when it billed nothing. Returns the
        credits charged."""
        hold, ctx = call.hold, self.ctx
        if hold is None:
            return 0
        if usage is None:
            self.give_back(call, f"{self.stage.operation or STAGE_NAMES[self.number]} failed")
            return 0
        config = ctx.costs[hold.operation_type]
        try:
            with transaction.atomic():
                return billing.credit_capture(
                    hold=hold,
                    amount=cost_of(config.unit, config.cost_per_unit, usage),
                    key=f"{ctx.run.run_id}:{self.number}:{call.item.key}:failed:{hold.id}",
                    site_id=ctx.site.pk,
                    run_id=ctx.run.pk,
                    alerts=RunEventAlerts(ctx.run.pk),
                    description=(
                        f"{self.stage.operation} of {call.item.label} failed; billed by the "
                        f"provider all the same (run {ctx.run.run_id})"
                    ),
                    prompt_tokens=usage.prompt_tokens,
                    completion_tokens=usage.completion_tokens,
                )
        except InsufficientCredits:  # our hold was released under us: nothing to charge
            return 0

    def give_back(self, call: Call, reason: str) -> None:
        if call.hold is not None:
            billing.credit_release(hold=call.hold, reason=reason)
            self.open_holds.pop(call.hold.id, None)

    def release_open_holds(self, reason: str) -> None:
        """The slice stops on an error (lease lost, database error): give back every hold of
        the stage still open. One the database refuses now is released by the sweeper."""
        for hold in list(self.open_holds.values()):
            try:
                billing.credit_release(hold=hold, reason=reason)
            except DatabaseError:
                log.warning("hold %s not released now: the sweeper will", hold.id, exc_info=True)
        self.open_holds.clear()


def endpoint_of(provider: Any) -> str:
    """The AI endpoint in words: its base URL when the provider has one, else its name."""
    base_url = str(getattr(provider, "base_url", "") or "")
    return base_url or f"of the '{getattr(provider, 'name', 'unknown')}' provider"
