"""Images from prompts: deterministic PNGs drawn with Pillow from a hash of the prompt."""

from __future__ import annotations

import hashlib
import io
import math
import re

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from inkline.planner.clustering.text import ascii_fold


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: a fixed-size bitmap font
        return ImageFont.load_default()


def _caption(prompt: str, words: int = 8) -> str:
    """The first words of the prompt, or of the title it quotes."""
    quoted = re.search(r'"([^"]+)"', prompt)
    text = quoted.group(1) if quoted else prompt
    return " ".join(ascii_fold(text).split()[:words])


def _wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines[:3]


def render_png(prompt: str, size: tuple[int, int], kind: str = "featured") -> bytes:
    """A deterministic composition: a two-colour gradient, translucent shapes and the first
    words of the prompt, all derived from a hash of the prompt."""
    width, height = size
    digest = hashlib.sha256(f"{kind}|{prompt}".encode()).digest()
    start = np.array(list(digest[0:3]), np.float32) * 0.55  # a darker end and a lighter
    end = 90 + np.array(list(digest[3:6]), np.float32) * 0.65  # one, so the caption reads
    angle = digest[6] / 255 * math.pi
    # The gradient is computed at a quarter of the size and scaled up: smooth and fast.
    small = (max(2, width // 4), max(2, height // 4))
    xs = np.linspace(0, 1, small[0], dtype=np.float32)
    ys = np.linspace(0, 1, small[1], dtype=np.float32)
    ramp = math.cos(angle) * xs[None, :] + math.sin(angle) * ys[:, None]
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    pixels = start + (end - start) * ramp[..., None]
    image = Image.fromarray(pixels.astype(np.uint8), "RGB").resize(size, Image.Resampling.BILINEAR)

    overlay = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for i in range(5):
        b = digest[8 + 4 * i : 12 + 4 * i]
        cx, cy = b[0] / 255 * width, b[1] / 255 * height
        radius = (0.08 + b[2] / 255 * 0.3) * min(width, height)
        colour = (digest[b[3] % 32], digest[(b[3] + 7) % 32], digest[(b[3] + 13) % 32], 70)
        box = (cx - radius, cy - radius, cx + radius, cy + radius)
        if b[3] % 2:
            draw.ellipse(box, fill=colour)
        else:
            draw.rectangle(box, fill=colour)

    font_size = max(12, height // 12)
    font = _font(font_size)
    margin = width // 16
    lines = _wrap(_caption(prompt), font, width - 2 * margin)
    line_height = font_size * 1.25
    top = height - margin - line_height * len(lines)
    draw.rectangle((0, top - margin / 2, width, height), fill=(0, 0, 0, 110))
    for i, line in enumerate(lines):
        draw.text((margin, top + i * line_height), line, font=font, fill=(255, 255, 255, 255))
    image = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
