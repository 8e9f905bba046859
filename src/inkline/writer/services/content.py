"""Stage 4's write: a task's article stored for review."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction
from django.utils.text import slugify

from inkline.accounts.selectors import site_voice
from inkline.core.errors import ItemGone
from inkline.core.text import sanitize_text
from inkline.writer.html import sanitize_html, word_count
from inkline.writer.models import Content, WritingTask
from inkline.writer.selectors import TASKS_OPEN
from inkline.writer.seo import seo_check


@dataclass(frozen=True)
class ArticleDraft:
    """An article as the AI wrote it (unsanitized): body HTML without an <h1>."""

    title: str
    html: str
    meta_description: str
    slug: str


def content_create_from_draft(
    *,
    site_id: int,
    task: WritingTask,
    draft: ArticleDraft,
    provenance: Mapping[str, object],
) -> Content:
    """Store a task's article in review (HTML and text sanitized, a slug unique in the site,
    its SEO score) and mark the task written. Raises `ItemGone` when the task no longer waits
    for its article."""
    with transaction.atomic(savepoint=False):
        if not WritingTask.objects.filter(TASKS_OPEN, pk=task.pk, site_id=site_id).update(
            status=WritingTask.Status.DONE, last_error=""
        ):
            raise ItemGone
        html = sanitize_html(draft.html)
        title = sanitize_text(draft.title)[:255] or task.title
        meta_description = sanitize_text(draft.meta_description)[:320]
        voice = site_voice(site_id)
        seo = seo_check(
            title=title,
            html=html,
            meta_description=meta_description,
            primary_keyword=task.primary_keyword,
            words_to_avoid=voice.words_to_avoid,
            reading_ease_min=voice.reading_ease_min,
        )
        return Content.objects.create(
            site_id=site_id,
            task_id=task.pk,
            cluster_id=task.cluster_id,
            title=title,
            html=html,
            meta_description=meta_description,
            slug=_unique_slug(site_id, draft.slug or title),
            primary_keyword=task.primary_keyword,
            word_count=word_count(html),
            status=Content.Status.REVIEW,
            provenance=dict(provenance),
            seo_score=seo.score,
            seo_report=seo.as_list(),
        )


def _unique_slug(site_id: int, text: str) -> str:
    base = slugify(text)[:200] or "article"
    taken = set(
        Content.objects.filter(site_id=site_id, slug__startswith=base).values_list(
            "slug", flat=True
        )
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug
