"""Accounts and sites: writes that stay within the accounts app. Creating and changing a
site with everything it needs to run is `inkline.automation.sites`."""

from __future__ import annotations

from django.db.models import F

from inkline.accounts.models import Site


def site_pipeline_changed(*, site_id: int) -> None:
    """Note a change of what the site's pipeline has pending made outside a run (imports,
    review decisions, retries), so no page shows counts from before it."""
    Site.objects.filter(pk=site_id).update(pipeline_version=F("pipeline_version") + 1)
