"""Builders for the publishing suite."""

from __future__ import annotations

import datetime as dt
from typing import Any

from inkline.accounts.models import Site
from inkline.publishing.models import PublishingSettings
from inkline.writer.models import Content

UTC = dt.UTC


def approved(site: Site, n: int, *, at: dt.datetime | None = None, prefix: str = "a") -> list[int]:
    """`n` approved articles of `site`, approved one second apart (oldest first)."""
    at = at or dt.datetime(2026, 6, 1, tzinfo=UTC)
    rows = Content.objects.bulk_create(
        Content(
            site=site,
            title=f"Article {prefix}{i}",
            slug=f"article-{prefix}{i}",
            html=f"<p>Intro {i}.</p><h2>Part</h2><p>Body <strong>{i}</strong>.</p>",
            meta_description=f"About {i}",
            primary_keyword=f"topic {i}",
            status=Content.Status.APPROVED,
            approved_at=at + dt.timedelta(seconds=i),
        )
        for i in range(n)
    )
    return [c.pk for c in rows]


def publishing(site: Site, **fields: Any) -> PublishingSettings:
    PublishingSettings.objects.filter(site=site).update(**fields)
    return PublishingSettings.objects.get(site=site)
