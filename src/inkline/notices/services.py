"""Notices: webhook endpoints, emitting events, and delivering them (webhooks and email).

Emitting is an explicit call (`event_emit`) from the places where things happen (a run
ends, an article is published or gives up, a budget alert fires, a schedule turns itself
off), made in the transaction of that change: the delivery rows commit with it or not at all.

Delivery is at-least-once, one attempt at a time per row: `delivery_send` claims a due row
with a conditional UPDATE (status `sending`, `next_attempt_at` moved to the end of a lease),
sends outside any transaction, and writes the outcome conditionally on its claim (the
attempt number). A worker lost mid-send leaves a claim whose lease ends: the row is due again.
Failures are retried with exponential backoff until RETRY_WINDOW after the event; then the
row is `failed` (a user may redeliver it). Receivers deduplicate on the body's event `id`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import smtplib
import uuid
from typing import Any

import requests
from django.conf import settings
from django.core.mail import EmailMessage
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import F

from inkline import clock
from inkline.accounts.models import Account
from inkline.core import outbound
from inkline.core.errors import InvalidTransition, ValidationFailed
from inkline.notices import selectors, signing
from inkline.notices.models import EMAILED_KINDS, Delivery, EventKind, WebhookEndpoint

log = logging.getLogger(__name__)

RETRY_WINDOW = dt.timedelta(hours=24)
RETRY_BASE = dt.timedelta(seconds=30)
RETRY_MAX = dt.timedelta(hours=1)
# A claim lasts this long; past it the row is presumed abandoned (its worker died) and due.
LEASE = dt.timedelta(minutes=2)
TIMEOUT = (5.0, 10.0)  # connect, read (seconds): well inside the lease
EXCERPT_CHARS = 500
USER_AGENT = "Inkline-Webhooks/1"
SUBJECTS = {
    EventKind.RUN_FAILED: "A run failed",
    EventKind.ARTICLE_FAILED: "An article failed to publish",
    EventKind.BUDGET_ALERT: "Budget alert",
}


def retry_delay(attempts: int) -> dt.timedelta:
    """Wait after `attempts` failed attempts: 30 s, 1, 2, 4 … minutes, at most an hour."""
    return min(RETRY_MAX, RETRY_BASE * (2 ** max(0, min(attempts, 20) - 1)))


# --- endpoints -------------------------------------------------------------------------------
def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _check_url(url: str) -> None:
    """The SSRF guard's answer for a webhook URL, as a 400 on `url`."""
    try:
        outbound.check_url(url)
    except outbound.UnsafeTarget as exc:
        raise ValidationFailed({"url": [f"This URL is refused: {exc.reason}"]}) from None
    except OSError:
        raise ValidationFailed({"url": ["The URL's host does not resolve."]}) from None


def endpoint_create(
    *,
    account: Account,
    url: str,
    events: list[str],
    description: str = "",
    is_active: bool = True,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret, in clear this once (stored encrypted)."""
    _check_url(url)
    secret = _new_secret()
    endpoint = WebhookEndpoint(
        account=account,
        url=url,
        events=list(dict.fromkeys(events)),
        description=description,
        is_active=is_active,
    )
    endpoint.set_secret(secret)
    endpoint.save()
    return endpoint, secret


def endpoint_update(*, endpoint: WebhookEndpoint, data: dict[str, Any]) -> WebhookEndpoint:
    """Change the fields given (`url`, `events`, `description`, `is_active`)."""
    if "url" in data and data["url"] != endpoint.url:
        _check_url(data["url"])
    if "events" in data:
        data = {**data, "events": list(dict.fromkeys(data["events"]))}
    for name, value in data.items():
        setattr(endpoint, name, value)
    if data:
        endpoint.save(update_fields=list(data))
    return endpoint


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> str:
    """A new secret for the endpoint (the old one stops at once); returned in clear once."""
    secret = _new_secret()
    endpoint.set_secret(secret)
    endpoint.save(update_fields=["secret_encrypted"])
    return secret


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint and its delivery log."""
    endpoint.delete()


# --- events ----------------------------------------------------------------------------------
def event_emit(*, account_id: int, kind: EventKind, payload: dict[str, Any]) -> uuid.UUID:
    """Record event `kind` of the account: a delivery per active endpoint subscribed to it,
    and for the kinds mailed (EMAILED_KINDS) an email delivery per owner with an address.
    Call it inside the transaction of the change it reports. Returns the event's id."""
    now = clock.now()
    event_id = uuid.uuid4()
    body = json.dumps(
        {
            "id": str(event_id),
            "type": str(kind),
            "created_at": now.isoformat(),
            "account": account_id,
            "data": payload,
        },
        cls=DjangoJSONEncoder,
        ensure_ascii=False,
    )
    common = {
        "account_id": account_id,
        "event_id": event_id,
        "kind": kind,
        "body": body,
        "created_at": now,
        "next_attempt_at": now,
    }
    rows = [
        Delivery(channel=Delivery.Channel.WEBHOOK, endpoint=endpoint, **common)
        for endpoint in selectors.endpoints_for(account_id, kind)
    ]
    if kind in EMAILED_KINDS:
        rows += [
            Delivery(channel=Delivery.Channel.EMAIL, recipient=email, **common)
            for email in selectors.owner_emails(account_id)
        ]
    if rows:
        Delivery.objects.bulk_create(rows)
    return event_id


def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    """Send a delivered or failed delivery again, as a new row (same event id and body, a
    fresh retry window), due at once."""
    if delivery.status not in (Delivery.Status.DELIVERED, Delivery.Status.FAILED):
        raise InvalidTransition(
            f"Delivery {delivery.pk} is still being delivered ({delivery.status}).",
            status=delivery.status,
        )
    now = clock.now()
    return Delivery.objects.create(
        account_id=delivery.account_id,
        channel=delivery.channel,
        endpoint_id=delivery.endpoint_id,
        recipient=delivery.recipient,
        event_id=delivery.event_id,
        kind=delivery.kind,
        body=delivery.body,
        redelivery_of=delivery,
        created_at=now,
        next_attempt_at=now,
    )


# --- sending ---------------------------------------------------------------------------------
class _Refused(Exception):
    """A delivery that no retry can make succeed (the URL is refused, the endpoint is off)."""


def _post(delivery: Delivery, session: requests.Session) -> tuple[int, str]:
    endpoint = delivery.endpoint
    assert endpoint is not None
    if not endpoint.is_active:
        raise _Refused("The endpoint is disabled.")
    try:
        outbound.check_url(endpoint.url)
    except outbound.UnsafeTarget as exc:
        raise _Refused(f"The URL is refused: {exc.reason}") from None
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Inkline-Event": delivery.kind,
        "Inkline-Event-Id": str(delivery.event_id),
        "Inkline-Delivery": str(delivery.pk),
        signing.HEADER: signing.signature_header(
            endpoint.secret(), body, timestamp=int(clock.now().timestamp())
        ),
    }
    # Redirects are not followed: a receiver answers where it is asked.
    response = outbound.guarded(session).post(
        endpoint.url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False
    )
    with response:
        return response.status_code, response.text[:EXCERPT_CHARS]


