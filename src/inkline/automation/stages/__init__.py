"""The stage registry: the one place that maps a pipeline stage's number to what it is.

    STAGE_CLASSES[n]        the stage object (see `base.Stage`): name, noun, description,
                            limit_field, enabled_field, operation, model, pending(site_id),
                            unfinished, failed(site_id), pricing(), and what the engine calls
    stage(n)                the same, or ValueError for a number that is no stage
    STAGES                  the numbers, in pipeline order
    STAGE_NAMES, STAGE_LIMIT_FIELDS, RETRYABLE_STAGES   views of the registry

Everything that knows stages (the engine, pending counts, retries, estimates, the API, the UI
and the CLI) reads them here. Each stage's write is a service of the app that owns the data:
planner (`clusters_assign`, `ideas_create`) and writer (`task_create_from_idea`,
`content_create_from_draft`, `image_prompts_store`, `image_file_store`,
`content_approval_decide`).
"""

from __future__ import annotations

from typing import Any

from inkline.automation.stages.approval import ApprovalStage
from inkline.automation.stages.base import (
    Committed,
    ItemGone,
    LocalStage,
    Stage,
    WorkItem,
    merge_quality,
)
from inkline.automation.stages.clustering import CLUSTER_MEMBERS, ClusterStage
from inkline.automation.stages.ideas import IdeaStage
from inkline.automation.stages.images import ImageStage
from inkline.automation.stages.prompts import PromptStage
from inkline.automation.stages.queueing import TaskStage
from inkline.automation.stages.writing import ContentStage

__all__ = [
    "CLUSTER_MEMBERS",
    "RETRYABLE_STAGES",
    "STAGES",
    "STAGE_CLASSES",
    "STAGE_LIMIT_FIELDS",
    "STAGE_NAMES",
    "AnyStage",
    "ApprovalStage",
    "ClusterStage",
    "Committed",
    "ContentStage",
    "IdeaStage",
    "ImageStage",
    "ItemGone",
    "LocalStage",
    "PromptStage",
    "Stage",
    "TaskStage",
    "WorkItem",
    "merge_quality",
    "stage",
    "stage_of_operation",
]

# A stage of any item, payload and answer types: what the registry holds.
AnyStage = Stage[Any, Any, Any]

STAGE_CLASSES: dict[int, AnyStage] = {
    s.number: s
    for s in (
        ClusterStage(),
        IdeaStage(),
        TaskStage(),
        ContentStage(),
        PromptStage(),
        ImageStage(),
        ApprovalStage(),
    )
}
STAGES: tuple[int, ...] = tuple(STAGE_CLASSES)
STAGE_NAMES: dict[int, str] = {n: s.name for n, s in STAGE_CLASSES.items()}
STAGE_LIMIT_FIELDS: dict[int, str] = {n: s.limit_field for n, s in STAGE_CLASSES.items()}
# Stages whose items can fail and be retried (approval makes no AI call, counts no attempts).
RETRYABLE_STAGES: tuple[int, ...] = tuple(n for n, s in STAGE_CLASSES.items() if s.retryable)


def stage(number: int) -> AnyStage:
    """The stage numbered `number`; ValueError when there is none."""
    found = STAGE_CLASSES.get(number)
    if found is None:
        raise ValueError(f"no stage {number}")
    return found


def stage_of_operation(operation: str) -> AnyStage | None:
    """The stage that bills `operation` (None: no stage does)."""
    return next((s for s in STAGE_CLASSES.values() if s.operation == operation), None)
