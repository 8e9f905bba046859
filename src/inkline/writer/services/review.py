"""The approval gate (stage 7). A user's approve or reject, which also places the article in
or out of the publishing schedule, is `inkline.publishing.services`."""

from __future__ import annotations

from dataclasses import dataclass

from inkline import clock
from inkline.core.errors import ItemGone
from inkline.writer.models import Content
from inkline.writer.quality import content_seo_report, seo_threshold
from inkline.writer.selectors import CONTENT_UNDECIDED
from inkline.writer.seo import held_reason

HELD_REASON_MAX = 1000  # the length of `Content.held_reason`


@dataclass(frozen=True)
class ApprovalDecision:
    title: str
    approved: bool
    held_reason: str = ""  # why it stays in review, when not approved


def content_approval_decide(
    *, site_id: int, content_id: int, no_images: str = ""
) -> ApprovalDecision:
    """The approval gate (stage 7): re-check SEO (images included) and approve the article
    only if it meets the site's threshold and uses none of the site's words to avoid
    (`seo.GATE_CHECKS`); otherwise it stays in review with `held_reason`,
    out of the gate's pending set until a user decides. `no_images` says why the site's
    articles get no images ("" when they do): the article is then judged on its text alone
    (images without a file do not count, see `content_seo_report`), and a held reason says
    so. Raises `ItemGone` when the article is no longer in review or was held already.
    Scheduling approved content is the caller's."""
    undecided = Content.objects.filter(CONTENT_UNDECIDED, pk=content_id, site_id=site_id)
    content = undecided.first()
    if content is None:
        raise ItemGone
    seo = content_seo_report(content=content, images=not no_images)
    threshold = seo_threshold(site_id=site_id)
    approved = seo.score >= threshold and not seo.blocked
    reason = "" if approved else held_reason(seo, threshold)
    if reason and no_images:  # kept whole when the reason is cut to the column's length
        note = f" Judged on its text alone (no images: {no_images})."
        reason = reason[: HELD_REASON_MAX - len(note)] + note
    fields: dict[str, object] = {"seo_score": seo.score, "seo_report": seo.as_list()}
    if approved:
        fields.update(status=Content.Status.APPROVED, approved_at=clock.now())
    else:
        fields["held_reason"] = reason[:HELD_REASON_MAX]
    if not undecided.update(**fields):
        raise ItemGone
    return ApprovalDecision(title=content.title, approved=approved, held_reason=reason)
