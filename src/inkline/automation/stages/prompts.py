"""Stage 5, Content → Image Prompts: the images each article wants, with prompts."""

from __future__ import annotations

from typing import NamedTuple

from django.db.models import QuerySet

from inkline.ai.types import AIProvider, ImagePromptsResult, Usage
from inkline.automation.stages.base import Committed, Stage, WorkItem
from inkline.writer.models import Content
from inkline.writer.selectors import CONTENT_WITHOUT_PROMPTS, content_pending_prompts
from inkline.writer.services import ImagePromptDraft, image_prompts_store


class PromptJob(NamedTuple):
    title: str
    html: str


class PromptStage(Stage[Content, PromptJob, ImagePromptsResult]):
    number = 5
    name = "Content → Image Prompts"
    noun = "articles"
    typical_seconds = 1.5
    yields = 4.0
    description = "Articles in review without image prompts. Stage 5 extracts the prompts."
    limit_field = "max_content_per_run"
    operation = "image_prompt_extraction"
    typical_usage = Usage(calls=1, items=1, prompt_tokens=1800, completion_tokens=300)
    model = Content
    unfinished = CONTENT_WITHOUT_PROMPTS

    def pending(self, site_id: int) -> QuerySet[Content]:
        return content_pending_prompts(site_id=site_id)

    def build(self, obj: Content) -> WorkItem[PromptJob]:
        return WorkItem(
            ids=(obj.pk,), payload=PromptJob(obj.title, obj.html), label=f"'{obj.title}'"
        )

    def call(self, provider: AIProvider, item: WorkItem[PromptJob]) -> ImagePromptsResult:
        return provider.extract_image_prompts(item.payload.title, item.payload.html)

    def commit(
        self, site_id: int, item: WorkItem[PromptJob], result: ImagePromptsResult
    ) -> Committed:
        (content_id,) = item.ids
        created = image_prompts_store(
            site_id=site_id,
            content_id=content_id,
            prompts=[
                ImagePromptDraft(
                    kind=p.kind, position=p.position, prompt=p.prompt, alt_text=p.alt_text
                )
                for p in result.prompts
            ],
            provenance=result.provenance.as_dict(result.usage),
        )
        return Committed(created=created)
