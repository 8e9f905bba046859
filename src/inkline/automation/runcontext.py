"""What one slice of a run works with: the leased run, its site and settings, the provider.

Every write to the run goes through `RunContext.write`, conditional on the lease's epoch
(invariant 2): a worker whose lease was taken over gets `LeaseLost` instead of writing.
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
    consecutive_failures: int = 0
    notes: list[str] = field(default_factory=list)
    # Items that failed in this slice, as (stage, id): not retried until a later slice or run.
    failed_ids: set[tuple[int, int]] = field(default_factory=set)

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

    def stage_result(self, stage: int) -> dict[str, Any]:
        results = self.run.stage_results
        return results.setdefault(
            str(stage),
            {"processed": 0, "created": 0, "failed": 0, "credits_used": 0, "seconds": 0.0},
        )

    def enabled_stages(self) -> list[int]:
        return [s for s in STAGES if self.config.stage_enabled(s)]

    def progress(self, *, finished: bool = False) -> int:
        return progress_percent(
            enabled_stages=self.enabled_stages(),
            current_stage=self.run.current_stage,
            plan=self.run.stage_plan,
            results=self.run.stage_results,
            previous=self.run.progress_percent,
            finished=finished,
        )


class StageStop(Exception):
    """The stage cannot go on (budget, credits, provider down); `end_run` stops the run."""

    def __init__(self, reason: str, *, end_run: bool, fail_run: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.end_run = end_run
        self.fail_run = fail_run
