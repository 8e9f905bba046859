"""Budget alerts: when a run passes 80% and 100% of its cap, and when the account's available
balance is below its threshold. Each fires once per run.

Billing decides which alerts are due; where they go is the caller's `RunAlerts` (the engine
passes the run's event timeline, `inkline.automation.events.RunEventAlerts`), so billing
knows nothing of runs beyond their budget. Called with the run's budget row locked (inside a
capture, or by `cap_reached`), so two captures of one run cannot both send the same alert.
"""

from __future__ import annotations

from typing import Protocol

from django.db import transaction

from inkline.billing import budget
from inkline.billing.models import RunBudget


class RunAlerts(Protocol):
    """Where a run's budget alerts are recorded, and which were already sent."""

    def sent(self) -> list[str]: ...

    def send(self, code: str, message: str) -> None: ...


def after_capture(
    *, alerts: RunAlerts, spent: int, cap: int, available: int, threshold: int
) -> None:
    """Alerts a capture may have caused: the run's spending `spent` against its `cap`, the
    account's `available` balance against its `threshold`. Runs inside the capture's
    transaction; reads the alerts already sent only when one may be due."""
    maybe_cap = budget.cap_alerts_due(spent=spent, cap=cap, sent=())
    low = available < threshold
    if not maybe_cap and not low:
        return
    sent = alerts.sent()
    for pct in budget.cap_alerts_due(spent=spent, cap=cap, sent=sent):
        code = dict(budget.CAP_ALERTS)[pct]
        alerts.send(code, f"This run has spent {spent} of its {cap}-credit cap ({pct}% reached).")
        sent = [*sent, code]
    if low and budget.LOW_BALANCE_ALERT not in sent:
        alerts.send(
            budget.LOW_BALANCE_ALERT,
            f"Low credit balance: {available} credits available, below the alert threshold "
            f"of {threshold}.",
        )


def cap_reached(*, run_pk: int, alerts: RunAlerts, message: str) -> None:
    """The run's whole cap left no room for the next call: the 100% alert, once."""
    with transaction.atomic():
        row = RunBudget.objects.select_for_update().filter(pk=run_pk).first()
        code = dict(budget.CAP_ALERTS)[100]
        if row is not None and code not in alerts.sent():
            alerts.send(code, f"This run reached its {row.cap}-credit cap: {message}")
