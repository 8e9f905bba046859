"""Accounts (tenants), memberships with roles, and sites."""

from __future__ import annotations

import functools
import zoneinfo
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from inkline.accounts import voice as voices
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


class PointOfView(models.TextChoices):
    NONE = "", "No preference"
    WE = "we", "We (first person)"
    YOU = "you", "You (second person)"
    THEY = "they", "They (third person)"


class BrandVoice(TimeStampedModel):
    """How a site's articles are written (`accounts.voice`): sent with every writing prompt,
    kept in each article's provenance, and checked by the SEO gate (words to avoid, reading
    ease). No row: no preference."""

    site = models.OneToOneField(Site, on_delete=models.CASCADE, related_name="brand_voice")
    voice = models.TextField(max_length=voices.VOICE_MAX, blank=True, default="")
    audience = models.CharField(max_length=voices.AUDIENCE_MAX, blank=True, default="")
    words_to_use = models.JSONField(default=list, blank=True)
    words_to_avoid = models.JSONField(default=list, blank=True)
    # The Flesch reading ease the SEO gate asks for (0–100); null: the default, 50.
    reading_ease = models.PositiveSmallIntegerField(null=True, blank=True)
    point_of_view = models.CharField(
        max_length=4, choices=PointOfView.choices, blank=True, default=PointOfView.NONE
    )
    example = models.TextField(max_length=voices.EXAMPLE_MAX, blank=True, default="")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(reading_ease__isnull=True) | Q(reading_ease__lte=100),
                name="brand_voice_reading_ease_0_100",
            ),
            models.CheckConstraint(
                condition=Q(point_of_view__in=["", *voices.POINTS_OF_VIEW]),
                name="brand_voice_point_of_view_known",
            ),
        ]

    def __str__(self) -> str:
        return f"Brand voice of {self.site}"

    def clean(self) -> None:
        errors = voices.settings_errors(
            voices.cleaned({name: getattr(self, name) for name in voices.FIELDS})
        )
        if errors:
            raise ValidationError(errors)

    def as_voice(self) -> voices.Voice:
        return voices.Voice(
            voice=self.voice,
            audience=self.audience,
            words_to_use=tuple(self.words_to_use),
            words_to_avoid=tuple(self.words_to_avoid),
            reading_ease=self.reading_ease,
            point_of_view=self.point_of_view,
            example=self.example,
        )
