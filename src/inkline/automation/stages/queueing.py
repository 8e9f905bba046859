"""Stage 3, Ideas → Tasks: each new idea queued as a writing task (no AI call)."""

from __future__ import annotations

from django.db.models import QuerySet

from inkline.automation.stages.base import Committed, LocalStage, WorkItem
from inkline.planner.models import ContentIdea
from inkline.planner.selectors import IDEAS_OPEN, ideas_pending
from inkline.writer.services import task_create_from_idea


class TaskStage(LocalStage[ContentIdea, ContentIdea]):
    number = 3
    name = "Ideas → Tasks"
    noun = "ideas"
    typical_seconds = 0.01
    yields = 1.0
    description = "Content ideas not yet queued for writing. Stage 3 turns each into a task."
    limit_field = "max_ideas_per_run"
    model = ContentIdea
    unfinished = IDEAS_OPEN

    def pending(self, site_id: int) -> QuerySet[ContentIdea]:
        return ideas_pending(site_id=site_id)

    def build(self, obj: ContentIdea) -> WorkItem[ContentIdea]:
        return WorkItem(ids=(obj.pk,), payload=obj, label=f"idea '{obj.title}'")

    def commit(self, site_id: int, item: WorkItem[ContentIdea], result: None) -> Committed:
        queued = task_create_from_idea(site_id=site_id, idea=item.payload)
        if queued.task is None:
            return Committed(created=0, events=((queued.code, queued.skipped),))
        return Committed(created=1)
