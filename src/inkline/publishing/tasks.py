"""Thin Celery wrappers for the beat: ids in (none here), one service call, explicit names."""

from __future__ import annotations

from celery import shared_task

from inkline.publishing import services


@shared_task(name="inkline.publishing.publish_due", ignore_result=True)
def publish_due() -> int:
    """Publish every scheduled item whose slot has come (and overdue ones after downtime)."""
    return services.content_publish_due().count("published")


@shared_task(name="inkline.publishing.schedule_approved", ignore_result=True)
def schedule_approved() -> int:
    """Place approved, unscheduled content of every site into free slots."""
    return services.sites_schedule()
