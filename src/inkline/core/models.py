"""Base models shared by every app."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from inkline import clock


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(default=clock.now, db_index=True, editable=False)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        abstract = True

    def save(self, *args: object, **kwargs: object) -> None:
        self.updated_at = clock.now()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "updated_at"}  # type: ignore[misc]
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class PipelineItem(models.Model):
    """An item a pipeline stage works on: failures are counted and kept visible on the row.

    After INKLINE_ITEM_MAX_ATTEMPTS failures the item leaves the pending set until a user
    retries it (which resets `attempts`).
    """

    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        abstract = True


def attempts_left() -> Q:
    """Pipeline items that have failed fewer than INKLINE_ITEM_MAX_ATTEMPTS times: the others
    wait for a user's retry, out of every stage's pending set."""
    return Q(attempts__lt=settings.INKLINE_ITEM_MAX_ATTEMPTS)


class Installation(models.Model):
    """This Inkline installation: a single row holding its random id, made on first use
    (`inkline.core.installation.install_id`). Publishers mark what they write with it, so two
    installations writing to one place never take each other's work for their own."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="installation_single_row")]

    def __str__(self) -> str:
        return f"installation {self.uuid}"