def _mail(delivery: Delivery) -> None:
    event = json.loads(delivery.body)
    data = event.get("data") or {}
    site = (data.get("site") or {}).get("name", "")
    subject = f"[Inkline] {SUBJECTS.get(EventKind(delivery.kind), delivery.kind)}"
    text = (
        f"{data.get('message', '')}\n\n"
        f"Event {delivery.kind} ({event['id']}) at {event['created_at']}"
        + (f", site {site}" if site else "")
        + ".\n"
    )
    EmailMessage(
        subject=subject + (f": {site}" if site else ""),
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.recipient],
    ).send()


def delivery_send(
    *, delivery_id: int, now: dt.datetime | None = None, session: requests.Session | None = None
) -> str:
    """One attempt at a due delivery. Returns "delivered", "retry" (due again after a
    backoff), "failed" (gave up) or "skipped" (not due, or claimed by another worker)."""
    now = now or clock.now()
    claimed = Delivery.objects.filter(
        pk=delivery_id, status__in=selectors.DUE_STATUSES, next_attempt_at__lte=now
    ).update(
        status=Delivery.Status.SENDING,
        attempts=F("attempts") + 1,
        next_attempt_at=now + LEASE,
        last_attempt_at=now,
    )
    if not claimed:
        return "skipped"
    delivery = Delivery.objects.select_related("endpoint").get(pk=delivery_id)
    mine = Delivery.objects.filter(
        pk=delivery_id, status=Delivery.Status.SENDING, attempts=delivery.attempts
    )
    code: int | None = None
    excerpt = error = ""
    final = False
    try:
        if delivery.channel == Delivery.Channel.EMAIL:
            _mail(delivery)
        else:
            code, excerpt = _post(delivery, session or requests.Session())
            if not 200 <= code < 300:
                error = f"The receiver answered HTTP {code}."
    except _Refused as exc:
        error, final = str(exc), True
    except (requests.RequestException, OSError, smtplib.SMTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
    except Exception as exc:  # a bug must not leave the row claimed until its lease ends
        log.exception("delivery %s failed", delivery_id)
        error = f"{type(exc).__name__}: {exc}"[:1000]
    result = {"response_status": code, "response_excerpt": excerpt, "error": error}
    if not error:
        mine.update(
            status=Delivery.Status.DELIVERED, delivered_at=now, next_attempt_at=None, **result
        )
        return "delivered"
    due = now + retry_delay(delivery.attempts)
    if final or due > delivery.created_at + RETRY_WINDOW:
        if not final:
            result["error"] = f"Gave up after {delivery.attempts} attempt(s): {error}"
        mine.update(status=Delivery.Status.FAILED, next_attempt_at=None, **result)
        return "failed"
    mine.update(status=Delivery.Status.PENDING, next_attempt_at=due, **result)
    return "retry"


def deliveries_send_due(*, now: dt.datetime | None = None, limit: int = 100) -> dict[int, str]:
    """The beat's tick: one attempt at every due delivery, the longest waiting first; what
    `limit` leaves is due on the next tick. Returns each delivery's outcome."""
    now = now or clock.now()
    session = requests.Session()
    with session:
        return {
            pk: delivery_send(delivery_id=pk, now=now, session=session)
            for pk in selectors.due_ids(now, limit=limit)
        }
