"""Stage 7, Review → Approved: the approval gate (no AI call). The engine then schedules
what was approved."""

from __future__ import annotations

from django.db.models import QuerySet

from inkline.automation.stages.base import Committed, LocalStage, WorkItem
from inkline.writer.models import Content
from inkline.writer.selectors import CONTENT_UNDECIDED, content_pending_approval
from inkline.writer.services import content_approval_decide


class ApprovalStage(LocalStage[Content, None]):
    number = 7
    name = "Review → Approved"
    noun = "articles"
    description = "Articles in review with every image done. Stage 7 approves them."
    limit_field = "max_approvals_per_run"
    retryable = False  # it counts no attempts: what it holds waits for a user
    model = Content
    unfinished = CONTENT_UNDECIDED

    def pending(self, site_id: int) -> QuerySet[Content]:
        return content_pending_approval(site_id=site_id)

    def build(self, obj: Content) -> WorkItem[None]:
        return WorkItem(ids=(obj.pk,), payload=None, label=f"'{obj.title}'")

    def commit(self, site_id: int, item: WorkItem[None], result: None) -> Committed:
        """Approve the article if it meets the site's SEO threshold; else it is held in
        review with the reason, out of the pending set."""
        (content_id,) = item.ids
        decision = content_approval_decide(site_id=site_id, content_id=content_id)
        if not decision.approved:
            message = f"'{decision.title}' held for review: {decision.held_reason}"
            return Committed(created=0, held=1, events=(("held_for_review", message),))
        return Committed(created=1)

    def fail(self, item: WorkItem[None], error: str) -> None:
        Content.objects.filter(pk__in=item.ids).update(last_error=error[:2000])
