"""Credit writes: top-ups, holds before AI calls, captures in the result's transaction.

Invariant 5: available credits (balance - open holds) never go below zero, a capture happens
at most once per idempotency key, a run's cap (and each operation's share of it) is never
exceeded, and every change of the balance is a ledger row.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from inkline import clock
from inkline.accounts.models import Account
from inkline.billing import budget
from inkline.billing.models import CreditHold, CreditTransaction
from inkline.billing.services import alerts as alerts_
from inkline.billing.services.budgets import (
    run_budget_apply,
    run_budget_apply_uncapped,
    run_budget_give_back,
    run_budget_room,
    run_budget_take,
    update_returning,
)
from inkline.core.errors import BudgetExhausted, InsufficientCredits

HOLD_TTL = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class Hold:
    id: int
    account_id: int
    amount: int
    operation_type: str
    run_id: int | None = None
    site_id: int | None = None


def _hold_of(row: CreditHold) -> Hold:
    return Hold(
        id=row.pk,
        account_id=row.account_id,
        amount=row.amount,
        operation_type=row.operation_type,
        run_id=row.run_id,
        site_id=row.site_id,
    )


def _balance(account_id: int) -> int:
    return int(Account.objects.values_list("credits", flat=True).get(pk=account_id))


def _ledger(
    *,
    account_id: int,
    kind: str,
    amount: int,
    key: str,
    description: str,
    held_amount: int = 0,
    site_id: int | None = None,
    run_id: int | None = None,
    operation_type: str = "",
    balance_after: int | None = None,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
) -> CreditTransaction:
    """Append a ledger row; `balance_after` is read from the account unless the caller
    already knows it (it holds the account's row lock)."""
    return CreditTransaction.objects.create(
        account_id=account_id,
        site_id=site_id,
        run_id=run_id,
        at=clock.now(),
        kind=kind,
        amount=amount,
        held_amount=held_amount,
        balance_after=_balance(account_id) if balance_after is None else balance_after,
        operation_type=operation_type,
        idempotency_key=key,
        description=description[:500],
        prompt_tokens=max(0, prompt_tokens),
        completion_tokens=max(0, completion_tokens),
    )


def credit_topup(
    *, account_id: int, amount: int, description: str = "Top-up", key: str | None = None
) -> CreditTransaction:
    """Add credits (idempotent per `key`)."""
    if amount <= 0:
        raise ValueError("a top-up must be positive")
    key = key or f"topup:{uuid.uuid4().hex}"
    try:
        with transaction.atomic():
            Account.objects.filter(pk=account_id).update(credits=F("credits") + amount)
            return _ledger(
                account_id=account_id, kind="topup", amount=amount, key=key, description=description
            )
    except IntegrityError:
        return CreditTransaction.objects.get(idempotency_key=key)


def credit_reserve(
    *,
    account_id: int,
    amount: int,
    operation_type: str,
    site_id: int | None = None,
    run_id: int | None = None,
    run_cap: int | None = None,
    alerts: alerts_.RunAlerts | None = None,
    description: str = "",
) -> Hold:
    """Hold `amount` credits before an AI call. With a run, the hold also counts against the
    run's budget: when less than `amount` is left of the operation's share (or of the cap)
    the hold is what is left, so the share can be spent to the last credit; BudgetExhausted
    when nothing is left. InsufficientCredits when the available balance cannot cover it.
    A run's first hold fixes its budget from `run_cap` (the site's per-run cap); `alerts`
    receives the run's budget alerts."""
    if run_id is not None and (site_id is None or alerts is None):
        raise TypeError("a run's hold needs its site_id and where its alerts go")
    key = f"hold:{uuid.uuid4().hex}"
    try:
        with transaction.atomic():
            if run_id is not None and site_id is not None:
                amount = run_budget_take(
                    run_pk=run_id,
                    site_id=site_id,
                    cap=run_cap,
                    operation_type=operation_type,
                    amount=amount,
                )
            # The hold and the balance the ledger row records, in one statement.
            taken = update_returning(
                Account,
                "SET credits_held = credits_held + %s"
                " WHERE id = %s AND credits >= credits_held + %s RETURNING credits",
                [amount, account_id, amount],
            )
            if taken is None:
                available = Account.objects.get(pk=account_id).available_credits
                raise InsufficientCredits(
                    f"{operation_type} needs {amount} credits, {available} available.",
                    needed=amount,
                    available=available,
                )
            hold = CreditHold.objects.create(
                account_id=account_id,
                site_id=site_id,
                run_id=run_id,
                operation_type=operation_type,
                amount=amount,
                key=key,
                expires_at=clock.now() + HOLD_TTL,
            )
            _ledger(
                account_id=account_id,
                kind="reserve",
                amount=0,
                held_amount=amount,
                key=key,
                site_id=site_id,
                run_id=run_id,
                operation_type=operation_type,
                description=description or f"Hold for {operation_type}",
                balance_after=taken[0],
            )
    except BudgetExhausted as exc:
        if run_id is not None and alerts is not None and exc.extra.get("scope") == "run":
            alerts_.cap_reached(run_pk=run_id, alerts=alerts, message=exc.message)
        raise
    return _hold_of(hold)


def _account_charge(*, hold: Hold, charge: int) -> tuple[int, int, int, int]:
    """Take `charge` from the hold's account and free the hold: what was charged (at most the
    available balance, the hold included), then the account's credits, credits held and
    low-balance threshold after it."""
    # The charge and the account's new figures in one statement, when the balance covers it.
    account = update_returning(
        Account,
        "SET credits = credits - %s, credits_held = credits_held - %s"
        " WHERE id = %s AND credits - credits_held + %s >= %s"
        " RETURNING credits, credits_held, low_balance_threshold",
        [charge, hold.amount, hold.account_id, hold.amount, charge],
    )
    if account is not None:
        return charge, account[0], account[1], account[2]
    # It does not: charge what is available, the hold included.
    locked = Account.objects.select_for_update().get(pk=hold.account_id)
    charge = max(0, min(charge, locked.credits - locked.credits_held + hold.amount))
    Account.objects.filter(pk=hold.account_id).update(
        credits=F("credits") - charge, credits_held=F("credits_held") - hold.amount
    )
    return (
        charge,
        locked.credits - charge,
        locked.credits_held - hold.amount,
        locked.low_balance_threshold,
    )


def credit_capture(
    *,
    hold: Hold,
    amount: int,
    key: str,
    description: str,
    site_id: int | None = None,
    run_id: int | None = None,
    alerts: alerts_.RunAlerts | None = None,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
) -> int:
    """Charge `amount` against `hold` and release the rest, inside the item's transaction.
    A run's capture sends its budget alerts to `alerts`. The ledger row records the tokens
    the provider billed for the call (`prompt_tokens`, `completion_tokens`); a failed call
    that was billed is captured too, for what its usage costs (possibly 0).

    Returns the credits charged: never more than the account's available balance (the hold
    included), so the balance never goes negative, and for a run's hold never more than the
    hold plus what is left of the operation's share and of the run's cap, so a run never
    spends more than its cap even when a call used more than estimated (the excess is not
    charged). A second capture of the same `key` raises IntegrityError, rolling back the
    whole item."""
    run_id = run_id if run_id is not None else hold.run_id
    if run_id is not None and alerts is None:
        raise TypeError("a run's capture needs where its alerts go")
    # No savepoint: any error here must roll back the caller's whole item transaction.
    with transaction.atomic(savepoint=False):
        if not CreditHold.objects.filter(pk=hold.id, status=CreditHold.Status.OPEN).update(
            status=CreditHold.Status.CAPTURED
        ):
            raise InsufficientCredits("The credit hold for this item expired; it will be redone.")
        charge = budget.capture_charge(actual=amount, held=hold.amount, room=None)
        # An uncapped run's budget takes the charge in one statement; a capped one first
        # locks its budget and bounds the charge by what is left.
        uncapped = run_id is not None and run_budget_apply_uncapped(
            run_pk=run_id, held=hold.amount, charge=charge
        )
        room = None
        if run_id is not None and not uncapped:
            room = run_budget_room(run_pk=run_id, operation_type=hold.operation_type)
            charge = budget.capture_charge(
                actual=amount, held=hold.amount, room=room.left if room else None
            )
        wanted = charge
        charge, credits, credits_held, threshold = _account_charge(hold=hold, charge=charge)
        if uncapped and run_id is not None and charge != wanted:
            # the uncapped budget counted the wanted charge: count what was charged
            run_budget_apply_uncapped(run_pk=run_id, held=0, charge=charge - wanted)
        if room is not None and run_id is not None:
            run_budget_apply(
                run_pk=run_id,
                operation_type=hold.operation_type,
                held=hold.amount,
                charge=charge,
                capped=room.left is not None,
            )
        if charge < amount:
            description = f"{description} (charged {charge} of {amount}: limit reached)"
        _ledger(
            account_id=hold.account_id,
            kind="capture",
            amount=-charge,
            held_amount=-hold.amount,
            key=key,
            site_id=site_id if site_id is not None else hold.site_id,
            run_id=run_id,
            operation_type=hold.operation_type,
            description=description,
            balance_after=credits,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )
        if run_id is not None and alerts is not None:
            alerts_.after_capture(
                alerts=alerts,
                spent=room.spent + charge if room else 0,
                cap=room.cap if room else 0,
                available=credits - credits_held,
                threshold=threshold,
            )
    return charge


def credit_release(*, hold: Hold, reason: str) -> None:
    """Give back an open hold (AI call failed, item abandoned). Idempotent."""
    with transaction.atomic():
        if not CreditHold.objects.filter(pk=hold.id, status=CreditHold.Status.OPEN).update(
            status=CreditHold.Status.RELEASED
        ):
            return
        if hold.run_id is not None:
            run_budget_give_back(
                run_pk=hold.run_id, operation_type=hold.operation_type, held=hold.amount
            )
        Account.objects.filter(pk=hold.account_id).update(
            credits_held=F("credits_held") - hold.amount
        )
        _ledger(
            account_id=hold.account_id,
            kind="release",
            amount=0,
            held_amount=-hold.amount,
            key=f"release:{hold.id}",
            site_id=hold.site_id,
            run_id=hold.run_id,
            operation_type=hold.operation_type,
            description=f"Released hold: {reason}",
        )


def holds_release_for_run(*, run_pk: int, reason: str) -> int:
    """Release every open hold of a run (its previous executor died or it ended)."""
    released = 0
    for row in CreditHold.objects.filter(run_id=run_pk, status=CreditHold.Status.OPEN):
        credit_release(hold=_hold_of(row), reason=reason)
        released += 1
    return released


def credit_holds_sweep(*, now: dt.datetime | None = None) -> int:
    """Release expired holds whose executor is gone: holds without a run, or of a run with
    no live execution lease (a live worker still settles its own calls). Returns how many."""
    now = now or clock.now()
    live_lease = Q(run__isnull=False) & ~Q(run__lease_owner="") & Q(run__lease_expires_at__gte=now)
    expired = (
        CreditHold.objects.filter(status=CreditHold.Status.OPEN, expires_at__lt=now)
        .exclude(live_lease)
        .order_by("id")
    )
    released = 0
    for row in expired:
        credit_release(hold=_hold_of(row), reason="expired: its AI call never finished")
        released += 1
    return released
