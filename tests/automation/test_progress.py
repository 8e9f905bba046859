"""Run progress weighs items by the time they take (`automation.progress`, pure functions)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from inkline.automation.progress import (
    Outlook,
    expected_items,
    progress_percent,
    run_outlook,
    stage_pace,
)
from inkline.automation.stages import STAGE_CLASSES, STAGES

ALL = list(STAGES)
YIELDS = {n: s.yields for n, s in STAGE_CLASSES.items()}
TYPICAL = {n: s.typical_seconds for n, s in STAGE_CLASSES.items()}
# What the demo site's run measured with the local provider (items, seconds per stage):
# the images of stage 6 take two thirds of the run.
DEMO = {1: (300, 0.5), 2: (33, 1.1), 3: (81, 0.3), 4: (81, 4.8), 5: (81, 2.4), 6: (324, 31.3),
        7: (81, 0.4)}  # fmt: skip


def result(processed: int, seconds: float, **more: Any) -> dict[str, Any]:
    return {"processed": processed, "failed": 0, "seconds": seconds, **more}


def replay(pace: dict[int, float]) -> list[tuple[float, int]]:
    """The demo run replayed item by item: (seconds since its start, progress shown)."""
    snapshot = {"stage_1": DEMO[1][0]}
    plan: dict[str, int] = {}
    results: dict[str, dict[str, Any]] = {}
    shown, clock, samples = 0, 0.0, []
    for stage, (count, seconds) in DEMO.items():
        plan[str(stage)] = count
        for done in range(1, count + 1):
            clock += seconds / count
            results[str(stage)] = result(done, seconds * done / count)
            items = expected_items(
                stages=ALL, enabled=ALL, snapshot=snapshot, plan=plan, limits={}, yields=YIELDS
            )
            outlook = run_outlook(
                enabled_stages=ALL, current_stage=stage, items=items, results=results, pace=pace
            )
            shown = progress_percent(
                enabled_stages=ALL, current_stage=stage, outlook=outlook, previous=shown
            )
            samples.append((clock, shown))
    return samples


def test_half_the_run_shows_about_half_once_the_site_has_a_measured_run() -> None:
    """The bar no longer sits at 71% (five stages of seven) while the images take half the
    run: with the pace the site's previous run measured, progress follows the time."""
    measured = {str(n): result(count, seconds) for n, (count, seconds) in DEMO.items()}
    samples = replay(stage_pace(typical=TYPICAL, measured=measured))
    total = samples[-1][0]
    assert [s for _, s in samples] == sorted(s for _, s in samples)
    for at, shown in samples:
        assert abs(shown - 100 * at / total) <= 3, (at, shown)
    assert samples[-1][1] == 99  # 100 only when the run has ended


def test_without_history_the_slow_stage_ahead_still_weighs_more() -> None:
    samples = replay(TYPICAL)
    total = samples[-1][0]
    at_images = next(
        shown for at, shown in samples if at >= sum(s for _, s in list(DEMO.values())[:5])
    )
    assert at_images < 71  # the stage count alone said 5 of 7 stages done
    halfway = next(shown for at, shown in samples if at >= total / 2)
    assert 30 <= halfway <= 70, halfway
    assert [s for _, s in samples] == sorted(s for _, s in samples)


def test_expected_items_plan_wins_then_flow_and_limits() -> None:
    items = expected_items(
        stages=ALL,
        enabled=[1, 2, 3, 4, 5, 7],  # stage 6 off
        snapshot={"stage_1": 100, "stage_4": 2},
        plan={"1": 90},
        limits={4: 5},
        yields={1: 0.1, 2: 2.0, 3: 1.0, 4: 1.0, 5: 4.0, 6: 0.25, 7: 0.0},
    )
    assert items[1] == 90  # planned when it started
    assert items[2] == 9 and items[3] == 18
    assert items[4] == 5  # 2 pending + 18 made, bounded by its limit of 5
    assert items[5] == 5 and items[6] == 0  # a stage off takes nothing and makes nothing
    assert items[7] == 0


def test_stage_pace_uses_what_an_earlier_run_measured() -> None:
    pace = stage_pace(
        typical={4: 10.0, 6: 5.0},
        measured={"4": result(8, 4.0), "6": {"processed": 0, "failed": 0, "seconds": 1.0}},
    )
    assert pace == {4: 0.5, 6: 5.0}  # stage 6 attempted nothing: its typical pace stays


def test_the_run_own_pace_scales_the_stages_ahead_and_gives_the_time_left() -> None:
    results = {"4": result(10, 20.0)}  # 2 s an item where 1 was expected: twice as slow
    outlook = run_outlook(
        enabled_stages=[4, 6],
        current_stage=4,
        items={4: 20, 6: 10},
        results=results,
        pace={4: 1.0, 6: 3.0},
    )
    assert outlook.done_seconds == 20
    assert outlook.remaining_seconds == 10 * 2.0 + 10 * 3.0 * 2
    assert progress_percent(enabled_stages=[4, 6], current_stage=4, outlook=outlook) == 20


def test_progress_never_goes_back_and_is_100_only_when_finished() -> None:
    outlook = Outlook(done_seconds=1, remaining_seconds=9)
    assert progress_percent(enabled_stages=ALL, current_stage=2, outlook=outlook) == 10
    assert progress_percent(enabled_stages=ALL, current_stage=2, outlook=outlook, previous=40) == 40
    done = Outlook(done_seconds=5, remaining_seconds=0)
    assert progress_percent(enabled_stages=ALL, current_stage=8, outlook=done) == 99
    assert progress_percent(enabled_stages=ALL, current_stage=8, outlook=done, finished=True) == 100


def test_nothing_measured_nor_expected_counts_the_stages_passed() -> None:
    empty = Outlook(done_seconds=0, remaining_seconds=0)
    assert progress_percent(enabled_stages=[1, 2, 3, 4], current_stage=3, outlook=empty) == 50
    assert progress_percent(enabled_stages=[], current_stage=3, outlook=empty, previous=7) == 7


@given(
    counts=st.lists(st.integers(0, 30), min_size=7, max_size=7),
    seconds=st.lists(st.floats(0.001, 50), min_size=7, max_size=7),
    typical=st.lists(st.floats(0.001, 50), min_size=7, max_size=7),
)
def test_progress_is_monotonic_and_below_100_whatever_the_paces(
    counts: list[int], seconds: list[float], typical: list[float]
) -> None:
    pace = dict(zip(ALL, typical, strict=True))
    plan: dict[str, int] = {}
    results: dict[str, dict[str, Any]] = {}
    shown = 0
    for stage in ALL:
        count, spent = counts[stage - 1], seconds[stage - 1]
        plan[str(stage)] = count
        for done in range(count + 1):
            results[str(stage)] = result(done, spent * done / max(count, 1))
            items = expected_items(
                stages=ALL, enabled=ALL, snapshot={"stage_1": counts[0]}, plan=plan, limits={},
                yields=YIELDS,
            )  # fmt: skip
            outlook = run_outlook(
                enabled_stages=ALL, current_stage=stage, items=items, results=results, pace=pace
            )
            now = progress_percent(
                enabled_stages=ALL, current_stage=stage, outlook=outlook, previous=shown
            )
            assert shown <= now <= 99
            shown = now
