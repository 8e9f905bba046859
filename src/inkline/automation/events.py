"""Run events: a RunEvent row (shown in the UI and API) plus a line in the run's log file."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from inkline import clock
from inkline.automation.models import AutomationRun, RunEvent


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
