"""Webhook endpoints and deliveries (issue 21).

A delivery is a row: the database is the queue of record, as for runs. Emitting an event
inserts one delivery per subscribed endpoint (and one email delivery per account owner for
the events mailed), in the transaction of the change that caused it; the beat's tick sends
what is due, each row claimed with a conditional UPDATE (`status`, `next_attempt_at` as the
lease), retried with backoff until `RETRY_WINDOW` after its creation.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from inkline import clock
from inkline.accounts.models import Account
from inkline.core import crypto
from inkline.core.models import TimeStampedModel


class EventKind(models.TextChoices):
    RUN_COMPLETED = "run.completed", "A run completed"
    RUN_FAILED = "run.failed", "A run failed"
    RUN_CANCELLED = "run.cancelled", "A run was cancelled"
    ARTICLE_PUBLISHED = "article.published", "An article was published"
    ARTICLE_FAILED = "article.failed", "An article failed to publish"
    BUDGET_ALERT = "budget.alert", "A budget alert"
    SCHEDULE_DISABLED = "schedule.disabled", "An automation schedule turned itself off"


# The events also mailed to the account's owners.
EMAILED_KINDS = frozenset({EventKind.RUN_FAILED, EventKind.ARTICLE_FAILED, EventKind.BUDGET_ALERT})


class WebhookEndpoint(TimeStampedModel):
    """An account's receiver: a URL, the events it wants, and the secret its deliveries are
    signed with (stored encrypted, shown once when made)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True, default="")
    events = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    secret_encrypted = models.TextField(editable=False)

    def __str__(self) -> str:
        return self.url

    def secret(self) -> str:
        return str(crypto.decrypt_json(self.secret_encrypted)["secret"])

    def set_secret(self, secret: str) -> None:
        self.secret_encrypted = crypto.encrypt_json({"secret": secret})

    def wants(self, kind: str) -> bool:
        return self.is_active and kind in (self.events or [])


class Delivery(models.Model):
    """One event for one receiver: a webhook endpoint, or an owner's email address."""

    class Channel(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        EMAIL = "email", "Email"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # due at next_attempt_at
        SENDING = "sending", "Sending"  # claimed until next_attempt_at (then due again)
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"  # gave up: the retry window ended or the URL is refused

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEBHOOK)
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    recipient = models.EmailField(max_length=254, blank=True, default="")
    event_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    kind = models.CharField(max_length=40, choices=EventKind.choices)
    body = models.TextField()  # the JSON sent, byte for byte (its signature covers it)
    redelivery_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="redeliveries"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=clock.now, db_index=True, editable=False)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due",
                condition=Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["endpoint", "-created_at"], name="delivery_log"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(channel="webhook") & Q(endpoint__isnull=False))
                | (Q(channel="email") & Q(endpoint__isnull=True) & ~Q(recipient="")),
                name="delivery_has_one_receiver",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.endpoint or self.recipient} ({self.status})"
