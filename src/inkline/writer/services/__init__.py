"""Writer writes, by sub-domain: writing tasks (stage 3), articles (stage 4), images
(stages 5, 6) and review decisions (stage 7, and a user's approve or reject)."""

from inkline.writer.services.content import ArticleDraft, content_create_from_draft
from inkline.writer.services.images import (
    ImageFile,
    ImagePromptDraft,
    image_file_store,
    image_prompts_store,
)
from inkline.writer.services.review import (
    ApprovalDecision,
    content_approval_decide,
    content_approve,
    content_reject,
)
from inkline.writer.services.writing_tasks import TaskQueued, task_create_from_idea

__all__ = [
    "ApprovalDecision",
    "ArticleDraft",
    "ImageFile",
    "ImagePromptDraft",
    "TaskQueued",
    "content_approval_decide",
    "content_approve",
    "content_create_from_draft",
    "content_reject",
    "image_file_store",
    "image_prompts_store",
    "task_create_from_idea",
]
