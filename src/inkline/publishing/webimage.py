"""A generated image made fit for the web before it is uploaded: at most `MAX_WIDTH` pixels
wide, WebP (or JPEG) at quality `QUALITY`, metadata dropped.

The generated files are full-size PNGs (1 to 3 MB); a blog serves them to phones. WebP is the
default (about a third smaller than JPEG at the same quality, and WordPress 5.8+ makes its
responsive sub-sizes from it when PHP's GD or Imagick has WebP support, which Debian's
`php-gd` has); JPEG is the choice for a host whose image library lacks it. Transparency is
kept in WebP and flattened onto white in JPEG.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

MAX_WIDTH = 1600
QUALITY = 82
FORMATS = {"webp": ("WEBP", "image/webp", ".webp"), "jpeg": ("JPEG", "image/jpeg", ".jpg")}


@dataclass(frozen=True)
class WebImage:
    data: bytes
    width: int
    height: int
    content_type: str
    suffix: str  # ".webp" or ".jpg"


class NotAnImage(ValueError):
    pass


def web_image(
    path: Path, *, fmt: str = "webp", max_width: int = MAX_WIDTH, quality: int = QUALITY
) -> WebImage:
    """The image at `path` in `fmt` ("webp" or "jpeg"), scaled down to `max_width` (never
    up). Raises OSError when the file cannot be read, NotAnImage when it is no image."""
    pil_format, content_type, suffix = FORMATS[fmt]
    try:
        with Image.open(path) as source:
            source.load()
            image = source.copy()
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise NotAnImage(f"{path.name} is not an image Inkline can read") from exc
    if image.width > max_width:
        height = max(1, round(image.height * max_width / image.width))
        image = image.resize((max_width, height), Image.Resampling.LANCZOS)
    alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    if pil_format == "JPEG" or not alpha:
        if alpha:
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            image = flat
        else:
            image = image.convert("RGB")
    else:
        image = image.convert("RGBA")
    out = io.BytesIO()
    options = {"method": 4} if pil_format == "WEBP" else {"optimize": True, "progressive": True}
    image.save(out, pil_format, quality=quality, **options)
    return WebImage(
        data=out.getvalue(),
        width=image.width,
        height=image.height,
        content_type=content_type,
        suffix=suffix,
    )
