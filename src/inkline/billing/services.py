"""Credit writes: top-ups, holds before AI calls, captures in the result's transaction.

Invariant 5: available credits (balance - open holds) never go below zero, a capture happens
at most once per idempotency key, and every change of the balance is a ledger row.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F

from inkline import clock
from inkline.accounts.models import Account
from inkline.billing.models import CreditHold, CreditTransaction
from inkline.core.errors import InsufficientCredits

HOLD_TTL = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class Hold:
    id: int
    account_id: int
    amount: int
    operation_type: str


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
) -> CreditTransaction:
    return CreditTransaction.objects.create(
        account_id=account_id,
        site_id=site_id,
        run_id=run_id,
        at=clock.now(),
        kind=kind,
        amount=amount,
        held_amount=held_amount,
        balance_after=_balance(account_id),
        operation_type=operation_type,
        idempotency_key=key,
        description=description,
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
    description: str = "",
) -> Hold:
    """Hold `amount` credits before an AI call; InsufficientCredits when not available."""
    key = f"hold:{uuid.uuid4().hex}"
    with transaction.atomic():
        taken = Account.objects.filter(
            pk=account_id, credits__gte=F("credits_held") + amount
        ).update(credits_held=F("credits_held") + amount)
        if not taken:
            available = Account.objects.get(pk=account_id).available_credits
            raise InsufficientCredits(
                f"Not enough credits: {operation_type} needs {amount}, {available} available.",
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
        )
    return Hold(id=hold.pk, account_id=account_id, amount=amount, operation_type=operation_type)


def credit_capture(
    *,
    hold: Hold,
    amount: int,
    key: str,
    description: str,
    site_id: int | None = None,
    run_id: int | None = None,
) -> int:
    """Charge `amount` against `hold` and release the rest. Must run inside the item's
    transaction. Returns the credits charged: at most what is available (the hold included),
    so the balance never goes negative. A second capture of the same `key` raises
    IntegrityError, rolling back the whole item."""
    if not CreditHold.objects.filter(pk=hold.id, status=CreditHold.Status.OPEN).update(
        status=CreditHold.Status.CAPTURED
    ):
        raise InsufficientCredits("The credit hold for this item expired; it will be redone.")
    account = Account.objects.get(pk=hold.account_id)
    charge = max(0, min(amount, account.credits - account.credits_held + hold.amount))
    Account.objects.filter(pk=hold.account_id).update(
        credits=F("credits") - charge, credits_held=F("credits_held") - hold.amount
    )
    _ledger(
        account_id=hold.account_id,
        kind="capture",
        amount=-charge,
        held_amount=-hold.amount,
        key=key,
        site_id=site_id,
        run_id=run_id,
        operation_type=hold.operation_type,
        description=description,
    )
    return charge


def credit_release(*, hold: Hold, reason: str) -> None:
    """Give back an open hold (AI call failed, item abandoned). Idempotent."""
    with transaction.atomic():
        if not CreditHold.objects.filter(pk=hold.id, status=CreditHold.Status.OPEN).update(
            status=CreditHold.Status.RELEASED
        ):
            return
        Account.objects.filter(pk=hold.account_id).update(
            credits_held=F("credits_held") - hold.amount
        )
        _ledger(
            account_id=hold.account_id,
            kind="release",
            amount=0,
            held_amount=-hold.amount,
            key=f"release:{hold.id}",
            operation_type=hold.operation_type,
            description=f"Released hold: {reason}"[:500],
        )


def holds_release_for_run(*, run_pk: int, reason: str) -> int:
    """Release every open hold of a run (its previous executor died or it ended)."""
    released = 0
    for h in CreditHold.objects.filter(run_id=run_pk, status=CreditHold.Status.OPEN):
        credit_release(
            hold=Hold(
                id=h.pk, account_id=h.account_id, amount=h.amount, operation_type=h.operation_type
            ),
            reason=reason,
        )
        released += 1
    return released
