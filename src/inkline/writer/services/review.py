"""Review decisions on content: the approval gate (stage 7) and a user's approve or reject
(guarded transitions)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from inkline import clock
from inkline.accounts.services import site_pipeline_changed
from inkline.core.errors import InvalidTransition, ItemGone
from inkline.writer.models import Content
from inkline.writer.quality import content_seo_report, seo_threshold
from inkline.writer.selectors import CONTENT_UNDECIDED
from inkline.writer.seo import held_reason


@dataclass(frozen=True)
class ApprovalDecision:
    title: str
    approved: bool
    held_reason: str = ""  # why it stays in review, when not approved


def content_approval_decide(*, site_id: int, content_id: int) -> ApprovalDecision:
    """The approval gate (stage 7): re-check SEO (images included) and approve the article
    only if it meets the site's threshold; otherwise it stays in review with `held_reason`,
    out of the gate's pending set until a user decides. Raises `ItemGone` when the article is
    no longer in review or was held already. Scheduling approved content is the caller's."""
    undecided = Content.objects.filter(CONTENT_UNDECIDED, pk=content_id, site_id=site_id)
    content = undecided.first()
    if content is None:
        raise ItemGone
    seo = content_seo_report(content=content)
    threshold = seo_threshold(site_id=site_id)
    approved = seo.score >= threshold
    reason = "" if approved else held_reason(seo, threshold)
    fields: dict[str, object] = {"seo_score": seo.score, "seo_report": seo.as_list()}
    if approved:
        fields.update(status=Content.Status.APPROVED, approved_at=clock.now())
    else:
        fields["held_reason"] = reason[:1000]
    if not undecided.update(**fields):
        raise ItemGone
    return ApprovalDecision(title=content.title, approved=approved, held_reason=reason)


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
