"""Writing tasks, content and images: stages 4–7 and what publishing reads."""

from __future__ import annotations

from typing import ClassVar

from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q

from inkline.core.errors import InvalidTransition
from inkline.core.models import PipelineItem, TimeStampedModel
from inkline.planner.models import normalize_phrase


class SeoSettings(TimeStampedModel):
    """Per-site SEO policy: the score at or above which stage 7 approves automatically, and
    the minimum length of an article (stage 4 asks the AI for at least that many words)."""

    DEFAULT_THRESHOLD = 70
    MAX_MIN_WORDS = 10_000

    site = models.OneToOneField(
        "accounts.Site", on_delete=models.CASCADE, related_name="seo_settings"
    )
    approval_threshold = models.PositiveSmallIntegerField(
        default=DEFAULT_THRESHOLD, validators=[MaxValueValidator(100)]
    )
    min_words = models.PositiveIntegerField(
        "minimum words per article",
        default=0,
        validators=[MaxValueValidator(MAX_MIN_WORDS)],
        help_text="Stage 4 asks for articles of at least this many words; a shorter answer is "
        "asked again once, then the task fails with the reason (0 = no minimum, up to 10000).",
    )

    class Meta:
        verbose_name_plural = "SEO settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(approval_threshold__lte=100), name="seo_threshold_0_100"
            ),
            models.CheckConstraint(
                condition=Q(min_words__lte=10_000), name="seo_min_words_0_10000"
            ),
        ]

    def __str__(self) -> str:
        return f"SEO settings of {self.site}"


