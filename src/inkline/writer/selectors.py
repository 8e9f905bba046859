"""Writer reads: what stages 4–7 have pending, oldest first.

Each `*_OPEN` condition says what a stage has not done yet with a row; the pending set is the
open rows that have attempts left (see `inkline.core.models.attempts_left`). The services that
write a stage's output are conditional on the same condition.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.expressions import BaseExpression
from django.db.models.functions import Coalesce

from inkline.core.models import attempts_left
from inkline.writer.models import Content, ContentRevision, Image, SeoSettings, WritingTask

# Stage 4: tasks waiting for their article.
TASKS_OPEN = Q(status=WritingTask.Status.QUEUED)
# Stage 5: articles in review whose image prompts were not extracted yet.
CONTENT_WITHOUT_PROMPTS = Q(status=Content.Status.REVIEW, prompts_extracted=False)
# An image row with a prompt and no file.
IMAGE_WITHOUT_FILE = Q(status=Image.Status.PENDING)
# Stage 6: image rows with a prompt and no file, of articles still in review. An article
# approved, rejected or published without its images (a person decided, or stage 7 judged it
# on its text alone while images were off) does not get them later: turning stage 6 on again
# does not generate (and bill) images for posts already decided.
IMAGES_OPEN = IMAGE_WITHOUT_FILE & Q(content__status=Content.Status.REVIEW)
# Stage 7: articles in review not yet held by the approval gate. Held content (SEO score
# below the threshold) waits for a user, not for a run.
CONTENT_UNDECIDED = Q(status=Content.Status.REVIEW, held_reason="")


def tasks_pending(*, site_id: int) -> QuerySet[WritingTask]:
    return WritingTask.objects.filter(TASKS_OPEN, attempts_left(), site_id=site_id).order_by("id")


def content_pending_prompts(*, site_id: int) -> QuerySet[Content]:
    return Content.objects.filter(
        CONTENT_WITHOUT_PROMPTS, attempts_left(), site_id=site_id
    ).order_by("id")


def images_pending(*, site_id: int) -> QuerySet[Image]:
    return Image.objects.filter(IMAGES_OPEN, attempts_left(), site_id=site_id).order_by("id")


def content_pending_approval(
    *, site_id: int, no_images: BaseExpression | None = None
) -> QuerySet[Content]:
    """Articles the approval gate judges next: in review and not held; and, while images come,
    with their prompts extracted and no image still waiting for its file (stage 7 counts no
    attempts: it makes no AI call).

    `no_images` is an SQL text expression saying why the site's articles get no images ("" or
    NULL when they do): when it is not empty, articles are judged on their text alone, without
    waiting for prompts or image files. Each row carries it as `no_images` ("" when images
    come). One query: the pipeline counts this set with the other stages' in one statement."""
    images_ready = Q(prompts_extracted=True) & ~Exists(
        Image.objects.filter(IMAGE_WITHOUT_FILE, content=OuterRef("pk"))
    )
    undecided = Content.objects.filter(CONTENT_UNDECIDED, site_id=site_id)
    if no_images is None:
        return undecided.filter(images_ready).annotate(no_images=Value("")).order_by("id")
    return (
        undecided.annotate(no_images=Coalesce(no_images, Value("")))
        .filter(~Q(no_images="") | images_ready)
        .order_by("id")
    )


def min_words_annotation(*, site_id: int) -> Coalesce:
    """The site's minimum words per article as an SQL expression (0 without SEO settings),
    to annotate the rows stage 4 reads instead of a query per article."""
    return Coalesce(
        Subquery(SeoSettings.objects.filter(site_id=site_id).values("min_words")[:1]), Value(0)
    )


# --- refreshing published articles -------------------------------------------------------
@dataclass(frozen=True)
class RefreshPick:
    """A published article picked for a refresh, and why."""

    content_id: int
    reason: str


def refresh_candidates(
    *,
    site_id: int,
    now: dt.datetime,
    older_than_days: int = 0,
    seo_below: int = 0,
    ids: Sequence[int] = (),
    limit: int = 0,
) -> list[RefreshPick]:
    """Published articles of a site to refresh, oldest (last written or refreshed) first: those
    listed in `ids`, those last published or refreshed more than `older_than_days` days ago,
    and those whose SEO score is below `seo_below` (each criterion adds articles; 0 or empty
    leaves it out). An article with a refresh already open is never picked. `limit` bounds
    how many (0: no bound)."""
    criteria = Q(pk__in=list(ids)) if ids else Q(pk__in=[])
    if older_than_days:
        criteria |= Q(last_written__lt=now - dt.timedelta(days=older_than_days))
    if seo_below:
        criteria |= Q(seo_score__lt=seo_below)
    rows = (
        Content.objects.filter(site_id=site_id, status=Content.Status.PUBLISHED)
        .exclude(
            Exists(
                ContentRevision.objects.filter(
                    content=OuterRef("pk"), status__in=ContentRevision.OPEN
                )
            )
        )
        .annotate(last_written=Coalesce("modified_at", "published_at"))
        .filter(criteria)
        .order_by(F("last_written").asc(nulls_first=True), "id")
        .values_list("pk", "last_written", "seo_score")
    )
    listed = set(ids)
    picks = []
    for pk, last_written, score in rows[:limit] if limit else rows:
        if pk in listed:
            reason = "listed"
        elif seo_below and score is not None and score < seo_below:
            reason = f"SEO score {score} below {seo_below}"
        else:
            age = (now - last_written).days if last_written else 0
            reason = f"last written {age} days ago (older than {older_than_days})"
        picks.append(RefreshPick(content_id=pk, reason=reason))
    return picks


def revisions_of(*, content_id: int) -> QuerySet[ContentRevision]:
    """An article's refreshes, newest first: its revision history."""
    return ContentRevision.objects.filter(content_id=content_id).order_by("-number")


def revision_open_of(*, content_id: int) -> ContentRevision | None:
    return ContentRevision.objects.filter(
        content_id=content_id, status__in=ContentRevision.OPEN
    ).first()
