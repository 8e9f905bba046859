"""Automation configuration, runs (with their execution lease) and run events."""

from __future__ import annotations

import datetime as dt
import secrets

from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q

from inkline import clock

# The stages are described once, in the stage registry; STAGES and STAGE_NAMES are named
# here too for the modules that import them with the models.
from inkline.automation.stages import STAGE_LIMIT_FIELDS
from inkline.automation.stages import STAGE_NAMES as STAGE_NAMES
from inkline.automation.stages import STAGES as STAGES
from inkline.core.models import TimeStampedModel


class Frequency(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"


def _limit(help_text: str) -> models.PositiveIntegerField:
    return models.PositiveIntegerField(default=0, help_text=f"{help_text} (0 = unlimited)")


class AutomationConfig(TimeStampedModel):
    site = models.OneToOneField(
        "accounts.Site", on_delete=models.CASCADE, related_name="automation_config"
    )
    is_enabled = models.BooleanField(default=False)
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.DAILY)
    scheduled_time = models.TimeField(default=dt.time(2, 0))
    day_of_week = models.PositiveSmallIntegerField(default=0, help_text="0 = Monday")
    day_of_month = models.PositiveSmallIntegerField(default=1, help_text="1–28")
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    consecutive_failures = models.PositiveSmallIntegerField(default=0)

    stage_1_enabled = models.BooleanField(default=True)
    stage_2_enabled = models.BooleanField(default=True)
    stage_3_enabled = models.BooleanField(default=True)
    stage_4_enabled = models.BooleanField(default=True)
    stage_5_enabled = models.BooleanField(default=True)
    stage_6_enabled = models.BooleanField(default=True)
    stage_7_enabled = models.BooleanField(default=True)

    max_keywords_per_run = _limit("Max keywords to cluster per run")
    max_clusters_per_run = _limit("Max clusters to generate ideas for per run")
    max_ideas_per_run = _limit("Max ideas to convert to tasks per run")
    max_tasks_per_run = _limit("Max tasks to generate content for per run")
    max_content_per_run = _limit("Max content to extract image prompts for per run")
    max_images_per_run = _limit("Max images to generate per run")
    max_approvals_per_run = _limit("Max content to auto-approve per run")
    max_credits_per_run = _limit("Max credits one run may spend")

    # Refreshing published articles (`automation.refresh`): a run also rewrites published
    # articles last written more than `refresh_older_than_days` ago (0: not by age) or whose
    # SEO score is below the site's approval threshold, at most `refresh_max_per_run`; each
    # waits for review as a revision beside the live article. Its credits count toward the
    # run's budget.
    refresh_enabled = models.BooleanField(default=False)
    refresh_older_than_days = models.PositiveIntegerField(
        default=0,
        validators=[MaxValueValidator(36_500)],
        help_text="Refresh articles last written more than this many days ago (0 = not by age)",
    )
    refresh_below_threshold = models.BooleanField(
        default=False, help_text="Refresh articles whose SEO score is below the approval threshold"
    )
    refresh_max_per_run = models.PositiveIntegerField(
        default=5, help_text="Max published articles one run refreshes (0 = unlimited)"
    )

    # The AI endpoint's last connection check for this site (`AICheck.as_dict()` and
    # "checked_at"), taken before a run's first call and on demand: it says what the endpoint
    # can do (stage 6 is skipped and stage 7 judges text alone when it cannot make images).
    ai_check = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(day_of_week__lte=6), name="day_of_week_0_6"),
            models.CheckConstraint(
                condition=Q(day_of_month__gte=1) & Q(day_of_month__lte=28),
                name="day_of_month_1_28",
            ),
        ]

    def __str__(self) -> str:
        return f"Automation of {self.site}"

    def stage_enabled(self, stage: int) -> bool:
        return bool(getattr(self, f"stage_{stage}_enabled"))

    def stage_limit(self, stage: int) -> int:
        return int(getattr(self, STAGE_LIMIT_FIELDS[stage]))


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.PAUSED)
EXECUTABLE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


def new_run_id() -> str:
    return f"run_{secrets.token_hex(8)}"


