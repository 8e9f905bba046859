"""Keywords, clusters and content ideas (stages 1–3 of the pipeline); keyword import jobs."""

from __future__ import annotations

import re
import unicodedata
import uuid

from django.db import models
from django.db.models import Q

from inkline.core.models import PipelineItem, TimeStampedModel

_SPACES = re.compile(r"\s+")


def normalize_phrase(phrase: str) -> str:
    """Case-, width- and whitespace-insensitive form used for per-site de-duplication."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", phrase)).strip().casefold()


class Intent(models.TextChoices):
    INFORMATIONAL = "informational", "Informational"
    COMMERCIAL = "commercial", "Commercial"
    TRANSACTIONAL = "transactional", "Transactional"
    NAVIGATIONAL = "navigational", "Navigational"


class Keyword(TimeStampedModel, PipelineItem):
    class Status(models.TextChoices):
        NEW = "new", "New"
        CLUSTERED = "clustered", "Clustered"

    site = models.ForeignKey("accounts.Site", on_delete=models.CASCADE, related_name="keywords")
    phrase = models.CharField(max_length=255)
    normalized = models.CharField(max_length=255, editable=False)
    volume = models.PositiveIntegerField(null=True, blank=True)
    difficulty = models.PositiveSmallIntegerField(null=True, blank=True)
    intent = models.CharField(max_length=20, choices=Intent.choices, blank=True, default="")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    cluster = models.ForeignKey(
        "planner.Cluster", null=True, blank=True, on_delete=models.SET_NULL, related_name="keywords"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "normalized"], name="keyword_unique_per_site"),
            models.CheckConstraint(
                condition=Q(status="new", cluster__isnull=True)
                | Q(status="clustered", cluster__isnull=False),
                name="keyword_status_matches_cluster",
            ),
            models.CheckConstraint(
                condition=Q(difficulty__isnull=True) | Q(difficulty__lte=100),
                name="keyword_difficulty_0_100",
            ),
        ]
        indexes = [
            models.Index(fields=["site", "status", "id"], name="keyword_pending"),
            # Covers the pending count (attempts included): no row reads at 100,000 keywords.
            models.Index(fields=["site", "status", "attempts"], name="keyword_pending_count"),
        ]

    def __str__(self) -> str:
        return self.phrase

    def save(self, *args: object, **kwargs: object) -> None:
        self.normalized = normalize_phrase(self.phrase)
        super().save(*args, **kwargs)


class Cluster(TimeStampedModel, PipelineItem):
    class Status(models.TextChoices):
        NEW = "new", "Waiting for ideas"
        IDEAS = "ideas", "Ideas generated"

    site = models.ForeignKey("accounts.Site", on_delete=models.CASCADE, related_name="clusters")
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    provenance = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["site", "status", "id"], name="cluster_pending")]

    def __str__(self) -> str:
        return self.name


class ContentIdea(TimeStampedModel, PipelineItem):
    class Status(models.TextChoices):
        NEW = "new", "New"
        QUEUED = "queued", "Queued as a task"

    site = models.ForeignKey("accounts.Site", on_delete=models.CASCADE, related_name="ideas")
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="ideas")
    title = models.CharField(max_length=255)
    primary_keyword = models.CharField(max_length=255)
    target_keywords = models.JSONField(default=list, blank=True)
    content_type = models.CharField(max_length=30, default="guide")
    content_structure = models.CharField(max_length=30, default="article")
    outline = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    provenance = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["site", "status", "id"], name="idea_pending")]

    def __str__(self) -> str:
        return self.title


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Waiting for a worker"
    VALIDATING = "validating", "Checking every line"
    WRITING = "writing", "Writing keywords"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


ACTIVE_IMPORT_STATUSES = (ImportStatus.QUEUED, ImportStatus.VALIDATING, ImportStatus.WRITING)


class KeywordImportJob(TimeStampedModel):
    """A large keyword import done in the background. The row is the queue of record (the
    broker only wakes a worker, the beat's reconciler wakes one again for a job nobody holds);
    `epoch` counts the claims and fences every write of the job's executor; `lease_expires_at`
    says until when its executor is presumed alive. Keywords and the final `done` status
    commit in one transaction: a job is done with all of its keywords, or with none."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    site = models.ForeignKey(
        "accounts.Site", on_delete=models.CASCADE, related_name="keyword_imports"
    )
    source = models.CharField(max_length=4, choices=[("csv", "CSV"), ("json", "JSON")])
    encoding = models.CharField(max_length=10, default="utf-8-sig")  # of the stored file
    filename = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    total_lines = models.PositiveIntegerField(default=0)  # lines after the header (rows: JSON)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    created_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # [{"line", "error"}], the first ones
    error_count = models.PositiveIntegerField(default=0)  # all of them
    message = models.TextField(blank=True, default="")  # why it failed or was retried
    epoch = models.PositiveIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="keyword_import_progress_0_100"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "lease_expires_at"], name="keyword_import_active"),
            models.Index(fields=["site", "created_at"], name="keyword_import_site"),
        ]

    def __str__(self) -> str:
        return f"import {self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_IMPORT_STATUSES


class KeywordImportUpload(models.Model):
    """One piece (`seq` from 0, about a megabyte) of the file of a job that has not finished
    yet; deleted when it ends. Kept apart from the job so that reading a job's progress never
    loads the file, and in pieces so that no process ever holds the whole file: it is stored
    and read back as a stream."""

    job = models.ForeignKey(KeywordImportJob, on_delete=models.CASCADE, related_name="upload")
    seq = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "seq"], name="keyword_import_upload_piece")
        ]
