"""What publishing an article needs from the rows: the article as a publisher takes it, and
the retry timing shared by publishing and link updates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from inkline.publishing.publishers import Article, ArticleImage, RelatedLink
from inkline.writer.models import Content, Image

BACKOFF_BASE = dt.timedelta(minutes=1)
BACKOFF_MAX = dt.timedelta(hours=1)
# A claim older than this is presumed dead (its worker crashed) and the item is due again.
CLAIM_TIMEOUT = dt.timedelta(minutes=5)


def backoff(attempt: int) -> dt.timedelta:
    """Delay before attempt `attempt + 1`: 1, 2, 4, 8 … minutes, at most an hour."""
    return min(BACKOFF_MAX, BACKOFF_BASE * (2 ** max(0, attempt - 1)))


def article_of(
    content: Content, *, related: tuple[RelatedLink, ...] = (), date: dt.datetime | None = None
) -> Article:
    """The article as a publisher takes it, dated at its slot (or `date`: an article out of
    the schedule, whose post is withdrawn)."""
    images = list(Image.objects.filter(content=content, status=Image.Status.DONE))

    def as_image(image: Image, name: str) -> ArticleImage:
        path = Path(image.file.path)
        suffix = path.suffix.lower() or ".png"
        kind = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}
        return ArticleImage(
            path=path,
            name=f"{name}{suffix}",
            alt=image.alt_text or content.title,
            content_type=kind.get(suffix, "image/png"),
        )

    featured = next((i for i in images if i.kind == Image.Kind.FEATURED and i.file), None)
    inline = [i for i in images if i.kind == Image.Kind.IN_ARTICLE and i.file]
    date = date or content.scheduled_publish_at or content.published_at
    assert date is not None
    return Article(
        content_id=content.pk,
        title=content.title,
        slug=content.slug,
        html=content.html,
        description=content.meta_description,
        date=date,
        tags=tuple(t for t in (content.primary_keyword,) if t),
        categories=tuple(c for c in (content.cluster.name if content.cluster else "",) if c),
        featured_image=as_image(featured, f"{content.slug}-featured") if featured else None,
        images=tuple(as_image(img, f"{content.slug}-{n}") for n, img in enumerate(inline, 1)),
        related=related,
        modified=content.modified_at,
    )
