"""Writer writes: review decisions on content (guarded transitions)."""

from __future__ import annotations

from django.db import transaction

from inkline import clock
from inkline.writer.models import Content


def content_approve(*, content: Content, by: str = "user") -> Content:
    """review/rejected → approved. The publishing scheduler places it in a slot."""
    with transaction.atomic():
        content = Content.objects.select_for_update().get(pk=content.pk)
        content.check_transition(Content.Status.APPROVED)
        content.status = Content.Status.APPROVED
        content.approved_at = clock.now()
        content.save(update_fields=["status", "approved_at"])
    return content


def content_reject(*, content: Content, by: str = "user", reason: str = "") -> Content:
    """review/approved → rejected. A scheduled item gives its slot back."""
    with transaction.atomic():
        content = Content.objects.select_for_update().get(pk=content.pk)
        content.check_transition(Content.Status.REJECTED)
        content.status = Content.Status.REJECTED
        content.last_error = reason
        if content.site_status == Content.SiteStatus.SCHEDULED:
            content.site_status = Content.SiteStatus.NOT_PUBLISHED
            content.scheduled_publish_at = None
        content.save(update_fields=["status", "last_error", "site_status", "scheduled_publish_at"])
    return content
