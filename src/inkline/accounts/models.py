"""Accounts (tenants), memberships with roles, and sites."""

from __future__ import annotations

import functools
import zoneinfo
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from inkline.core import crypto
from inkline.core.models import TimeStampedModel


@functools.cache
def timezone_names() -> frozenset[str]:
    """The IANA names of the tz database, read once per process (a walk of the zoneinfo
    directory takes about 15 ms)."""
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in timezone_names():
        raise ValidationError(f"'{value}' is not an IANA time zone name (e.g. Europe/London).")


class Account(TimeStampedModel):
    """A tenant. `credits` is the balance; `credits_held` the sum of open holds.

    Available credits = credits - credits_held, never below zero (database constraint).
    """

    name = models.CharField(max_length=200)
    credits = models.BigIntegerField(default=0)
    credits_held = models.BigIntegerField(default=0)
    low_balance_threshold = models.BigIntegerField(default=100)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(credits_held__gte=0) & Q(credits__gte=models.F("credits_held")),
                name="account_available_credits_non_negative",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def available_credits(self) -> int:
        return self.credits - self.credits_held


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


class Membership(TimeStampedModel):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.OWNER)

    def __str__(self) -> str:
        return f"{self.user} @ {self.account} ({self.role})"

    @property
    def can_edit(self) -> bool:
        return self.role in (Role.OWNER, Role.EDITOR)


class SiteQuerySet(models.QuerySet["Site"]):
    def for_account(self, account_id: int) -> SiteQuerySet:
        return self.filter(account_id=account_id)


class Publisher(models.TextChoices):
    STATIC = "static", "Static site (Markdown for Hugo/Jekyll)"
    WORDPRESS = "wordpress", "WordPress"
    NONE = "none", "None"


# Keys of publisher_config that are secrets: stored encrypted, never returned.
SECRET_CONFIG_KEYS = frozenset({"password", "application_password", "api_key", "token"})


class Site(TimeStampedModel):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(max_length=200)
    url = models.URLField(max_length=500, blank=True, default="")
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    publisher = models.CharField(max_length=20, choices=Publisher.choices, default=Publisher.STATIC)
    publisher_config = models.JSONField(default=dict, blank=True)
    publisher_secrets = models.TextField(blank=True, default="", editable=False)
    # Raised by every change of what the pipeline has pending that is made outside a run (an
    # import, a review decision, a retry): pages that reuse recent counts key them on it.
    pipeline_version = models.PositiveIntegerField(default=0, editable=False)

    objects = SiteQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="site_name_unique_per_account")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def secrets(self) -> dict[str, Any]:
        return crypto.decrypt_json(self.publisher_secrets)

    def set_publisher_config(self, config: dict[str, Any]) -> None:
        """Split `config` into plain settings and encrypted secrets (secrets merge: a key
        left out keeps its stored value; an empty string removes it)."""
        plain = {k: v for k, v in config.items() if k not in SECRET_CONFIG_KEYS}
        secrets = self.secrets()
        for key in SECRET_CONFIG_KEYS & config.keys():
            if config[key]:
                secrets[key] = config[key]
            else:
                secrets.pop(key, None)
        self.publisher_config = plain
        self.publisher_secrets = crypto.encrypt_json(secrets)

    def public_publisher_config(self) -> dict[str, Any]:
        shown = dict(self.publisher_config)
        for key in self.secrets():
            shown[f"{key}_set"] = True
        return shown
