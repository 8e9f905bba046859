"""Per-site publishing settings: when approved content goes live."""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import models
from django.db.models import Q

from inkline import clock
from inkline.core.models import TimeStampedModel

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
INTERNAL_LINKS_MAX_LIMIT = 20
# What a user changes in a site's publishing settings (the API and the settings page).
SETTINGS_FIELDS = (
    "auto_approval_enabled",
    "auto_publish_enabled",
    "scheduling_mode",
    "publish_days",
    "publish_time_slots",
    "stagger_start_time",
    "stagger_end_time",
    "stagger_interval_minutes",
    "daily_publish_target",
    "weekly_publish_target",
    "monthly_publish_target",
    "queue_limit",
    "internal_links_max",
    "schedule_on_wordpress",
)


def default_publish_days() -> list[str]:
    return ["mon", "tue", "wed", "thu", "fri"]


def default_time_slots() -> list[str]:
    return ["09:00", "14:00", "18:00"]


class SchedulingMode(models.TextChoices):
    TIME_SLOTS = "time_slots", "Time slots"
    STAGGER = "stagger", "Staggered"
    IMMEDIATE = "immediate", "Immediate"


class PublishingSettings(TimeStampedModel):
    site = models.OneToOneField(
        "accounts.Site", on_delete=models.CASCADE, related_name="publishing_settings"
    )
    auto_approval_enabled = models.BooleanField(default=True)
    auto_publish_enabled = models.BooleanField(default=True)
    scheduling_mode = models.CharField(
        max_length=12, choices=SchedulingMode.choices, default=SchedulingMode.TIME_SLOTS
    )
    publish_days = models.JSONField(default=default_publish_days)
    publish_time_slots = models.JSONField(default=default_time_slots)
    stagger_start_time = models.TimeField(default=dt.time(9, 0))
    stagger_end_time = models.TimeField(default=dt.time(18, 0))
    stagger_interval_minutes = models.PositiveIntegerField(default=15)
    daily_publish_target = models.PositiveIntegerField(default=3)
    weekly_publish_target = models.PositiveIntegerField(default=15)
    monthly_publish_target = models.PositiveIntegerField(default=50)
    queue_limit = models.PositiveIntegerField(default=100)
    # Internal links: how many other published articles of its cluster an article links to
    # (its "Related reading" block); 0 turns internal linking off.
    internal_links_max = models.PositiveSmallIntegerField(default=3)
    # "Hand scheduled posts to WordPress": an article placed into a slot is created on the
    # site's WordPress at once as a scheduled (`future`) post dated at its slot, so WordPress
    # publishes it even when Inkline's beat is down (`publishing.handoff`). Off: Inkline pushes
    # the post at its slot time. No effect with another publisher.
    schedule_on_wordpress = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "publishing settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(stagger_interval_minutes__gte=1), name="stagger_interval_positive"
            ),
            models.CheckConstraint(condition=Q(queue_limit__gte=1), name="queue_limit_positive"),
            models.CheckConstraint(
                condition=Q(stagger_end_time__gt=models.F("stagger_start_time")),
                name="stagger_end_after_start",
            ),
            models.CheckConstraint(
                condition=Q(internal_links_max__lte=INTERNAL_LINKS_MAX_LIMIT),
                name="internal_links_max_0_20",
            ),
        ]

    def __str__(self) -> str:
        return f"Publishing settings of {self.site}"


class InternalLink(models.Model):
    """One link of an article's "Related reading" block to another published article of its
    cluster (`linkset.choose_links`). The rows are the truth; the block is rendered from them
    on every publish and every update, so it is never pasted twice."""

    site = models.ForeignKey(
        "accounts.Site", on_delete=models.CASCADE, related_name="internal_links"
    )
    cluster = models.ForeignKey(
        "planner.Cluster", on_delete=models.CASCADE, related_name="internal_links"
    )
    source = models.ForeignKey(
        "writer.Content", on_delete=models.CASCADE, related_name="outgoing_links"
    )
    target = models.ForeignKey(
        "writer.Content", on_delete=models.CASCADE, related_name="incoming_links"
    )
    position = models.PositiveSmallIntegerField()  # order in the block, 0 first
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "target"], name="internal_link_once"),
            models.CheckConstraint(
                condition=~Q(source=models.F("target")), name="internal_link_not_to_itself"
            ),
        ]
        indexes = [models.Index(fields=["cluster", "source"], name="internal_link_cluster")]

    def __str__(self) -> str:
        return f"{self.source_id} → {self.target_id}"


class LinkSync(models.Model):
    """A published article whose "Related reading" block changed after it was pushed: the
    publish tick pushes it again (the static file rewritten, the WordPress post updated).

    `token` changes with every new change, so a push that started before the change does not
    clear the row. `due_at` is null once Inkline gave up (the error stays); the article's next
    link change makes it due again."""

    content = models.OneToOneField(
        "writer.Content", on_delete=models.CASCADE, primary_key=True, related_name="link_sync"
    )
    site = models.ForeignKey("accounts.Site", on_delete=models.CASCADE, related_name="+")
    token = models.UUIDField()
    due_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    changed_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [models.Index(fields=["due_at"], name="link_sync_due")]

    def __str__(self) -> str:
        return f"Links of {self.content_id} to push"


class RemoteSchedule(models.Model):
    """An article handed to the site's WordPress as a scheduled (`future`) post
    (`PublishingSettings.schedule_on_wordpress`, `publishing.handoff`).

    The content row says what Inkline wants (its slot while it is scheduled, nothing once it
    is not); `held_at` is what WordPress was last seen to hold. When they differ the row is
    due (`due_at`) and the publish tick brings WordPress in line: creates the post, moves its
    date, or trashes it. `token` changes with every change of what Inkline wants, so a sync
    that started before it does not mark the row done. `due_at` is null when in line, or
    once Inkline gave up (the error stays; the next change makes it due again)."""

    content = models.OneToOneField(
        "writer.Content", on_delete=models.CASCADE, primary_key=True, related_name="remote_schedule"
    )
    site = models.ForeignKey("accounts.Site", on_delete=models.CASCADE, related_name="+")
    remote_id = models.CharField(max_length=255, blank=True, default="")  # the WordPress post
    url = models.URLField(max_length=1000, blank=True, default="")
    held_at = models.DateTimeField(null=True, blank=True)  # its `future` date; null: none held
    token = models.UUIDField(default=uuid.uuid4)
    due_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["due_at"], name="remote_schedule_due")]

    def __str__(self) -> str:
        return f"WordPress schedule of {self.content_id}"
