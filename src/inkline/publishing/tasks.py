"""Thin Celery wrappers for the beat: ids in (none here), one service call, explicit names."""

from __future__ import annotations

from celery import shared_task

from inkline.publishing import refresh, schedule_sync, services


@shared_task(name="inkline.publishing.publish_due", ignore_result=True)
def publish_due() -> int:
    """Publish every scheduled item whose slot has come (and overdue ones after downtime)."""
    return services.content_publish_due().count("published")


@shared_task(name="inkline.publishing.schedule_approved", ignore_result=True)
def schedule_approved() -> int:
    """Place approved, unscheduled content of every site into free slots."""
    return services.sites_schedule()


@shared_task(name="inkline.publishing.sync_schedules", ignore_result=True)
def sync_schedules(site_id: int) -> int:
    """Bring the posts a site's WordPress holds as scheduled in line now (woken by a change;
    the publish tick does it anyway)."""
    return len(schedule_sync.schedule_syncs_due(site_id=site_id))


@shared_task(name=refresh.PUSH_REVISION, ignore_result=True)
def push_revision(revision_id: int) -> str:
    """Push one approved refresh to the publisher in place (woken by the approval; the
    publish tick pushes it anyway when this message is lost)."""
    return refresh.revision_push(revision_id=revision_id)
