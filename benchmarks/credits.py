"""Credit bookkeeping per AI call: a hold before the call and its capture in the result's
transaction, on a run with a per-run cap, one after another; queries and time per call.

Prints one line of figures. Uses SQLite in a fresh data dir unless DATABASE_URL is set.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine, report, setup_django

CALLS = 500


def main() -> None:
    setup_django()
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from inkline.automation.events import RunEventAlerts
    from inkline.automation.models import AutomationConfig
    from inkline.automation.services import run_start
    from inkline.automation.sites import account_create, site_create
    from inkline.billing.services import credit_capture, credit_reserve

    account, _ = account_create(
        name="Bench", username=f"bench-{uuid.uuid4().hex[:8]}", password="pw", credits=10**9
    )
    site = site_create(account=account, name="bench")
    AutomationConfig.objects.filter(site=site).update(max_credits_per_run=10**8)
    run = run_start(site=site, wake=False)
    alerts = RunEventAlerts(run.pk)

    def one(i: int) -> None:
        hold = credit_reserve(
            account_id=account.pk,
            amount=25,
            operation_type="content_generation",
            site_id=site.pk,
            run_id=run.pk,
            run_cap=10**8,
            alerts=alerts,
        )
        with transaction.atomic():
            credit_capture(
                hold=hold, amount=9, key=f"{run.run_id}:{i}", description="bench", alerts=alerts
            )

    one(-1)  # fixes the run's budget
    with CaptureQueriesContext(connection) as queries:
        one(-2)
    started = time.perf_counter()
    for i in range(CALLS):
        one(i)
    seconds = time.perf_counter() - started
    print(
        f"{connection.vendor}: {CALLS} holds + captures in {seconds:.2f} s = "
        f"{seconds / CALLS * 1000:.2f} ms per AI call, {len(queries)} queries "
        f"(transaction statements included); {machine()}"
    )
    report(
        f"Credit bookkeeping per AI call on a capped run: hold + capture, {CALLS} in a row, "
        f"{connection.vendor} (`credits.py`)",
        "report",
        f"{seconds / CALLS * 1000:.2f} ms per call, {len(queries)} statements per call "
        f"(transaction statements included)",
    )


if __name__ == "__main__":
    main()
