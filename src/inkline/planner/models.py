"""Keywords, clusters and content ideas: stages 1–3 of the pipeline."""

from __future__ import annotations

import re
import unicodedata

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
