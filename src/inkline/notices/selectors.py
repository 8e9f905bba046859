"""Reads of webhooks and deliveries."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from inkline.accounts.models import Membership, Role
from inkline.notices.models import Delivery, WebhookEndpoint

DUE_STATUSES = (Delivery.Status.PENDING, Delivery.Status.SENDING)


def endpoints_for(account_id: int, kind: str) -> list[WebhookEndpoint]:
    """The account's active endpoints subscribed to `kind` (an account has a few: the
    events lists are read here rather than with JSON lookups SQLite lacks)."""
    active = WebhookEndpoint.objects.filter(account_id=account_id, is_active=True).order_by("id")
    return [endpoint for endpoint in active if endpoint.wants(kind)]


def owner_emails(account_id: int) -> list[str]:
    """The addresses of the account's owners that have one, once each."""
    emails = (
        Membership.objects.filter(account_id=account_id, role=Role.OWNER, user__is_active=True)
        .exclude(user__email="")
        .order_by("user__email")
        .values_list("user__email", flat=True)
        .distinct()
    )
    return list(emails)


def due_ids(now: dt.datetime, *, limit: int) -> list[int]:
    """Deliveries due at `now` (pending ones whose time has come, claims whose lease ended),
    the longest waiting first."""
    return list(
        Delivery.objects.filter(status__in=DUE_STATUSES, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def endpoint_deliveries(endpoint: WebhookEndpoint) -> QuerySet[Delivery]:
    """The endpoint's delivery log, newest first."""
    return Delivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-id")
