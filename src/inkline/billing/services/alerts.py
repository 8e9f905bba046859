"""Budget alerts: run events when a run passes 80% and 100% of its cap, and when the account's
available balance is below its threshold. Each fires once per run (`AutomationRun.alerts`).

Called with the run's budget row locked (inside a capture, or by `cap_reached`), so two
captures of one run cannot both send the same alert.
"""

from __future__ import annotations

from django.db import transaction

from inkline.billing import budget
from inkline.billing.models import RunBudget


def _send(run_pk: int, code: str, message: str, sent: list[str]) -> list[str]:
    from inkline.automation.events import event_record
    from inkline.automation.models import AutomationRun, RunEvent

    run = AutomationRun.objects.get(pk=run_pk)
    event_record(
        site_id=run.site_id,
        run=run,
        stage=run.current_stage if run.current_stage <= 7 else None,
        level=RunEvent.Level.WARNING,
        code=code,
        message=message,
    )
    sent = [*sent, code]
    AutomationRun.objects.filter(pk=run_pk).update(alerts=sent)
    return sent


def _sent(run_pk: int) -> list[str]:
    from inkline.automation.models import AutomationRun

    return list(AutomationRun.objects.values_list("alerts", flat=True).get(pk=run_pk) or [])


def after_capture(*, run_pk: int, spent: int, cap: int, available: int, threshold: int) -> None:
    """Alerts a capture may have caused: the run's spending `spent` against its `cap`, the
    account's `available` balance against its `threshold`. Runs inside the capture's
    transaction; reads the alerts already sent only when one may be due."""
    maybe_cap = budget.cap_alerts_due(spent=spent, cap=cap, sent=())
    low = available < threshold
    if not maybe_cap and not low:
        return
    sent = _sent(run_pk)
    for pct in budget.cap_alerts_due(spent=spent, cap=cap, sent=sent):
        code = dict(budget.CAP_ALERTS)[pct]
        sent = _send(
            run_pk,
            code,
            f"This run has spent {spent} of its {cap}-credit cap ({pct}% reached).",
            sent,
        )
    if low and budget.LOW_BALANCE_ALERT not in sent:
        _send(
            run_pk,
            budget.LOW_BALANCE_ALERT,
            f"Low credit balance: {available} credits available, below the alert threshold "
            f"of {threshold}.",
            sent,
        )


def cap_reached(*, run_pk: int, message: str) -> None:
    """The run's whole cap left no room for the next call: the 100% alert, once."""
    with transaction.atomic():
        row = RunBudget.objects.select_for_update().filter(pk=run_pk).first()
        sent = _sent(run_pk)
        code = dict(budget.CAP_ALERTS)[100]
        if row is not None and code not in sent:
            _send(run_pk, code, f"This run reached its {row.cap}-credit cap: {message}", sent)
