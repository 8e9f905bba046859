"""Thin Celery wrappers: ids in, one service call, explicit names."""

from __future__ import annotations

from celery import shared_task

from inkline.automation import engine, scheduler
from inkline.automation.services import EXECUTE_RUN


@shared_task(name=EXECUTE_RUN, ignore_result=True)
def execute_run(run_id: str) -> str:
    """Execute one slice of a run; enqueue the next slice while there is more to do."""
    result = engine.execute_slice(run_id=run_id)
    if result.outcome == "continue":
        execute_run.delay(run_id)
    return result.outcome


@shared_task(name="inkline.automation.tick", ignore_result=True)
def tick() -> dict[str, list[str] | list[int]]:
    """The beat's automation tick: recover lost runs, start due scheduled runs."""
    return scheduler.automation_tick().as_dict()
