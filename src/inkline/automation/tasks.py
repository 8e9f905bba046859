"""Thin Celery wrappers: ids in, one service call, explicit names."""

from __future__ import annotations

from celery import shared_task

from inkline.automation import engine, refresh, scheduler
from inkline.automation.services import EXECUTE_RUN
from inkline.automation.shutdown import shutdown_requested


@shared_task(name=EXECUTE_RUN, ignore_result=True)
def execute_run(run_id: str) -> str:
    """Execute one slice of a run; enqueue the next slice while there is more to do. A
    worker that is shutting down hands the run straight back to the queue, for the next
    worker (a message it still holds when it stops goes back to the broker)."""
    if shutdown_requested():
        execute_run.delay(run_id)
        return "handed back"
    result = engine.execute_slice(run_id=run_id)
    if result.outcome == "continue":
        execute_run.delay(run_id)
    return result.outcome


@shared_task(name="inkline.automation.tick", ignore_result=True)
def tick() -> dict[str, list[str] | list[int]]:
    """The beat's automation tick: recover lost runs, start due scheduled runs."""
    return scheduler.automation_tick().as_dict()


@shared_task(name=refresh.WRITE_REVISION, ignore_result=True)
def write_revision(revision_id: int) -> str:
    """Write one requested refresh of a published article (the refresh tick writes it
    anyway when this message is lost)."""
    return refresh.revision_write(revision_id=revision_id)


@shared_task(name="inkline.automation.refresh_tick", ignore_result=True)
def refresh_tick() -> int:
    """The beat's refresh tick: wake workers again for the refreshes a lost message or a
    dead worker left."""
    return len(refresh.refresh_tick())
