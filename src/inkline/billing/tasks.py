"""Thin Celery wrappers: ids in, one service call, explicit names."""

from __future__ import annotations

from celery import shared_task

from inkline.billing import services


@shared_task(name="inkline.billing.sweep_holds", ignore_result=True)
def sweep_holds() -> int:
    """The beat's hold sweeper: release expired holds whose AI call will never settle."""
    return services.credit_holds_sweep()
