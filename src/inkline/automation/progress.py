"""Run progress as a pure function: monotonic, and 100 only when the run has ended."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any


def progress_percent(
    *,
    enabled_stages: Sequence[int],
    current_stage: int,
    plan: Mapping[str, int],
    results: Mapping[str, Mapping[str, Any]],
    previous: int = 0,
    finished: bool = False,
) -> int:
    """Each enabled stage weighs the same; inside the current stage, the share of its planned
    items (min(pending at stage start, per-run limit)) that were processed or failed.
    Never lower than `previous`; 100 exactly when `finished`."""
    if finished:
        return 100
    if not enabled_stages:
        return previous
    done = sum(1 for s in enabled_stages if s < current_stage)
    fraction = 0.0
    if current_stage in enabled_stages:
        planned = int(plan.get(str(current_stage), 0))
        result = results.get(str(current_stage), {})
        attempted = int(result.get("processed", 0)) + int(result.get("failed", 0))
        fraction = min(1.0, attempted / planned) if planned else 0.0
    percent = math.floor(100 * (done + fraction) / len(enabled_stages))
    return max(previous, min(99, percent))
