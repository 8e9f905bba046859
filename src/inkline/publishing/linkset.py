"""Internal links within a cluster, as pure functions: which published articles link to which,
and the managed "Related reading" block an article is published with.

Choice: the published articles of a cluster, in the order they were published, each link to
the `limit` articles closest to them in that order (ties go to the newer one), closest first.
With `limit` or fewer siblings every article links to every other one. With more:

- every article keeps inbound links (none is orphaned, the newest included: its predecessors
  link to it), which "newest first" everywhere would not give the older ones (with a limit
  of 1 the links form a chain and only the oldest article has none pointing to it);
- a publish changes the block of at most `limit` siblings (only those within `limit` places of
  the end of the order), so the number of remote updates per publish is bounded;
- the sets are a function of the cluster's published articles and the limit only: deciding
  them again (a retry, a concurrent publish, a new limit) gives the same answer.

The block is rendered from the stored link rows on every publish and every update, between two
HTML comments Inkline owns, so an article carries it exactly once whatever was pushed before.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from urllib.parse import urlsplit

import nh3

RELATED_START = "<!-- inkline:related -->"
RELATED_END = "<!-- /inkline:related -->"
RELATED_HEADING = "Related reading"
_BLOCK = re.compile(re.escape(RELATED_START) + ".*?" + re.escape(RELATED_END), re.DOTALL)


def choose_links(order: Sequence[int], limit: int) -> dict[int, tuple[int, ...]]:
    """The outgoing links of every article of one cluster.

    `order`: the cluster's published articles, oldest publication first (distinct ids).
    Returns, for each of them, at most `limit` other ids, closest in `order` first and the
    newer one first at equal distance. `limit` 0 means no links at all."""
    count = len(order)
    links: dict[int, tuple[int, ...]] = {}
    for i, source in enumerate(order):
        picks: list[int] = []
        distance = 1
        while len(picks) < limit and distance < count:
            for j in (i + distance, i - distance):
                if 0 <= j < count and len(picks) < limit:
                    picks.append(order[j])
            distance += 1
        links[source] = tuple(picks)
    return links


def safe_href(href: str) -> bool:
    """An http(s) URL or a path of the same site ("/posts/slug/"); nothing else is linked."""
    if href.startswith("/"):
        return not href.startswith("//")
    parts = urlsplit(href)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def related_block(links: Sequence[tuple[str, str]]) -> str:
    """The managed block for `links` as (anchor text, href), "" when there is none to show.

    Anchor texts and hrefs are escaped, hrefs limited to `safe_href`, and the result passes
    nh3 with an allowlist of exactly the tags it needs (defence in depth: the anchors are
    keywords a user imported)."""
    items = [(anchor.strip(), href) for anchor, href in links if anchor.strip() and safe_href(href)]
    if not items:
        return ""
    entries = "".join(f'<li><a href="{escape(h)}">{escape(a)}</a></li>' for a, h in items)
    inner = f"<h2>{RELATED_HEADING}</h2><ul>{entries}</ul>"
    inner = nh3.clean(
        inner,
        tags={"h2", "ul", "li", "a"},
        attributes={"a": {"href"}},
        url_schemes={"http", "https"},
        link_rel=None,  # same-site links: no noopener/noreferrer
    )
    return f'{RELATED_START}<section data-inkline="related">{inner}</section>{RELATED_END}'


def with_related(html: str, block: str) -> str:
    """`html` with its managed block replaced by `block` (appended when it had none; removed
    when `block` is ""). Every earlier copy goes, so the result holds the block at most once;
    everything outside the markers (a user's edits on the remote side) is kept."""
    found = _BLOCK.search(html)
    if found is None:
        if not block:
            return html
        return html.rstrip() + "\n" + block if html.strip() else block
    rest = _BLOCK.sub("", html)
    return rest[: found.start()] + block + rest[found.start() :]
