"""Stage 4, Tasks → Content: each queued task's article written, stored for review."""

from __future__ import annotations

from typing import NamedTuple

from django.db.models import QuerySet

from inkline.accounts.selectors import site_voice
from inkline.ai.types import AIProvider, ArticleIn, ArticleResult, Usage
from inkline.automation.stages.base import Committed, Stage, WorkItem
from inkline.writer.models import WritingTask
from inkline.writer.selectors import TASKS_OPEN, min_words_annotation, tasks_pending
from inkline.writer.services import ArticleDraft, content_create_from_draft


class ContentJob(NamedTuple):
    task: WritingTask
    brief: ArticleIn  # what the AI is asked to write


class ContentStage(Stage[WritingTask, ContentJob, ArticleResult]):
    number = 4
    name = "Tasks → Content"
    noun = "tasks"
    typical_seconds = 10.0
    yields = 1.0
    description = "Writing tasks waiting for their article. Stage 4 writes the articles."
    limit_field = "max_tasks_per_run"
    operation = "content_generation"
    typical_usage = Usage(calls=1, items=1, prompt_tokens=600, completion_tokens=2000, words=1200)
    model = WritingTask
    unfinished = TASKS_OPEN

    def pending(self, site_id: int) -> QuerySet[WritingTask]:
        # Each row carries the site's minimum words per article (`SeoSettings.min_words`),
        # read with it rather than once per article.
        return (
            tasks_pending(site_id=site_id)
            .select_related("idea")
            .annotate(min_words=min_words_annotation(site_id=site_id))
        )

    def build(self, obj: WritingTask) -> WorkItem[ContentJob]:
        idea = obj.idea
        brief = ArticleIn(
            title=idea.title,
            primary_keyword=idea.primary_keyword,
            target_keywords=tuple(idea.target_keywords),
            content_type=idea.content_type,
            outline=tuple(idea.outline),
            min_words=int(getattr(obj, "min_words", 0) or 0),
            voice=site_voice(obj.site_id),
        )
        return WorkItem(ids=(obj.pk,), payload=ContentJob(obj, brief), label=f"task '{obj.title}'")

    def call(self, provider: AIProvider, item: WorkItem[ContentJob]) -> ArticleResult:
        return provider.write_content(item.payload.brief)

    def commit(self, site_id: int, item: WorkItem[ContentJob], result: ArticleResult) -> Committed:
        article = result.article
        provenance = result.provenance.as_dict(result.usage)
        voice = item.payload.brief.voice
        if voice.is_set:  # what the article was asked to sound like
            provenance["brand_voice"] = voice.as_dict()
        content_create_from_draft(
            site_id=site_id,
            task=item.payload.task,
            draft=ArticleDraft(
                title=article.title,
                html=article.html,
                meta_description=article.meta_description,
                slug=article.slug,
            ),
            provenance=provenance,
        )
        return Committed(created=1)
