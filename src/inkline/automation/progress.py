"""Run progress and the time a run has left, as pure functions.

Progress weighs items by the time they take, not stages by their number: an image takes far
longer than turning an idea into a task, so a run whose slow stage is still ahead is not
shown nearly done. The model, per enabled stage:

- its items: the items it planned when it started (`stage_plan`), else an estimate
  (`expected_items`): what it had pending at the run's start plus what the stages before it
  are expected to make (their items times their `yields`), bounded by its per-run limit;
- its pace (seconds per item): measured in this run once the stage has attempted items;
  before that, the pace the site's last run measured for it, else the stage's typical
  seconds (`stage_pace`), scaled by how much faster or slower than that pace this run has
  gone so far (the run's own pace).

The work done is the seconds the run spent in its stages; the work left is the items not yet
attempted times their pace. Progress is done / (done + left), never lower than before, and
100 exactly when the run ends; the time remaining is the work left.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


def stage_pace(
    *, typical: Mapping[int, float], measured: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[int, float]:
    """Seconds per item of each stage: measured by an earlier run (its `stage_results`:
    seconds over the items it attempted) where it attempted any, else `typical`."""
    pace = dict(typical)
    for key, result in (measured or {}).items():
        attempted = _attempted(result)
        seconds = float(result.get("seconds", 0) or 0)
        if attempted > 0 and seconds > 0 and int(key) in pace:
            pace[int(key)] = seconds / attempted
    return pace


def expected_items(
    *,
    stages: Sequence[int],
    enabled: Collection[int],
    snapshot: Mapping[str, int],
    plan: Mapping[str, int],
    limits: Mapping[int, int],
    yields: Mapping[int, float],
) -> dict[int, float]:
    """Items each stage is expected to take in this run: its plan once it started, else its
    pending count at the run's start plus what the stage before it makes (its items times its
    `yields`; a disabled stage makes nothing), bounded by its limit (0 = none)."""
    items: dict[int, float] = {}
    inflow = 0.0
    for stage in stages:
        if str(stage) in plan:
            count = float(plan[str(stage)])
        elif stage not in enabled:
            count = 0.0
        else:
            count = float(snapshot.get(f"stage_{stage}", 0)) + inflow
            limit = limits.get(stage, 0)
            if limit:
                count = min(count, float(limit))
        items[stage] = count
        inflow = count * yields.get(stage, 0.0) if stage in enabled else 0.0
    return items


@dataclass(frozen=True)
class Outlook:
    """Seconds of work a run has done and is expected to have left."""

    done_seconds: float
    remaining_seconds: float

    @property
    def fraction(self) -> float | None:
        total = self.done_seconds + self.remaining_seconds
        return self.done_seconds / total if total > 0 else None


def run_outlook(
    *,
    enabled_stages: Sequence[int],
    current_stage: int,
    items: Mapping[int, float],
    results: Mapping[str, Mapping[str, Any]],
    pace: Mapping[int, float],
) -> Outlook:
    """The work done and left (see the module's docstring)."""
    # The run's own pace: its measured seconds over what the paces expected for the same
    # items, in the stages it has attempted items in.
    spent = expected = 0.0
    for stage in enabled_stages:
        result = results.get(str(stage), {})
        attempted = _attempted(result)
        if stage <= current_stage and attempted > 0:
            spent += float(result.get("seconds", 0) or 0)
            expected += attempted * pace.get(stage, 0.0)
    ratio = spent / expected if spent > 0 and expected > 0 else 1.0
    done = left = 0.0
    for stage in enabled_stages:
        result = results.get(str(stage), {})
        seconds = float(result.get("seconds", 0) or 0)
        if stage < current_stage:
            done += seconds
        elif stage == current_stage:
            attempted = _attempted(result)
            done += seconds
            per_item = (
                seconds / attempted if attempted > 0 and seconds > 0 else pace.get(stage, 0) * ratio
            )
            left += max(0.0, items.get(stage, 0.0) - attempted) * per_item
        else:
            left += items.get(stage, 0.0) * pace.get(stage, 0.0) * ratio
    return Outlook(done_seconds=done, remaining_seconds=left)


def progress_percent(
    *,
    enabled_stages: Sequence[int],
    current_stage: int,
    outlook: Outlook,
    previous: int = 0,
    finished: bool = False,
) -> int:
    """The run's progress: its work done over its work (`run_outlook`), or, while no work is
    measured or expected, the share of its enabled stages passed. Never lower than
    `previous`; 100 exactly when `finished`, 99 at most before."""
    if finished:
        return 100
    if not enabled_stages:
        return previous
    fraction = outlook.fraction
    if fraction is None:
        fraction = sum(1 for s in enabled_stages if s < current_stage) / len(enabled_stages)
    return max(previous, min(99, math.floor(100 * fraction)))


def _attempted(result: Mapping[str, Any]) -> int:
    return int(result.get("processed", 0) or 0) + int(result.get("failed", 0) or 0)
