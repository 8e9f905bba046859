"""Signed webhooks (issue 21): a real receiver verifies the signatures; a receiver down for
three attempts then up gets each event exactly once; retries stop after 24 hours; a claimed
delivery is never sent twice at once; private URLs are refused unless allowed."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine
from django.db import transaction

from inkline import clock
from inkline.accounts.models import Account
from inkline.celery import BEAT_SCHEDULE, app
from inkline.notices import signing
from inkline.notices.models import Delivery, EventKind, WebhookEndpoint
from inkline.notices.services import (
    LEASE,
    RETRY_WINDOW,
    deliveries_send_due,
    delivery_send,
    endpoint_create,
    event_emit,
    retry_delay,
)
from inkline.notices.tasks import deliver_due
from tests.notices.receiver import Receiver, free_port, serving

pytestmark = pytest.mark.django_db
UTC = dt.UTC
START = dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _loopback(settings: Any) -> None:
    settings.INKLINE_ALLOW_PRIVATE_TARGETS = True  # the receivers listen on loopback


def hook(account: Account, url: str, *kinds: EventKind) -> tuple[WebhookEndpoint, str]:
    return endpoint_create(account=account, url=url, events=list(kinds or EventKind))


def emit(account: Account, kind: EventKind, **payload: Any) -> str:
    with transaction.atomic():
        return str(event_emit(account_id=account.pk, kind=kind, payload=payload))


def test_a_receiver_verifies_the_signature_of_each_delivery(account: Account) -> None:
    with serving(Receiver()) as receiver:
        _, secret = hook(account, receiver.url, EventKind.RUN_COMPLETED)
        receiver.secret = secret
        event_id = emit(account, EventKind.RUN_COMPLETED, run_id="r1", message="done")
        assert deliveries_send_due() == {Delivery.objects.get().pk: "delivered"}
    (got,) = receiver.received
    assert got.verified and got.status == 200
    assert got.headers["Inkline-Event"] == "run.completed"
    assert got.headers["Inkline-Event-Id"] == event_id
    assert got.event["id"] == event_id and got.event["type"] == "run.completed"
    assert got.event["data"] == {"run_id": "r1", "message": "done"}
    assert got.event["account"] == account.pk
    delivery = Delivery.objects.get()
    assert delivery.status == "delivered" and delivery.attempts == 1
    assert (delivery.response_status, delivery.response_excerpt) == (200, "ok")
    assert got.body == delivery.body.encode()
    # the stored secret is encrypted: not in clear in the row
    assert secret not in WebhookEndpoint.objects.get().secret_encrypted
    # the module's own check agrees with the receiver's recipe, and refuses a tampered body
    header = got.headers["Inkline-Signature"]
    stamp = int(header.split(",")[0][2:])
    assert signing.verify(secret, got.body, header, now=stamp)
    assert not signing.verify(secret, got.body + b" ", header, now=stamp)
    assert not signing.verify("whsec_other", got.body, header, now=stamp)
    assert not signing.verify(secret, got.body, header, now=stamp + 301)


def test_a_wrong_secret_is_refused_by_the_receiver_and_retried(account: Account) -> None:
    with serving(Receiver(secret="whsec_not_the_one")) as receiver:
        hook(account, receiver.url)
        emit(account, EventKind.RUN_FAILED, message="x")
        assert list(deliveries_send_due().values()) == ["retry"]
    assert [r.verified for r in receiver.received] == [False]
    delivery = Delivery.objects.get(channel="webhook")
    assert delivery.status == "pending" and delivery.response_status == 400
    assert delivery.error == "The receiver answered HTTP 400."


def test_a_receiver_down_for_three_attempts_then_up_gets_each_event_exactly_once(
    account: Account,
) -> None:
    port = free_port()  # nothing listens there yet: connections are refused
    receiver = Receiver(port=port)
    _, receiver.secret = hook(
        account, receiver.url, EventKind.RUN_FAILED, EventKind.ARTICLE_PUBLISHED
    )
    with time_machine.travel(START, tick=False) as traveller:
        first = emit(account, EventKind.RUN_FAILED, run_id="r1", message="boom")
        second = emit(account, EventKind.ARTICLE_PUBLISHED, content_id=7, message="out")
        emit(account, EventKind.BUDGET_ALERT, code="cap_80", message="not subscribed")
        assert Delivery.objects.filter(channel="webhook").count() == 2

        for attempt in (1, 2, 3):
            outcomes = deliveries_send_due()
            assert sorted(outcomes.values()) == ["retry", "retry"]
            rows = list(Delivery.objects.filter(channel="webhook"))
            assert {(d.status, d.attempts) for d in rows} == {("pending", attempt)}
            assert all("ConnectionError" in d.error for d in rows)
            due = rows[0].next_attempt_at
            assert due == clock.now() + retry_delay(attempt)
            # not due before its backoff ends
            traveller.shift(retry_delay(attempt) / 2)
            assert deliveries_send_due() == {}
            traveller.move_to(due)
        assert [retry_delay(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]

        with serving(receiver):
            assert sorted(deliveries_send_due().values()) == ["delivered", "delivered"]
            # a day of ticks afterwards sends nothing again
            for _ in range(25):
                traveller.shift(dt.timedelta(hours=1))
                assert deliveries_send_due() == {}
    assert receiver.event_ids() == [first, second]
    assert len(receiver.received) == 2 and all(r.verified for r in receiver.received)
    assert set(Delivery.objects.values_list("status", "attempts")) == {("delivered", 4)}


def test_retries_stop_after_24_hours_and_the_delivery_fails_visibly(account: Account) -> None:
    with serving(Receiver(status=503)) as receiver:
        _, receiver.secret = hook(account, receiver.url)
        with time_machine.travel(START, tick=False) as traveller:
            emit(account, EventKind.SCHEDULE_DISABLED, message="off")
            outcomes: list[str] = []
            while len(outcomes) < 100:
                (outcome,) = deliveries_send_due().values()
                outcomes.append(outcome)
                delivery = Delivery.objects.get()
                if outcome != "retry":
                    break
                assert delivery.next_attempt_at is not None
                traveller.move_to(delivery.next_attempt_at)
    assert outcomes[-1] == "failed" and set(outcomes[:-1]) == {"retry"}
    delivery = Delivery.objects.get()
    assert delivery.status == "failed" and delivery.next_attempt_at is None
    assert delivery.last_attempt_at is not None
    assert delivery.last_attempt_at <= START + RETRY_WINDOW
    assert delivery.last_attempt_at + dt.timedelta(hours=1) > START + RETRY_WINDOW
    assert delivery.error.startswith(f"Gave up after {delivery.attempts} attempt(s)")
    assert delivery.response_status == 503
    assert len(receiver.received) == delivery.attempts == len(outcomes)
    assert 25 <= delivery.attempts <= 35  # 30 s doubling to an hour, then hourly


def test_a_claimed_delivery_is_not_sent_twice_and_a_dead_claim_is_taken_over(
    account: Account,
) -> None:
    with serving(Receiver()) as receiver:
        _, receiver.secret = hook(account, receiver.url)
        with time_machine.travel(START, tick=False) as traveller:
            emit(account, EventKind.RUN_CANCELLED, message="stop")
            delivery = Delivery.objects.get()
            # another worker claimed it and is sending (or died while sending)
            Delivery.objects.filter(pk=delivery.pk).update(
                status="sending", attempts=1, next_attempt_at=START + LEASE
            )
            assert delivery_send(delivery_id=delivery.pk) == "skipped"
            assert deliveries_send_due() == {}
            traveller.move_to(START + LEASE)  # its lease ended: due again
            assert deliveries_send_due() == {delivery.pk: "delivered"}
    assert len(receiver.received) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)


def test_only_subscribed_active_endpoints_of_the_account_get_an_event(
    account: Account, django_user_model: Any
) -> None:
    other = Account.objects.create(name="Other")
    url = "http://127.0.0.1:9/"
    wants, _ = hook(account, url, EventKind.ARTICLE_FAILED)
    hook(account, url, EventKind.ARTICLE_PUBLISHED)
    off, _ = hook(account, url, EventKind.ARTICLE_FAILED)
    WebhookEndpoint.objects.filter(pk=off.pk).update(is_active=False)
    hook(other, url, EventKind.ARTICLE_FAILED)
    emit(account, EventKind.ARTICLE_FAILED, message="x")
    assert list(Delivery.objects.filter(channel="webhook").values_list("endpoint", flat=True)) == [
        wants.pk
    ]


def test_an_event_emitted_in_a_transaction_that_rolls_back_leaves_no_delivery(
    account: Account,
) -> None:
    hook(account, "http://127.0.0.1:9/")
    with pytest.raises(RuntimeError), transaction.atomic():
        event_emit(account_id=account.pk, kind=EventKind.RUN_FAILED, payload={})
        assert Delivery.objects.count() == 1
        raise RuntimeError("the change itself failed")
    assert Delivery.objects.count() == 0


def test_a_private_url_is_refused_at_send_time_without_retries(
    account: Account, settings: Any
) -> None:
    with serving(Receiver()) as receiver:
        _, receiver.secret = hook(account, receiver.url)
        emit(account, EventKind.RUN_FAILED, message="x")
        settings.INKLINE_ALLOW_PRIVATE_TARGETS = False
        assert list(deliveries_send_due().values()) == ["failed"]
    assert receiver.received == []
    delivery = Delivery.objects.get(channel="webhook")
    assert delivery.status == "failed" and delivery.attempts == 1
    assert "127.0.0.1, a loopback address" in delivery.error
    assert json.loads(delivery.body)["type"] == "run.failed"


def test_the_beat_sends_due_deliveries_every_tick(account: Account) -> None:
    assert BEAT_SCHEDULE["notices-deliver"]["task"] == deliver_due.name
    assert deliver_due.name in app.tasks
    with serving(Receiver()) as receiver:
        _, receiver.secret = hook(account, receiver.url)
        emit(account, EventKind.ARTICLE_PUBLISHED, message="a")
        emit(account, EventKind.ARTICLE_FAILED, message="b")
        assert deliver_due.apply().get() == 2
        assert deliver_due.apply().get() == 0
    assert len(receiver.event_ids()) == 2
