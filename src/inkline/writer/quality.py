"""Content quality writes: storing SEO reports and the per-site approval threshold.

The checks themselves are pure (`writer.seo`); these functions feed them the stored article and
its images, and store the result on the content row.
"""

from __future__ import annotations

from django.db import transaction

from inkline.accounts.models import Site
from inkline.core.errors import ValidationFailed
from inkline.writer.models import Content, Image, SeoSettings
from inkline.writer.seo import SeoReport, seo_check


def seo_threshold(*, site_id: int) -> int:
    """The score at or above which stage 7 approves a site's content automatically."""
    value = (
        SeoSettings.objects.filter(site_id=site_id).values_list("approval_threshold", flat=True)
    ).first()
    return SeoSettings.DEFAULT_THRESHOLD if value is None else int(value)


def content_seo_report(*, content: Content) -> SeoReport:
    """The SEO checks of a stored article, its stored images' alt texts included."""
    alts = list(Image.objects.filter(content_id=content.pk).values_list("alt_text", flat=True))
    return seo_check(
        title=content.title,
        html=content.html,
        meta_description=content.meta_description,
        primary_keyword=content.primary_keyword,
        image_alts=alts,
    )


def content_seo_refresh(*, content_id: int) -> SeoReport:
    """Recompute and store a content row's SEO score and report."""
    content = Content.objects.get(pk=content_id)
    report = content_seo_report(content=content)
    Content.objects.filter(pk=content_id).update(
        seo_score=report.score, seo_report=report.as_list()
    )
    return report


def seo_settings_update(*, site: Site, approval_threshold: int) -> SeoSettings:
    """Set a site's approval threshold (0–100). Content held under the old threshold goes
    back to stage 7's pending set, so the next run judges it against the new one."""
    if not 0 <= approval_threshold <= 100:
        raise ValidationFailed({"approval_threshold": ["Must be between 0 and 100."]})
    with transaction.atomic():
        row, _ = SeoSettings.objects.update_or_create(
            site=site, defaults={"approval_threshold": approval_threshold}
        )
        Content.objects.filter(site=site, status=Content.Status.REVIEW).exclude(
            held_reason=""
        ).update(held_reason="")
    return row