class WritingTask(TimeStampedModel, PipelineItem):
    """A queued request to write one article ("task" in the API and UI)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        DONE = "done", "Written"

    site = models.ForeignKey("accounts.Site", on_delete=models.CASCADE, related_name="tasks")
    idea = models.OneToOneField(
        "planner.ContentIdea", on_delete=models.CASCADE, related_name="task"
    )
    cluster = models.ForeignKey(
        "planner.Cluster", null=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    title = models.CharField(max_length=255)
    primary_keyword = models.CharField(max_length=255)
    # normalize_phrase(primary_keyword): no two tasks of a site target one keyword.
    normalized_keyword = models.CharField(max_length=255, editable=False, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)

    class Meta:
        indexes = [models.Index(fields=["site", "status", "id"], name="task_pending")]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "normalized_keyword"],
                condition=~Q(normalized_keyword=""),
                name="task_unique_keyword_per_site",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: object, **kwargs: object) -> None:
        self.normalized_keyword = normalize_phrase(self.primary_keyword)
        super().save(*args, **kwargs)


class Content(TimeStampedModel, PipelineItem):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        REVIEW = "review", "In review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        PUBLISHED = "published", "Published"

    class SiteStatus(models.TextChoices):
        NOT_PUBLISHED = "not_published", "Not published"
        SCHEDULED = "scheduled", "Scheduled"
        PUBLISHING = "publishing", "Publishing"
        PUBLISHED = "published", "Published"
        FAILED = "failed", "Failed"

    # Allowed review transitions (the guarded state machine of `status`).
    TRANSITIONS: dict[str, frozenset[str]] = {
        "draft": frozenset({"review"}),
        "review": frozenset({"approved", "rejected"}),
        "approved": frozenset({"rejected", "published", "review"}),
        "rejected": frozenset({"review", "approved"}),
        "published": frozenset(),
    }

    site = models.ForeignKey("accounts.Site", on_delete=models.CASCADE, related_name="contents")
    task = models.OneToOneField(
        WritingTask, null=True, blank=True, on_delete=models.SET_NULL, related_name="content"
    )
    cluster = models.ForeignKey(
        "planner.Cluster", null=True, blank=True, on_delete=models.SET_NULL, related_name="contents"
    )
    title = models.CharField(max_length=255)
    html = models.TextField(blank=True, default="")
    meta_description = models.CharField(max_length=320, blank=True, default="")
    slug = models.SlugField(max_length=255, allow_unicode=False)
    primary_keyword = models.CharField(max_length=255, blank=True, default="")
    word_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REVIEW)
    prompts_extracted = models.BooleanField(default=False)
    approved_at = models.DateTimeField(null=True, blank=True)
    site_status = models.CharField(
        max_length=15, choices=SiteStatus.choices, default=SiteStatus.NOT_PUBLISHED
    )
    scheduled_publish_at = models.DateTimeField(null=True, blank=True)
    unscheduled_reason = models.CharField(max_length=255, blank=True, default="")
    published_at = models.DateTimeField(null=True, blank=True)
    published_url = models.URLField(max_length=1000, blank=True, default="")
    publish_attempts = models.PositiveSmallIntegerField(default=0)
    publish_error = models.TextField(blank=True, default="")
    next_publish_attempt_at = models.DateTimeField(null=True, blank=True)
    lateness_seconds = models.IntegerField(null=True, blank=True)
    remote_id = models.CharField(max_length=255, blank=True, default="")
    # When a refresh (`ContentRevision`) last replaced the published article in place.
    modified_at = models.DateTimeField(null=True, blank=True)
    provenance = models.JSONField(default=dict, blank=True)
    # SEO checks (writer.seo): the 0–100 score, null until first checked, and every check as
    # {"check", "passed", "message"}. Computed when the article is written and again when its
    # images are added and before the approval gate.
    seo_score = models.PositiveSmallIntegerField(null=True, blank=True)
    seo_report = models.JSONField(default=list, blank=True)
    # Why stage 7 did not approve it automatically (its score is below the site's threshold).
    # Held content stays in review for a user to approve or reject, and leaves stage 7's
    # pending set so no run counts it again, until something that could change the verdict
    # changes (a new threshold, a re-check).
    held_reason = models.CharField(max_length=1000, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["site", "status", "id"], name="content_status"),
            models.Index(fields=["site_status", "scheduled_publish_at"], name="content_due"),
        ]
        constraints = [
            # Invariant 7: no two items of a site share a slot.
            models.UniqueConstraint(
                fields=["site", "scheduled_publish_at"],
                condition=Q(scheduled_publish_at__isnull=False),
                name="content_unique_slot_per_site",
            ),
            models.UniqueConstraint(fields=["site", "slug"], name="content_slug_unique_per_site"),
        ]

    def __str__(self) -> str:
        return self.title

    def can_transition(self, to: str) -> bool:
        return to in self.TRANSITIONS.get(self.status, frozenset())

    def check_transition(self, to: str) -> None:
        if not self.can_transition(to):
            raise InvalidTransition(
                f"Content {self.pk} cannot go from {self.status} to {to}.",
                status=self.status,
            )


class Image(TimeStampedModel, PipelineItem):
    class Kind(models.TextChoices):
        FEATURED = "featured", "Featured"
        IN_ARTICLE = "in_article", "In article"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for generation"
        DONE = "done", "Generated"

    content = models.ForeignKey(Content, on_delete=models.CASCADE, related_name="images")
    site = models.ForeignKey("accounts.Site", on_delete=models.CASCADE, related_name="images")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    position = models.PositiveSmallIntegerField(default=0)
    prompt = models.TextField()
    alt_text = models.CharField(max_length=255, blank=True, default="")
    file = models.FileField(upload_to="images/%Y/%m/", blank=True, default="")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    provenance = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["content_id", "position"]
        indexes = [models.Index(fields=["site", "status", "id"], name="image_pending")]
        constraints = [
            models.UniqueConstraint(
                fields=["content", "kind", "position"], name="image_unique_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.position} of {self.content_id}"


class ContentRevision(TimeStampedModel):
    """A refresh of a published article: the job (picked by age, SEO score or by hand, then
    written by the AI), the new version waiting for review beside the live one, and once
    approved, its push to the publisher in place. The rows of an article are its revision
    history (who asked, who approved what and when); `base_*` keep the live version the
    revision was written against, so its diff stays readable after it went live.

    The table is the queue of record: a row is claimed with a conditional UPDATE (`status`
    and `claimed_until`) and a claim older than its lease is taken again by the refresh tick.
    At most one open revision per article (a partial unique constraint): asking again for an
    article being refreshed is refused, never a second job."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to be written"
        WRITING = "writing", "Being written"
        REVIEW = "review", "In review"
        APPROVED = "approved", "Approved, being pushed"
        PUBLISHED = "published", "Live"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Manual"
        SCHEDULED = "scheduled", "Scheduled"

    OPEN: ClassVar[tuple[str, ...]] = ("queued", "writing", "review", "approved")
    MAX_AGE_DAYS: ClassVar[int] = 36_500  # the largest "older than" a refresh takes
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        "queued": frozenset({"writing", "failed"}),
        "writing": frozenset({"queued", "review", "failed"}),
        "review": frozenset({"approved", "rejected"}),
        "approved": frozenset({"published", "failed"}),
        "failed": frozenset({"queued"}),
        "published": frozenset(),
        "rejected": frozenset(),
    }

    content = models.ForeignKey(Content, on_delete=models.CASCADE, related_name="revisions")
    site = models.ForeignKey("accounts.Site", on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField(help_text="1 for an article's first refresh, then 2 …")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    trigger_type = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    reason = models.CharField(max_length=255, blank=True, default="")  # why it was picked
    requested_by = models.CharField(max_length=150, blank=True, default="")
    # The automation run whose budget its credits count toward (a scheduled refresh), by id:
    # the writer app sits below automation.
    run_pk = models.PositiveBigIntegerField(null=True, blank=True)
    # The live version it was written against.
    base_title = models.CharField(max_length=255, blank=True, default="")
    base_html = models.TextField(blank=True, default="")
    base_meta_description = models.CharField(max_length=320, blank=True, default="")
    # The new version (sanitized), once written.
    title = models.CharField(max_length=255, blank=True, default="")
    html = models.TextField(blank=True, default="")
    meta_description = models.CharField(max_length=320, blank=True, default="")
    word_count = models.PositiveIntegerField(default=0)
    seo_score = models.PositiveSmallIntegerField(null=True, blank=True)
    seo_report = models.JSONField(default=list, blank=True)
    provenance = models.JSONField(default=dict, blank=True)
    credits_used = models.PositiveIntegerField(default=0)
    written_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # writing or pushing
    last_error = models.TextField(blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)  # a claim's lease
    next_attempt_at = models.DateTimeField(null=True, blank=True)  # a push retried later
    decided_by = models.CharField(max_length=150, blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)
    rejected_reason = models.CharField(max_length=500, blank=True, default="")
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["content_id", "-number"]
        indexes = [models.Index(fields=["status", "claimed_until"], name="revision_due")]
        constraints = [
            models.UniqueConstraint(fields=["content", "number"], name="revision_unique_number"),
            models.UniqueConstraint(
                fields=["content"],
                condition=Q(status__in=("queued", "writing", "review", "approved")),
                name="revision_one_open_per_content",
            ),
        ]

    def __str__(self) -> str:
        return f"revision {self.number} of {self.content_id}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    def check_transition(self, to: str) -> None:
        if to not in self.TRANSITIONS.get(self.status, frozenset()):
            raise InvalidTransition(
                f"Revision {self.pk} cannot go from {self.status} to {to}.", status=self.status
            )
