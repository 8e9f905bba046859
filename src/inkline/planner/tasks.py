"""Thin Celery wrappers: ids in, one service call, explicit names."""

from __future__ import annotations

from celery import shared_task

from inkline.planner.services import EXECUTE_IMPORT, import_job_execute, import_jobs_reconcile


@shared_task(name=EXECUTE_IMPORT, ignore_result=True)
def execute_import(job_id: str) -> str:
    """Do a keyword import job, unless another executor holds it or it has ended."""
    job = import_job_execute(job_id=job_id)
    return job.status if job is not None else "not taken"


@shared_task(name="inkline.planner.imports_tick", ignore_result=True)
def imports_tick() -> list[str]:
    """The beat's import tick: wake a worker for every unfinished job nobody holds."""
    return import_jobs_reconcile()
