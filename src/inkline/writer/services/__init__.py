"""Writer writes, by sub-domain: writing tasks (stage 3), articles (stage 4), images
(stages 5, 6) and the approval gate (stage 7)."""

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
)
from inkline.writer.services.revisions import (
    REVISION_CLAIM,
    revision_approve,
    revision_claim,
    revision_reject,
    revision_retry,
    revision_store,
    revision_write_failed,
    revisions_request,
    revisions_requeue_for_run,
    revisions_take_for_wake,
    revisions_woken,
)
from inkline.writer.services.writing_tasks import TaskQueued, task_create_from_idea

__all__ = [
    "REVISION_CLAIM",
    "ApprovalDecision",
    "ArticleDraft",
    "ImageFile",
    "ImagePromptDraft",
    "TaskQueued",
    "content_approval_decide",
    "content_create_from_draft",
    "image_file_store",
    "image_prompts_store",
    "revision_approve",
    "revision_claim",
    "revision_reject",
    "revision_retry",
    "revision_store",
    "revision_write_failed",
    "revisions_request",
    "revisions_requeue_for_run",
    "revisions_take_for_wake",
    "revisions_woken",
    "task_create_from_idea",
]
