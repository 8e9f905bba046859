"""Credit adjustments by staff: a correction, goodwill or a refund outside any run.

One ledger row of kind `adjustment` per adjustment, written in the same transaction as the
balance change; a negative adjustment never takes the available balance (credits - holds)
below zero. With an idempotency key a retried request (a lost answer, a double click) is
answered with the first one's row instead of adjusting twice.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import IntegrityError, transaction

from inkline.accounts.models import Account
from inkline.billing.models import CreditTransaction
from inkline.billing.services.budgets import update_returning
from inkline.billing.services.ledger import _ledger
from inkline.core.errors import Conflict, InsufficientCredits, ValidationFailed

MAX_ADJUSTMENT = 10**12
MAX_REASON = 400
MAX_KEY = 150


def _key(idempotency_key: str | None) -> str:
    return f"adjust:{idempotency_key}" if idempotency_key else f"adjust:{uuid.uuid4().hex}"


def _replayed(*, key: str, account: Account, amount: int) -> CreditTransaction | None:
    """The row an earlier request with this key wrote, if any; a different request under
    the same key is a conflict, never silently answered with the other one's row."""
    row = CreditTransaction.objects.filter(idempotency_key=key).first()
    if row is None:
        return None
    if row.account_id != account.pk or row.amount != amount or row.kind != "adjustment":
        raise Conflict(
            "This idempotency key was already used for a different adjustment.",
            code="idempotency_key_reused",
        )
    return row


def credits_adjust(
    *,
    account: Account,
    amount: int,
    reason: str,
    actor: Any,
    idempotency_key: str | None = None,
) -> CreditTransaction:
    """Add (`amount` > 0) or remove (`amount` < 0) credits with a stated reason, as `actor`
    (the staff user; recorded in the ledger row's description). A removal larger than the
    available balance is refused (InsufficientCredits, 409) and changes nothing."""
    errors: dict[str, list[str]] = {}
    reason = " ".join((reason or "").split())
    if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
        errors["amount"] = ["A whole number of credits other than 0."]
    elif abs(amount) > MAX_ADJUSTMENT:
        errors["amount"] = [f"At most {MAX_ADJUSTMENT} credits either way."]
    if not reason:
        errors["reason"] = ["Say why the balance changes."]
    elif len(reason) > MAX_REASON:
        errors["reason"] = [f"At most {MAX_REASON} characters."]
    if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_KEY:
        errors["idempotency_key"] = [f"Between 1 and {MAX_KEY} characters."]
    if errors:
        raise ValidationFailed(errors)

    key = _key(idempotency_key)
    earlier = _replayed(key=key, account=account, amount=amount)
    if earlier is not None:
        return earlier
    by = getattr(actor, "get_username", lambda: "")() or "staff"
    try:
        with transaction.atomic():
            # The change and the balance the ledger row records, in one statement; a removal
            # only where the available balance covers it.
            changed = update_returning(
                Account,
                "SET credits = credits + %s WHERE id = %s AND credits + %s >= credits_held"
                " RETURNING credits",
                [amount, account.pk, amount],
            )
            if changed is None:
                fresh = Account.objects.filter(pk=account.pk).first()
                if fresh is None:
                    raise ValidationFailed({"account": ["No such account."]})
                raise InsufficientCredits(
                    f"Removing {-amount} credits would take the balance below zero: "
                    f"{fresh.available_credits} available.",
                    needed=-amount,
                    available=fresh.available_credits,
                )
            return _ledger(
                account_id=account.pk,
                kind=CreditTransaction.Kind.ADJUSTMENT,
                amount=amount,
                key=key,
                description=f"{reason} (adjusted by {by})",
                balance_after=changed[0],
            )
    except IntegrityError:
        # A concurrent request with the same key committed first: this one rolled back.
        row = _replayed(key=key, account=account, amount=amount)
        if row is None:
            raise
        return row
