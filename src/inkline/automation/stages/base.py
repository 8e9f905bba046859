"""The stage contract: what the engine asks of each of the seven pipeline stages.

A stage picks its next pending items (oldest first), turns each into a `WorkItem` (its ids and
the plain data sent to the AI provider, so the call can run in a worker thread outside any
transaction), calls the provider, and commits the result through the service of the app that
owns the data (planner or writer). `commit` runs inside the item's transaction and the service
is conditional on the item still being pending: if it no longer is (another executor got there
first), it raises `ItemGone` and the whole transaction, credit capture included, rolls back
(invariant 4).

A stage is also the registry's entry for its number (see `inkline.automation.stages`): its
name, the noun its counts are in, its per-run limit field, its pending set and model, and the
AI operation it bills.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from django.db.models import F, Q, QuerySet

from inkline.ai.types import AIProvider, Operation, Usage
from inkline.billing.estimates import Pricing
from inkline.core.errors import ItemGone
from inkline.core.models import PipelineItem

__all__ = ["Billed", "Committed", "ItemGone", "LocalStage", "Stage", "WorkItem", "merge_quality"]


class Billed(Protocol):
    """An AI answer: says what the call consumed."""

    @property
    def usage(self) -> Usage: ...


RowT = TypeVar("RowT", bound=PipelineItem)  # the model of the stage's pending items
PayloadT = TypeVar("PayloadT")  # what an item sends to the AI provider
OutputT = TypeVar("OutputT", bound=Billed | None)  # the provider's answer (None: no AI call)


@dataclass(frozen=True)
class WorkItem(Generic[PayloadT]):
    """One unit of work: its ids (a batch of keywords for stage 1), its AI input, its label."""

    ids: tuple[int, ...]
    payload: PayloadT
    label: str
    size: int = 1  # how many pending items it consumes (keywords in a batch)

    @property
    def key(self) -> str:
        return f"{self.ids[0]}" if len(self.ids) == 1 else f"{self.ids[0]}-{self.ids[-1]}"


@dataclass(frozen=True)
class Committed:
    created: int
    held: int = 0  # stage 7: articles kept in review (SEO score below the site's threshold)
    events: tuple[tuple[str, str], ...] = ()  # (code, message) to record once committed
    quality: dict[str, float] = field(default_factory=dict)  # stage 1: clustering quality


def merge_quality(result: dict[str, Any], quality: dict[str, float], *, weight: int) -> None:
    """Fold one batch's quality measures into a stage result: each becomes the mean over the
    batches that reported it, weighted by their keywords (`quality_keywords[name]` counts
    the keywords behind each mean)."""
    counts: dict[str, int] = result.setdefault("quality_keywords", {}) if quality else {}
    for name, value in quality.items():
        seen = counts.get(name, 0)
        previous = float(result.get(name, value))
        result[name] = round((previous * seen + value * weight) / (seen + weight), 4)
        counts[name] = seen + weight


class Stage(ABC, Generic[RowT, PayloadT, OutputT]):
    """One pipeline stage, over its items' model `RowT`, the AI input `PayloadT` of a work
    item and the provider's answer `OutputT`."""

    number: ClassVar[int]
    name: ClassVar[str]  # "Keywords → Clusters"
    noun: ClassVar[str]  # what its pending count and per-run limit count, plural
    description: ClassVar[str]  # what it has pending and what it does, in a sentence or two
    limit_field: ClassVar[str]  # AutomationConfig's per-run limit of its items (0 = none)
    operation: ClassVar[Operation | None] = None  # AI operation billed, None for no AI call
    sequential: ClassVar[bool] = False  # True: one call at a time (whole-site decisions)
    retryable: ClassVar[bool] = True  # its items count failed attempts; a user retries them
    typical_usage: ClassVar[Usage | None] = None  # one item's usage, for credit estimates
    # Wall seconds one item typically takes with a hosted model at the default concurrency,
    # and items of the next stage each item makes on average: the weights of run progress
    # before the site has a run of its own to measure (see `automation.progress`).
    typical_seconds: ClassVar[float] = 0.01
    yields: ClassVar[float] = 1.0
    model: type[RowT]  # the model of its items
    unfinished: ClassVar[Q]  # an item it has not done yet, failed ones included

    @property
    def enabled_field(self) -> str:
        return f"stage_{self.number}_enabled"

    @abstractmethod
    def pending(self, site_id: int) -> QuerySet[RowT]:
        """The items it would take for a site, oldest first."""

    def failed(self, site_id: int) -> QuerySet[RowT]:
        """Items not done that failed at least once, oldest first."""
        return self.model._default_manager.filter(
            self.unfinished, site_id=site_id, attempts__gt=0
        ).order_by("id")

    def next_item(
        self, site_id: int, exclude: set[int], room: int | None
    ) -> WorkItem[PayloadT] | None:
        """The oldest pending item not already in flight; `room` bounds a batch's size."""
        obj = self.pending(site_id).exclude(pk__in=exclude).first()
        return self.build(obj) if obj is not None else None

    def next_items(self, site_id: int, exclude: set[int], count: int) -> list[WorkItem[PayloadT]]:
        """The `count` oldest pending items not already taken, read in one query: the engine
        keeps them queued (an item that stops being pending meanwhile fails its commit with
        `ItemGone`)."""
        return [self.build(obj) for obj in self.pending(site_id).exclude(pk__in=exclude)[:count]]

    @abstractmethod
    def build(self, obj: RowT) -> WorkItem[PayloadT]:
        """The work item of one pending row."""

    def expected_usage(self, item: WorkItem[PayloadT]) -> Usage:
        """A generous estimate of one call's usage, for the credit hold: every field is set,
        so the estimate holds whatever unit an operation is billed in."""
        return Usage(
            calls=1,
            items=item.size,
            prompt_tokens=1500,
            completion_tokens=2500,
            words=2500,
            images=1,
        )

    @abstractmethod
    def call(self, provider: AIProvider, item: WorkItem[PayloadT]) -> OutputT:
        """The AI call (outside any transaction, maybe in a worker thread)."""

    @abstractmethod
    def commit(self, site_id: int, item: WorkItem[PayloadT], result: OutputT) -> Committed:
        """Store the result through the owning app's service, inside the item's transaction.
        Raises `ItemGone` when the item is no longer pending, `ValueError` when the answer
        cannot be stored as it is."""

    def fail(self, item: WorkItem[PayloadT], error: str) -> None:
        """Record a failed attempt on the item(s); after too many it leaves the pending set."""
        self.model._default_manager.filter(pk__in=item.ids).update(
            attempts=F("attempts") + 1, last_error=error[:2000]
        )

    def usage_of(self, result: OutputT) -> Usage | None:
        return None if result is None else result.usage

    def batch_size(self) -> int:
        """Items one call takes."""
        return 1

    def pricing(self) -> Pricing | None:
        """What estimating its credits takes (None: it calls no AI)."""
        if self.operation is None or self.typical_usage is None:
            return None
        return Pricing(operation=self.operation, usage=self.typical_usage, batch=self.batch_size())


class LocalStage(Stage[RowT, PayloadT, None]):
    """A stage that calls no AI: nothing is billed."""

    def call(self, provider: AIProvider, item: WorkItem[PayloadT]) -> None:
        return None
