"""Accounts and sites: writes that stay within the accounts app. Creating and changing a
site with everything it needs to run is `inkline.automation.sites`."""

from __future__ import annotations

from typing import Any

from django.db.models import F

from inkline.accounts import voice as voices
from inkline.accounts.models import BrandVoice, Site
from inkline.core.errors import ValidationFailed


def site_pipeline_changed(*, site_id: int) -> None:
    """Note a change of what the site's pipeline has pending made outside a run (imports,
    review decisions, retries), so no page shows counts from before it."""
    Site.objects.filter(pk=site_id).update(pipeline_version=F("pipeline_version") + 1)


def brand_voice_update(*, site: Site, **changes: Any) -> BrandVoice:
    """Change a site's brand voice: only the settings given (voice, audience, example: text;
    words_to_use, words_to_avoid: lists of words or phrases, whitespace collapsed, repeats
    dropped; reading_ease: 0–100 or None for the default; point_of_view: we, you, they or ""
    for no preference). It applies to articles written, and checked, from now on."""
    changes = voices.cleaned(changes)
    errors = voices.settings_errors(changes)
    if errors:
        raise ValidationFailed(errors)
    row, _ = BrandVoice.objects.update_or_create(site=site, defaults=changes)
    return row
