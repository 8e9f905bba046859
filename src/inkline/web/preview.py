"""An article as readers will see it: its sanitized HTML with its images placed."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from inkline.writer.models import Image

_H2_END = re.compile(r"</h2\s*>", re.IGNORECASE)


def _figure(image: Image) -> str:
    if not image.file:
        return str(
            format_html('<figure class="img-pending"><figcaption>Image not generated yet: {}'
                        "</figcaption></figure>", image.alt_text or image.prompt[:80])
        )  # fmt: skip
    return str(
        format_html(
            '<figure><img src="{}" alt="{}" width="{}" height="{}" loading="lazy"></figure>',
            image.file.url,
            image.alt_text,
            image.width or "",
            image.height or "",
        )
    )


def article_html(html: str, images: Iterable[Image]) -> SafeString:
    """The featured image first, then each in-article image after its H2 (position n goes
    after the n-th H2; past the last H2 it goes at the end). `html` was sanitized when it was
    stored (invariant 8); the images' attributes are escaped here."""
    featured = [i for i in images if i.kind == Image.Kind.FEATURED]
    inline = {i.position: i for i in images if i.kind == Image.Kind.IN_ARTICLE}
    parts = _H2_END.split(html)
    out: list[str] = [_figure(i) for i in featured]
    for n, part in enumerate(parts):
        out.append(part)
        if n < len(parts) - 1:
            out.append("</h2>")
            if n + 1 in inline:
                out.append(_figure(inline.pop(n + 1)))
    out.extend(_figure(i) for _, i in sorted(inline.items()))
    return mark_safe("".join(out))  # noqa: S308 - sanitized at storage, attributes escaped
