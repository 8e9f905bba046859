"""Content quality writes: storing SEO reports and the per-site SEO settings (approval
threshold, minimum words per article). The brand voice (`accounts`) adds the words to avoid
and the reading-ease target to the checks.

The checks themselves are pure (`writer.seo`); these functions feed them the stored article and
its images, and store the result on the content row.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from inkline.accounts.models import BrandVoice, Site
from inkline.accounts.selectors import site_voice
from inkline.accounts.services import brand_voice_update, site_pipeline_changed
from inkline.core.errors import ValidationFailed
from inkline.writer.models import Content, Image, SeoSettings
from inkline.writer.seo import SeoReport, seo_check


def seo_threshold(*, site_id: int) -> int:
    """The score at or above which stage 7 approves a site's content automatically."""
    value = (
        SeoSettings.objects.filter(site_id=site_id).values_list("approval_threshold", flat=True)
    ).first()
    return SeoSettings.DEFAULT_THRESHOLD if value is None else int(value)


def site_min_words(*, site_id: int) -> int:
    """The minimum words per article of a site (0: no minimum)."""
    value = SeoSettings.objects.filter(site_id=site_id).values_list("min_words", flat=True).first()
    return 0 if value is None else int(value)


def content_seo_report(*, content: Content, images: bool = True) -> SeoReport:
    """The SEO checks of a stored article, its stored images' alt texts included. With
    `images=False` (the site's articles get no images: judged on their text alone) only images
    that have a file count: rows still waiting for theirs will not be published, so a missing
    alt text on them costs nothing (and an article without images loses no points)."""
    rows = Image.objects.filter(content_id=content.pk)
    if not images:
        rows = rows.filter(status=Image.Status.DONE)
    alts = list(rows.values_list("alt_text", flat=True))
    voice = site_voice(content.site_id)
    return seo_check(
        title=content.title,
        html=content.html,
        meta_description=content.meta_description,
        primary_keyword=content.primary_keyword,
        image_alts=alts,
        words_to_avoid=voice.words_to_avoid,
        reading_ease_min=voice.reading_ease_min,
    )


def content_seo_refresh(*, content_id: int) -> SeoReport:
    """Recompute and store a content row's SEO score and report."""
    content = Content.objects.get(pk=content_id)
    report = content_seo_report(content=content)
    Content.objects.filter(pk=content_id).update(
        seo_score=report.score, seo_report=report.as_list()
    )
    return report


def seo_settings_update(
    *, site: Site, approval_threshold: int | None = None, min_words: int | None = None
) -> SeoSettings:
    """Change a site's SEO settings: only those given. The approval threshold is 0–100:
    content held under the old threshold goes back to stage 7's pending set, so the next run
    judges it against the new one. The minimum words per article is 0–10000 (0: none); it
    applies to articles written from now on."""
    errors: dict[str, list[str]] = {}
    if approval_threshold is not None and not 0 <= approval_threshold <= 100:
        errors["approval_threshold"] = ["Must be between 0 and 100."]
    if min_words is not None and not 0 <= min_words <= SeoSettings.MAX_MIN_WORDS:
        errors["min_words"] = [f"Must be between 0 and {SeoSettings.MAX_MIN_WORDS}."]
    if errors:
        raise ValidationFailed(errors)
    changes = {
        name: value
        for name, value in (("approval_threshold", approval_threshold), ("min_words", min_words))
        if value is not None
    }
    with transaction.atomic():
        # Only the fields given are written (`update_fields`): concurrent changes of
        # different settings all take effect.
        row, _ = SeoSettings.objects.update_or_create(site=site, defaults=changes)
        if approval_threshold is not None:
            _held_released(site_id=site.pk)
    return row


def _held_released(*, site_id: int) -> None:
    """Articles held in review go back to stage 7's pending set, to be judged again."""
    if (
        Content.objects.filter(site_id=site_id, status=Content.Status.REVIEW)
        .exclude(held_reason="")
        .update(held_reason="")
    ):
        site_pipeline_changed(site_id=site_id)  # stage 7's pending count grew


# Brand voice settings the SEO gate checks: changing one has held articles judged again.
_JUDGED = ("words_to_avoid", "reading_ease")


def brand_voice_change(*, site: Site, **changes: Any) -> BrandVoice:
    """Change a site's brand voice (`accounts.services.brand_voice_update`: only the settings
    given, bounded). When the words to avoid or the reading-ease target change, articles held
    in review go back to stage 7's pending set, so the next run judges them by the new ones
    (as a new approval threshold does)."""
    with transaction.atomic():
        before = site_voice(site.pk)
        row = brand_voice_update(site=site, **changes)
        after = row.as_voice()
        if any(getattr(before, name) != getattr(after, name) for name in _JUDGED):
            _held_released(site_id=site.pk)
    return row
