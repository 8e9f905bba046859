"""Image prompts from an article: a featured image from its title, one per H2 for up to three."""

from __future__ import annotations

from html.parser import HTMLParser

from inkline.ai.local.text import seed_of
from inkline.ai.types import ImagePromptOut
from inkline.planner.clustering.text import collapse, trim

_STYLES = (
    "editorial photograph, natural light, shallow depth of field",
    "clean flat illustration, soft pastel palette",
    "minimal 3D render, soft shadows, muted colours",
    "warm lifestyle photograph, morning light, cosy atmosphere",
)


class _H2Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self._current: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "h2":
            self._current = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2" and self._current is not None:
            text = collapse("".join(self._current))
            if text:
                self.headings.append(text)
            self._current = None

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._current.append(data)


def h2_headings(markup: str) -> list[str]:
    parser = _H2Parser()
    parser.feed(markup)
    parser.close()
    return parser.headings


def pick_image_prompts(title: str, markup: str) -> list[ImagePromptOut]:
    """A featured prompt from the title (position 0) and one per H2 for up to three H2s."""
    title = collapse(title) or "Untitled article"
    style = _STYLES[seed_of(title) % len(_STYLES)]
    prompts = [
        ImagePromptOut(
            kind="featured",
            position=0,
            prompt=f'Header image for an article titled "{title}": an inviting, well-composed '
            f"scene that captures the subject at a glance, {style}, no text or logos",
            alt_text=trim(f"Featured image for {title}", 125),
        )
    ]
    for position, heading in enumerate(h2_headings(markup)[:3], start=1):
        prompts.append(
            ImagePromptOut(
                kind="in_article",
                position=position,
                prompt=f'Illustration for the section "{heading}" of an article about {title}: '
                f"a clear visual that explains the idea, uncluttered background, {style}, no text",
                alt_text=trim(f"{heading.rstrip('?.!:')}: illustration for {title}", 125),
            )
        )
    return prompts
