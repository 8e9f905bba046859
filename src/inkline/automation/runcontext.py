"""What one slice of a run works with: the leased run, its site and settings, the provider.

Every write to the run goes through `RunContext.write`, conditional on the lease's epoch
(invariant 2): a worker whose lease was taken over gets `LeaseLost` instead of writing.

The run's failure state lives on the run row, not here, so it outlasts the slice: the
failures in a row (`endpoint_failures_in_row`, `item_failures_in_row`), the items that failed
in this run (`failed_item_ids`, never tried again by it) and the notes of its stopped reason
(`notes`, through `RunContext.note`).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from inkline import clock
from inkline.accounts.models import Site
from inkline.ai.types import AIProvider
from inkline.automation.events import event_record
from inkline.automation.lease import Lease
from inkline.automation.models import STAGES, AutomationConfig, AutomationRun
from inkline.automation.progress import progress_percent
from inkline.automation.selectors import outlook_of, stage_paces
from inkline.automation.shutdown import shutdown_requested
from inkline.billing.models import CreditCostConfig
from inkline.core.errors import LeaseLost


@dataclass
class RunContext:
    run: AutomationRun
    lease: Lease
    site: Site
    config: AutomationConfig
    provider: AIProvider
    costs: dict[str, CreditCostConfig]
    deadline: float  # time.monotonic() at which the slice ends
    concurrency: int
    # Seconds per item of each stage, as the site's earlier runs measured (read once a slice).
    pace: dict[int, float] | None = field(default=None)

    def write(self, **fields: Any) -> None:
        """Write run fields, conditional on our epoch; also renews the lease (heartbeat)."""
        now = clock.now()
        fields.setdefault(
            "lease_expires_at", now + dt.timedelta(seconds=settings.INKLINE_RUN_LEASE_SECONDS)
        )
        fields.setdefault("heartbeat_at", now)
        if not AutomationRun.objects.filter(pk=self.run.pk, lease_epoch=self.lease.epoch).update(
            **fields
        ):
            raise LeaseLost(self.run.run_id)
        for name, value in fields.items():
            setattr(self.run, name, value)

    def time_up(self) -> bool:
        """The slice must start no new item: its time is over, or the process is stopping."""
        return time.monotonic() >= self.deadline or shutdown_requested()

    def status(self) -> str:
        return str(AutomationRun.objects.values_list("status", flat=True).get(pk=self.run.pk))

    def event(
        self, message: str, *, stage: int | None = None, level: str = "info", code: str = ""
    ) -> None:
        event_record(
            site_id=self.site.pk, run=self.run, stage=stage, level=level, code=code, message=message
        )

    def note(self, text: str) -> None:
        """Add a sentence to the run's stopped reason (kept on the run, once)."""
        notes = list(self.run.notes or [])
        if text not in notes:
            self.write(notes=[*notes, text])

    def failed_ids(self, stage: int) -> set[int]:
        """Ids of the items of `stage` that failed in this run: it does not take them again."""
        return set((self.run.failed_item_ids or {}).get(str(stage), []))

    def stage_result(self, stage: int) -> dict[str, Any]:
        results = self.run.stage_results
        return results.setdefault(
            str(stage),
            {
                "processed": 0,
                "created": 0,
                "failed": 0,
                "failed_items": [],  # {"id", "label", "error"} of the first ones that failed
                "credits_used": 0,
                "seconds": 0.0,  # summed over the run's slices
            },
        )

    def enabled_stages(self) -> list[int]:
        return [s for s in STAGES if self.config.stage_enabled(s)]

    def progress(self, *, finished: bool = False) -> int:
        """The run's progress, its items weighed by the time they take (`progress`)."""
        if self.pace is None:
            self.pace = stage_paces(self.site.pk, before=self.run.pk)
        return progress_percent(
            enabled_stages=self.enabled_stages(),
            current_stage=self.run.current_stage,
            outlook=outlook_of(self.run, config=self.config, pace=self.pace),
            previous=self.run.progress_percent,
            finished=finished,
        )


class StageStop(Exception):
    """The stage cannot go on (budget, credits, provider down); `end_run` stops the run,
    `fail_run` fails it with `reason` as its stopped reason and `error` (the reason itself
    by default) as its error message."""

    def __init__(
        self, reason: str, *, end_run: bool, fail_run: bool = False, error: str = ""
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.end_run = end_run
        self.fail_run = fail_run
        self.error = error or reason