class AutomationRun(TimeStampedModel):
    """One automation run. Invariant 1: at most one active run per site (partial unique
    constraint). Invariant 2: the execution lease (owner, epoch, expiry) fences writers."""

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Manual"
        SCHEDULED = "scheduled", "Scheduled"

    run_id = models.CharField(max_length=40, unique=True, default=new_run_id, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="runs")
    site = models.ForeignKey("accounts.Site", on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    trigger_type = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    current_stage = models.PositiveSmallIntegerField(default=1)

    queued_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    resumed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    initial_snapshot = models.JSONField(default=dict, blank=True)
    stage_results = models.JSONField(default=dict, blank=True)
    # Items planned per stage when the stage started: min(pending, limit); for progress.
    stage_plan = models.JSONField(default=dict, blank=True)
    total_credits_used = models.BigIntegerField(default=0)
    progress_percent = models.PositiveSmallIntegerField(default=0)
    stopped_reason = models.TextField(blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    # Alerts already sent for this run (e.g. "cap_80"), so each fires once.
    alerts = models.JSONField(default=list, blank=True)

    # Failure state of the whole run, kept here (not in a slice) so it survives the slices:
    # AI endpoint failures in a row (the circuit breaker's count: unreachable, timeouts,
    # server errors; a success or an answer resets it), items failed in a row (the model's
    # answers unusable), the items that failed in this run per stage ({"4": [ids]}, never
    # tried again by it), and the notes that make up the stopped reason.
    endpoint_failures_in_row = models.PositiveIntegerField(default=0)
    item_failures_in_row = models.PositiveIntegerField(default=0)
    failed_item_ids = models.JSONField(default=dict, blank=True)
    notes = models.JSONField(default=list, blank=True)
    # The AI connection check taken before the run's first AI call (`AICheck.as_dict()` and
    # "checked_at"); empty until then. Its "images" decides whether stage 6 runs.
    ai_check = models.JSONField(default=dict, blank=True)

    # Execution lease. Every state write by a worker is conditional on `lease_epoch`.
    lease_owner = models.CharField(max_length=200, blank=True, default="")
    lease_epoch = models.PositiveIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    recoveries = models.PositiveSmallIntegerField(default=0)
    last_enqueued_at = models.DateTimeField(null=True, blank=True)
    # A scheduled run's outcome has been counted in its config's failure streak.
    schedule_outcome_recorded = models.BooleanField(default=False)

    class Meta:
        ordering = ["-queued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["site"],
                condition=Q(status__in=["queued", "running", "paused"]),
                name="one_active_run_per_site",
            ),
            models.CheckConstraint(
                condition=Q(current_stage__gte=1) & Q(current_stage__lte=8),
                name="run_stage_1_8",
            ),
            models.CheckConstraint(
                condition=Q(progress_percent__lte=100), name="run_progress_0_100"
            ),
        ]
        indexes = [models.Index(fields=["status", "lease_expires_at"], name="run_active_lease")]

    def __str__(self) -> str:
        return self.run_id

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def settling(self) -> bool:
        """Paused or cancelled while a worker still holds the run: the AI calls that were in
        flight finish and are recorded (their items, figures and credits) before the worker
        lets go; until then the run's figures may still change ("Pausing…", "Cancelling…")."""
        return (
            self.status in (RunStatus.PAUSED, RunStatus.CANCELLED)
            and bool(self.lease_owner)
            and self.lease_expires_at is not None
            and self.lease_expires_at > clock.now()
        )

    @property
    def items_failed(self) -> int:
        """Items that failed in this run (their attempts counted), over all stages."""
        return sum(int(r.get("failed", 0)) for r in (self.stage_results or {}).values())

    @property
    def outcome(self) -> str:
        """The run's status, with a completed run that had failed items told apart:
        "completed" (clean), "completed_with_failures", "failed", "cancelled", or the status
        of a run not ended ("queued", "running", "paused")."""
        if self.status == RunStatus.COMPLETED and self.items_failed:
            return "completed_with_failures"
        return str(self.status)


class RunEvent(models.Model):
    class Level(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    site = models.ForeignKey("accounts.Site", on_delete=models.CASCADE, related_name="run_events")
    run = models.ForeignKey(
        AutomationRun, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    at = models.DateTimeField(db_index=True)
    stage = models.PositiveSmallIntegerField(null=True, blank=True)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.INFO)
    code = models.CharField(max_length=40, blank=True, default="")
    message = models.TextField()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["site", "at"], name="event_site_at")]

    def __str__(self) -> str:
        return f"[{self.level}] {self.message}"
