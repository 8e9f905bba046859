"""Stage 3's write: a content idea queued as a writing task."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from inkline.core.text import has_words
from inkline.planner.models import ContentIdea, normalize_phrase
from inkline.planner.services import idea_queue
from inkline.writer.models import WritingTask


@dataclass(frozen=True)
class TaskQueued:
    task: WritingTask | None
    skipped: str = ""  # why the idea got no task (it repeats another task's keyword)
    code: str = "task_duplicate_skipped"  # the run event recording `skipped`


def task_create_from_idea(*, site_id: int, idea: ContentIdea) -> TaskQueued:
    """Queue a writing task for a new idea and take the idea out of stage 3's pending set.
    No cannibalization: one task per primary keyword per site (a database constraint too);
    an idea that repeats a task's keyword gets no task, and the reason on the idea. Raises
    `ItemGone` when the idea is no longer new. An idea whose primary keyword has no letters
    or digits (markup only, or empty) gets no task either: no article is written about
    nothing."""
    if not has_words(idea.primary_keyword):
        message = (
            f"Idea '{idea.title}' not queued: its primary keyword has no letters or digits "
            "once markup is removed."
        )
        with transaction.atomic(savepoint=False):
            idea_queue(site_id=site_id, idea_id=idea.pk, note=message)
        return TaskQueued(task=None, skipped=message, code="task_empty_keyword_skipped")
    duplicate = WritingTask.objects.filter(
        site_id=site_id, normalized_keyword=normalize_phrase(idea.primary_keyword)
    ).first()
    with transaction.atomic(savepoint=False):
        if duplicate is not None:
            message = (
                f"Idea '{idea.title}' not queued: task '{duplicate.title}' already targets "
                f"the primary keyword '{idea.primary_keyword}'."
            )
            idea_queue(site_id=site_id, idea_id=idea.pk, note=message)
            return TaskQueued(task=None, skipped=message)
        idea_queue(site_id=site_id, idea_id=idea.pk)
        task = WritingTask.objects.create(
            site_id=site_id,
            idea_id=idea.pk,
            cluster_id=idea.cluster_id,
            title=idea.title,
            primary_keyword=idea.primary_keyword,
        )
    return TaskQueued(task=task)
