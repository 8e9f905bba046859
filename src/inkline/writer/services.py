"""Writer writes: review decisions on content (guarded transitions)."""

from __future__ import annotations

from django.db import transaction

from inkline import clock
from inkline.accounts.services import site_pipeline_changed
from inkline.core.errors import InvalidTransition
from inkline.writer.models import Content


def content_approve(*, content: Content, by: str = "user") -> Content:
    """review/rejected → approved, then placed into a publishing slot right away (or given
    the reason it cannot be)."""
    from inkline.publishing.services import content_schedule

    with transaction.atomic():
        content = Content.objects.select_for_update().get(pk=content.pk)
        content.check_transition(Content.Status.APPROVED)
        content.status = Content.Status.APPROVED
        content.approved_at = clock.now()
        content.save(update_fields=["status", "approved_at"])
        site_pipeline_changed(site_id=content.site_id)
    content_schedule(site=content.site)
    content.refresh_from_db()
    return content


def content_reject(*, content: Content, by: str = "user", reason: str = "") -> Content:
    """review/approved → rejected. A scheduled item gives its slot back, to the next item
    waiting for one; an item being published right now cannot be rejected."""
    from inkline.publishing.services import content_schedule

    with transaction.atomic():
        content = Content.objects.select_for_update().get(pk=content.pk)
        content.check_transition(Content.Status.REJECTED)
        if content.site_status == Content.SiteStatus.PUBLISHING:
            raise InvalidTransition(
                f"Content {content.pk} is being published right now.", status=content.status
            )
        freed = content.site_status == Content.SiteStatus.SCHEDULED
        content.status = Content.Status.REJECTED
        content.last_error = reason
        if freed:
            content.site_status = Content.SiteStatus.NOT_PUBLISHED
            content.scheduled_publish_at = None
        content.unscheduled_reason = ""
        content.save(
            update_fields=[
                "status",
                "last_error",
                "site_status",
                "scheduled_publish_at",
                "unscheduled_reason",
            ]
        )
        site_pipeline_changed(site_id=content.site_id)
    if freed:
        content_schedule(site=content.site)
    return content
