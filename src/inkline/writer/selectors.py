"""Writer reads: what stages 4–7 have pending, oldest first.

Each `*_OPEN` condition says what a stage has not done yet with a row; the pending set is the
open rows that have attempts left (see `inkline.core.models.attempts_left`). The services that
write a stage's output are conditional on the same condition.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from inkline.core.models import attempts_left
from inkline.writer.models import Content, Image, WritingTask

# Stage 4: tasks waiting for their article.
TASKS_OPEN = Q(status=WritingTask.Status.QUEUED)
# Stage 5: articles in review whose image prompts were not extracted yet.
CONTENT_WITHOUT_PROMPTS = Q(status=Content.Status.REVIEW, prompts_extracted=False)
# Stage 6: image rows with a prompt and no file.
IMAGES_OPEN = Q(status=Image.Status.PENDING)
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


def content_pending_approval(*, site_id: int) -> QuerySet[Content]:
    """Articles the approval gate judges next: in review, prompts extracted, not held, and no
    image still waiting for its file (stage 7 counts no attempts: it makes no AI call)."""
    return (
        Content.objects.filter(CONTENT_UNDECIDED, site_id=site_id, prompts_extracted=True)
        .exclude(Exists(Image.objects.filter(IMAGES_OPEN, content=OuterRef("pk"))))
        .order_by("id")
    )
