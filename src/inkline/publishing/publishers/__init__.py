"""Publishers: where a scheduled article goes when its time comes.

A publisher gets an `Article` (plain data, read before any network call) and returns where it
went (`Published`). It must be idempotent: publishing the same article again (a retry after a
timeout, a worker that died after the remote side accepted) must not create a second post.
`refresh_related` updates an article already published when its internal links change, and
`update` replaces one in place with its refreshed version (`inkline.publishing.refresh`).
A site's publisher is built by `inkline.publishing.publishers.factory`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class ArticleImage:
    path: Path  # the generated file on local storage
    name: str  # file name to publish under, e.g. "my-post-featured.png"
    alt: str
    content_type: str = "image/png"


@dataclass(frozen=True)
class RelatedLink:
    """An internal link of the article's "Related reading" block (`publishing.links`)."""

    content_id: int
    anchor: str  # the target's primary keyword (its title when it has none)
    slug: str
    url: str  # the target's published URL


@dataclass(frozen=True)
class Article:
    content_id: int
    title: str
    slug: str
    html: str
    description: str
    date: dt.datetime  # the slot, UTC
    tags: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    featured_image: ArticleImage | None = None
    images: tuple[ArticleImage, ...] = field(default_factory=tuple)  # in-article, in order
    related: tuple[RelatedLink, ...] = ()  # its internal links, rendered after the body
    modified: dt.datetime | None = None  # when a refresh last replaced it (UTC), if ever


@dataclass(frozen=True)
class Published:
    url: str
    remote_id: str
    # What went less than fully (e.g. terms the account may not create, left out): the
    # article is published; content_publish keeps these in its `publish_error`.
    notes: tuple[str, ...] = ()
    # When the remote side says it went live (a post WordPress published itself at its
    # scheduled date); None: just now.
    at: dt.datetime | None = None


@dataclass(frozen=True)
class CheckProblem:
    """What a publisher's connection check found wrong (`code`, e.g. "credentials"), in
    words naming the site, and what a user can do about it."""

    code: str
    message: str
    fix: str
    blocking: bool = True  # publishing fails until it is fixed (else: works, with less)


@dataclass
class PublisherCheck:
    """A publisher's connection check: what it found, and its problems."""

    publisher: str  # "wordpress", "static" or "none"
    target: str = ""  # the WordPress address or the output directory
    facts: dict[str, object] = field(default_factory=dict)
    problems: list[CheckProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.blocking for p in self.problems)


@dataclass(frozen=True)
class RemotePost:
    """A post as the remote side holds it after a scheduling step (`SchedulingPublisher`)."""

    remote_id: str
    url: str
    status: str  # WordPress's: "future" (scheduled), "publish", "draft", "trash" …
    date: dt.datetime | None  # its date (UTC): when a `future` post goes live


class PublishError(Exception):
    """Publishing failed. `retryable`: worth another attempt later (timeouts, 5xx)."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class Publisher(Protocol):
    def publish(self, article: Article) -> Published: ...

    def update(self, article: Article, *, remote_id: str) -> Published:
        """Replace the published article in place with `article` (a refresh): the same post
        or file, at the same address; never a second one. Its modified date is set."""
        ...

    def refresh_related(self, article: Article, *, remote_id: str) -> None:
        """Bring the published article's "Related reading" block up to `article.related`
        (idempotent: the block is replaced, never added twice)."""
        ...


@runtime_checkable
class SchedulingPublisher(Publisher, Protocol):
    """A publisher whose remote side can hold a scheduled post and publish it by itself at
    its date (WordPress's `future` posts): `PublishingSettings.schedule_on_wordpress`. Each
    step is idempotent and finds the post by `remote_id`, else as `publish` does (the
    marker), so a step after a lost answer finds what the first created."""

    def schedule(self, article: Article, *, remote_id: str = "") -> RemotePost:
        """Hold the article as a scheduled post dated `article.date` (create it with its
        media, or move the date of the one held)."""
        ...

    def unschedule(self, article: Article, *, remote_id: str = "") -> RemotePost | None:
        """Withdraw the scheduled post (None when there was none). A post already live is
        left alone and returned as it is."""
        ...

    def publish_scheduled(self, article: Article, *, remote_id: str = "") -> Published:
        """At the slot: the post live. Confirms one the remote side published, publishes one
        it still holds (its schedule was missed), or publishes the article as `publish`
        does when it holds none."""
        ...


_H2 = re.compile(r"(?=<h2[\s>])", re.IGNORECASE)


def place_images(html: str, srcs: list[tuple[str, str]]) -> str:
    """Put in-article images (src, alt) into the article: image i closes section i + 1 (the
    introduction is section 0), the rest go at the end."""
    if not srcs:
        return html
    sections = _H2.split(html)
    figures = [f'<figure><img src="{escape(s)}" alt="{escape(a)}"></figure>' for s, a in srcs]
    out = []
    for i, section in enumerate(sections):
        out.append(section)
        if 1 <= i <= len(figures):
            out.append(figures[i - 1])
    out.extend(figures[max(0, len(sections) - 1) :])
    return "".join(out)
