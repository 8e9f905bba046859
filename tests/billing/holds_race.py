"""Processes racing for credit holds on one capped run, on the embedded SQLite file (WAL,
IMMEDIATE transactions): `python -m tests.billing.holds_race PROCESSES` with a fresh
INKLINE_DATA_DIR. Each process reserves, then captures or releases, until the run's budget
refuses it repeatedly; the last line of output is a JSON document of the resulting figures."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import sys
import time
from typing import Any

CAP = 600  # with the global split: content_generation 240, image_generation 180
BALANCE = 10_000


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inkline.settings")
    import django

    django.setup()


def work(args: tuple[int, int, int, int], gate: Any, results: Any) -> None:
    run_pk, account_id, site_id, seed = args
    _setup()
    from django.db import connections

    from inkline.automation.events import RunEventAlerts
    from inkline.automation.selectors import run_cap
    from inkline.billing.services import credit_capture, credit_release, credit_reserve
    from inkline.core.errors import BudgetExhausted

    rng = random.Random(seed)
    counts = {"held": 0, "captured": 0, "released": 0, "refused": 0}
    gate.wait(timeout=60)  # every process is ready: start together
    try:
        for n in range(2000):
            op = rng.choice(["content_generation", "image_generation"])
            try:
                hold = credit_reserve(
                    account_id=account_id,
                    amount=rng.randint(1, 15),
                    operation_type=op,
                    site_id=site_id,
                    run_id=run_pk,
                    run_cap=run_cap(site_id),
                    alerts=RunEventAlerts(run_pk),
                )
            except BudgetExhausted:
                counts["refused"] += 1
                if counts["refused"] >= 5:
                    break
                continue
            counts["held"] += 1
            time.sleep(rng.random() / 500)  # the AI call: others take holds meanwhile
            if rng.random() < 0.3:
                credit_release(hold=hold, reason="AI call failed")
                counts["released"] += 1
            else:
                credit_capture(
                    hold=hold,
                    amount=rng.randint(1, 20),
                    key=f"race:{seed}:{n}",
                    description="racing capture",
                    alerts=RunEventAlerts(run_pk),
                )
                counts["captured"] += 1
    finally:
        connections.close_all()
        results.put(counts)


def main(processes: int) -> dict[str, Any]:
    _setup()
    from django.core.management import call_command
    from django.db import connections
    from django.db.models import Sum

    from inkline.accounts.models import Account
    from inkline.automation.models import AutomationConfig
    from inkline.automation.services import run_start
    from inkline.automation.sites import account_create, site_create
    from inkline.billing.models import CreditHold, CreditTransaction, RunBudget

    call_command("migrate", verbosity=0)
    account, _ = account_create(name="Race", username="race", password="pw", credits=BALANCE)
    site = site_create(account=account, name="race")
    AutomationConfig.objects.filter(site=site).update(max_credits_per_run=CAP)
    run = run_start(site=site, wake=False)
    connections.close_all()

    # Forked after every connection is closed: each process opens its own.
    fork = multiprocessing.get_context("fork")
    gate, results = fork.Barrier(processes), fork.Queue()
    workers = [
        fork.Process(target=work, args=((run.pk, account.pk, site.pk, i), gate, results))
        for i in range(processes)
    ]
    for p in workers:
        p.start()
    counts = [results.get(timeout=120) for _ in workers]
    for p in workers:
        p.join(timeout=30)

    budget = RunBudget.objects.get(pk=run.pk)
    captured = dict(
        CreditTransaction.objects.filter(run=run, kind="capture")
        .values_list("operation_type")
        .annotate(s=Sum("amount"))
    )
    account = Account.objects.get(pk=account.pk)
    return {
        "processes": processes,
        "counts": counts,
        "cap": budget.cap,
        "used": budget.used,
        "spent": budget.spent,
        "lines": {
            line.operation_type: {"limit": line.limit, "used": line.used, "spent": line.spent}
            for line in budget.lines.all()
        },
        "captured": {op: -int(s) for op, s in captured.items()},
        "credits": account.credits,
        "credits_held": account.credits_held,
        "ledger_sum": int(
            CreditTransaction.objects.filter(account=account).aggregate(s=Sum("amount"))["s"]
        ),
        "open_holds": CreditHold.objects.filter(run=run, status="open").count(),
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 6)))
