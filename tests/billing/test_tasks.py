"""The hold sweeper: a beat entry running a thin task around `credit_holds_sweep`."""

from __future__ import annotations

import pytest
import time_machine

from inkline import clock
from inkline.accounts.models import Account, Site
from inkline.automation.events import RunEventAlerts
from inkline.billing.models import CreditHold
from inkline.billing.services import HOLD_TTL, credit_reserve
from inkline.billing.tasks import sweep_holds
from inkline.celery import BEAT_SCHEDULE, app
from tests.billing.helpers import assert_books_balance, capped_run

pytestmark = pytest.mark.django_db


def test_the_beat_runs_the_sweeper_every_tick() -> None:
    assert BEAT_SCHEDULE["billing-sweep-holds"]["task"] == sweep_holds.name
    assert sweep_holds.name in app.tasks


def test_the_sweeper_task_releases_holds_left_by_a_dead_worker(
    account: Account, site: Site
) -> None:
    run = capped_run(site, 50)
    hold = credit_reserve(
        account_id=account.pk,
        amount=20,
        operation_type="content_generation",
        site_id=site.pk,
        run_id=run.pk,
        run_cap=50,
        alerts=RunEventAlerts(run.pk),
    )
    assert sweep_holds.apply().get() == 0  # not expired yet
    with time_machine.travel(clock.now() + HOLD_TTL * 2, tick=False):
        assert sweep_holds.apply().get() == 1
    assert CreditHold.objects.get(pk=hold.id).status == "released"
    account.refresh_from_db()
    assert account.credits_held == 0
    assert_books_balance(account)
