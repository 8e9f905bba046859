"""Domain errors. Each maps once to an HTTP answer (core.api) and once to a UI message."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    status_code = 400
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.extra = extra

    def as_dict(self) -> dict[str, Any]:
        return {"detail": self.message, "code": self.code, **self.extra}


class ValidationFailed(ApplicationError):
    """Bad input: `field_errors` maps a field name to messages (DRF style)."""

    status_code = 400
    code = "invalid"

    def __init__(self, field_errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in field_errors.items()))
        self.field_errors = field_errors

    def as_dict(self) -> dict[str, Any]:
        return dict(self.field_errors)


class NotFound(ApplicationError):
    status_code = 404
    code = "not_found"


class PermissionDenied(ApplicationError):
    status_code = 403
    code = "permission_denied"


class Conflict(ApplicationError):
    status_code = 409
    code = "conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class RunActive(Conflict):
    code = "run_active"


class InsufficientCredits(Conflict):
    code = "insufficient_credits"


class BudgetExhausted(Conflict):
    """An operation's share of a run's credit cap is spent (`scope="operation"`: its stage
    stops, later stages go on), or the whole cap (`scope="run"`: the run ends)."""

    code = "budget_exhausted"


class ItemGone(Exception):
    """A pipeline item is no longer pending (another executor, or a user, got there first):
    nothing of this attempt may be committed. Raised by the services that write a stage's
    output, inside the item's transaction, which then rolls back (invariant 4)."""


class LeaseLost(Exception):
    """This worker no longer owns the run (its epoch is stale): stop without writing."""
