"""Run events: a RunEvent row (shown in the UI and API) plus a line in the run's log file."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from inkline import clock
from inkline.automation.models import AutomationRun, RunEvent
from inkline.notices.models import EventKind
from inkline.notices.services import event_emit

# What a run's end is called in a notice.
RUN_ENDS = {
    EventKind.RUN_COMPLETED: "completed",
    EventKind.RUN_FAILED: "failed",
    EventKind.RUN_CANCELLED: "was cancelled",
}


def run_log_path(run_id: str) -> Path:
    return Path(settings.LOG_DIR) / "runs" / f"{run_id}.log"


def event_record(
    *,
    site_id: int,
    message: str,
    run: AutomationRun | None = None,
    stage: int | None = None,
    level: str = RunEvent.Level.INFO,
    code: str = "",
) -> RunEvent:
    at = clock.now()
    event = RunEvent.objects.create(
        site_id=site_id, run=run, at=at, stage=stage, level=level, code=code, message=message
    )
    if run is not None:
        path = run_log_path(run.run_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        stage_part = f" stage={stage}" if stage else ""
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"{at.isoformat()} {level.upper()}{stage_part} {message}\n")
    return event


def run_notice(run: AutomationRun, kind: EventKind) -> None:
    """The webhook (and email) notice of a run's end: call it in the transaction that ended
    the run, with `run` holding its final status and reason."""
    site = run.site
    event_emit(
        account_id=site.account_id,
        kind=kind,
        payload={
            "run_id": run.run_id,
            "site": {"id": site.pk, "name": site.name},
            "status": run.status,
            "trigger_type": run.trigger_type,
            "stopped_reason": run.stopped_reason,
            "error_message": run.error_message,
            "total_credits_used": run.total_credits_used,
            "message": f"Run {run.run_id} on {site.name} {RUN_ENDS[kind]}. {run.stopped_reason}",
        },
    )


class RunEventAlerts:
    """A run's budget alerts (`inkline.billing.services.alerts.RunAlerts`): each is a warning
    event on the run's timeline, and its code is kept in `AutomationRun.alerts` so it is sent
    once per run. Billing calls it with the run's budget row locked."""

    def __init__(self, run_pk: int) -> None:
        self.run_pk = run_pk

    def sent(self) -> list[str]:
        return list(
            AutomationRun.objects.values_list("alerts", flat=True).get(pk=self.run_pk) or []
        )

    def send(self, code: str, message: str) -> None:
        run = AutomationRun.objects.get(pk=self.run_pk)
        event_record(
            site_id=run.site_id,
            run=run,
            stage=run.current_stage if run.current_stage <= 7 else None,
            level=RunEvent.Level.WARNING,
            code=code,
            message=message,
        )
        AutomationRun.objects.filter(pk=self.run_pk).update(alerts=[*(run.alerts or []), code])
        site = run.site
        event_emit(
            account_id=site.account_id,
            kind=EventKind.BUDGET_ALERT,
            payload={
                "code": code,
                "run_id": run.run_id,
                "site": {"id": site.pk, "name": site.name},
                "message": f"{site.name}, run {run.run_id}: {message}",
            },
        )
