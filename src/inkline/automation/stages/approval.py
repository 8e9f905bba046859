"""Stage 7, Review → Approved: the approval gate (no AI call). The engine then schedules
what was approved.

Images are optional. When a site's articles get no images — stage 6 is off, or the AI
endpoint's last connection check (`AutomationConfig.ai_check`) found it cannot make them — the
gate judges articles on their text alone: it waits neither for image prompts nor for image
files, and each decision says "no images" and why (an `approved_text_only` event, or the held
reason). Otherwise it takes only articles whose images are all done. Both are one SQL
condition of the pending set, so the pipeline still counts every stage in one query.
"""

from __future__ import annotations

from django.db.models import Case, QuerySet, Subquery, Value, When

from inkline.accounts.models import Site
from inkline.automation.stages.base import Committed, LocalStage, WorkItem
from inkline.writer.models import Content
from inkline.writer.selectors import CONTENT_UNDECIDED, content_pending_approval
from inkline.writer.services import content_approval_decide

# Why a site's articles get no images, as the decisions say it.
STAGE_6_OFF = "stage 6 is off"
NO_IMAGE_ENDPOINT = "the AI endpoint cannot make images"


def no_images_reason(site_id: int) -> Subquery:
    """Why the site's articles get no images, in SQL: "" when they do. Stage 6 off, or the
    last AI check saying `"images": false` (a check that said nothing about images, or none
    yet, means images come)."""
    why = Case(
        When(automation_config__stage_6_enabled=False, then=Value(STAGE_6_OFF)),
        When(automation_config__ai_check__images=False, then=Value(NO_IMAGE_ENDPOINT)),
        default=Value(""),
    )
    return Subquery(Site.objects.filter(pk=site_id).annotate(why=why).values("why")[:1])


class ApprovalStage(LocalStage[Content, str]):
    number = 7
    name = "Review → Approved"
    noun = "articles"
    typical_seconds = 0.02
    yields = 0.0
    description = (
        "Articles in review with every image done (on their text alone when images are off: "
        "stage 6 disabled or no image model). Stage 7 approves them or holds them with the "
        "reason."
    )
    limit_field = "max_approvals_per_run"
    retryable = False  # it counts no attempts: what it holds waits for a user
    model = Content
    unfinished = CONTENT_UNDECIDED

    def pending(self, site_id: int) -> QuerySet[Content]:
        return content_pending_approval(site_id=site_id, no_images=no_images_reason(site_id))

    def build(self, obj: Content) -> WorkItem[str]:
        # The payload: why the article gets no images ("" when it does), read with the row.
        no_images = str(getattr(obj, "no_images", "") or "")
        return WorkItem(ids=(obj.pk,), payload=no_images, label=f"'{obj.title}'")

    def commit(self, site_id: int, item: WorkItem[str], result: None) -> Committed:
        """Approve the article if it meets the site's SEO threshold; else it is held in
        review with the reason, out of the pending set. Judged on its text alone when images
        are off, and then the decision says so."""
        (content_id,) = item.ids
        no_images = item.payload
        decision = content_approval_decide(
            site_id=site_id, content_id=content_id, no_images=no_images
        )
        if not decision.approved:
            message = f"'{decision.title}' held for review: {decision.held_reason}"
            return Committed(created=0, held=1, events=(("held_for_review", message),))
        if no_images:
            message = f"'{decision.title}' approved on its text alone: no images ({no_images})."
            return Committed(created=1, events=(("approved_text_only", message),))
        return Committed(created=1)

    def fail(self, item: WorkItem[str], error: str) -> None:
        Content.objects.filter(pk__in=item.ids).update(last_error=error[:2000])
