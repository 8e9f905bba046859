"""Generated images made fit for the web: scaled down (never up) to 1600 px wide, WebP or
JPEG, transparency kept in WebP and flattened in JPEG, and a file that is no image refused."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from inkline.publishing.webimage import NotAnImage, web_image


def png(path: Path, size: tuple[int, int], mode: str = "RGB") -> Path:
    color = (200, 40, 40, 0) if mode == "RGBA" else (200, 40, 40)
    image = Image.new(mode, size, color)
    image.paste(Image.effect_noise((size[0] // 2, size[1] // 2), 40).convert(mode), (0, 0))
    image.save(path, "PNG")
    return path


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_wide_png_becomes_a_1600_px_webp_much_smaller(tmp_path: Path) -> None:
    source = png(tmp_path / "a.png", (2400, 1350))
    out = web_image(source)
    image = opened(out.data)
    assert (image.format, image.size) == ("WEBP", (1600, 900))
    assert (out.width, out.height, out.content_type, out.suffix) == (
        1600,
        900,
        "image/webp",
        ".webp",
    )
    assert len(out.data) < source.stat().st_size / 2


def test_jpeg_and_no_upscaling(tmp_path: Path) -> None:
    out = web_image(png(tmp_path / "b.png", (800, 600)), fmt="jpeg")
    image = opened(out.data)
    assert (image.format, image.size, out.content_type, out.suffix) == (
        "JPEG",
        (800, 600),
        "image/jpeg",
        ".jpg",
    )


def test_transparency_is_kept_in_webp_and_flattened_on_white_in_jpeg(tmp_path: Path) -> None:
    source = png(tmp_path / "c.png", (400, 300), mode="RGBA")
    webp = opened(web_image(source).data)
    assert webp.mode == "RGBA" and webp.getpixel((399, 299))[3] == 0
    jpeg = opened(web_image(source, fmt="jpeg").data)
    assert jpeg.mode == "RGB"
    assert all(channel > 240 for channel in jpeg.getpixel((399, 299)))  # white, not black


def test_a_file_that_is_no_image_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "d.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(NotAnImage, match=r"d\.png"):
        web_image(bad)
    with pytest.raises(OSError):
        web_image(tmp_path / "missing.png")
