"""Internal links within a cluster: decided when an article becomes published, then pushed to
the published siblings whose "Related reading" block changed.

- Which article links to which is `linkset.choose_links` over the cluster's published
  articles in publication order, at most the site's `internal_links_max` per article. The
  decision is stored as `InternalLink` rows, in the transaction that marks the article
  published, holding the cluster's row lock (PostgreSQL; SQLite serializes writers anyway):
  of two articles of one cluster published at the same moment, the second to commit sees
  the first, so both end up linked both ways.
- Never a link to an unpublished article: the candidates are the cluster's published
  articles (published is final: no transition leaves it), and the block is rendered only
  from rows whose target is published.
- A published sibling whose block changed gets a `LinkSync` row in that same transaction;
  the publish tick pushes it outside any transaction through the site's publisher (the
  static file rewritten, the WordPress post updated), with the publishing backoff. A failed
  push never touches the links or the published state; only the push is tried again.
- An article's own block is rendered when it is published from the links it is about to
  get (the same choice, read before the remote call); if the decision at commit differs
  (a sibling published meanwhile) or the publish was a retry (WordPress keeps the post a
  lost answer created), it is pushed again like a sibling.

Every function here runs a constant number of queries whatever the size of the cluster.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet

from inkline.accounts.models import Site
from inkline.planner.models import Cluster
from inkline.publishing.delivery import CLAIM_TIMEOUT, article_of, backoff
from inkline.publishing.linkset import choose_links, related_block, with_related
from inkline.publishing.models import InternalLink, LinkSync
from inkline.publishing.publishers import Publisher, PublishError, RelatedLink
from inkline.publishing.publishers.factory import get_publisher
from inkline.writer.models import Content

log = logging.getLogger(__name__)

MAX_SYNC_ATTEMPTS = 10
CHUNK = 2000
_TARGET_FIELDS = ("id", "slug", "primary_keyword", "title", "published_url")


def _related(pk: int, slug: str, keyword: str, title: str, url: str) -> RelatedLink:
    return RelatedLink(content_id=pk, anchor=keyword or title, slug=slug, url=url)


def _published(site_id: int) -> QuerySet[Content]:
    return Content.objects.filter(
        site_id=site_id, status=Content.Status.PUBLISHED, cluster__isnull=False
    )


# --- reads ---------------------------------------------------------------------------------
def related_of(content: Content) -> tuple[RelatedLink, ...]:
    """The published article's internal links as stored, in block order (published targets
    only)."""
    rows = (
        InternalLink.objects.filter(source=content, target__status=Content.Status.PUBLISHED)
        .order_by("position")
        .values_list(*(f"target__{name}" for name in _TARGET_FIELDS))
    )
    return tuple(_related(*row) for row in rows)


def prospective_related(content: Content, *, limit: int) -> tuple[RelatedLink, ...]:
    """The links `content` gets if it is published next: its block on the first push."""
    if content.cluster_id is None or limit <= 0:
        return ()
    rows = {
        row[0]: row
        for row in _published(content.site_id)
        .filter(cluster_id=content.cluster_id)
        .exclude(pk=content.pk)
        .order_by("published_at", "id")
        .values_list(*_TARGET_FIELDS)
    }
    chosen = choose_links([*rows, content.pk], limit)[content.pk]
    return tuple(_related(*rows[pk]) for pk in chosen)


def internal_links_of(content: Content) -> dict[str, Any]:
    """What the API shows of an article's internal links: its block's links, the articles
    linking to it, whether an update of its published copy is waiting (and why it failed),
    and its HTML as published (the stored HTML plus the block, with published URLs)."""
    outgoing = related_of(content)
    incoming = (
        InternalLink.objects.filter(target=content, source__status=Content.Status.PUBLISHED)
        .order_by("source_id")
        .values_list(*(f"source__{name}" for name in _TARGET_FIELDS))
    )
    sync = LinkSync.objects.filter(content=content).first()

    def shown(link: RelatedLink) -> dict[str, Any]:
        return {"content_id": link.content_id, "anchor": link.anchor, "url": link.url}

    return {
        "outgoing": [shown(link) for link in outgoing],
        "incoming": [shown(_related(*row)) for row in incoming],
        "update_pending": sync is not None and sync.due_at is not None,
        "update_attempts": sync.attempts if sync else 0,
        "update_error": sync.error if sync else "",
        "next_update_at": sync.due_at if sync else None,
        "html": with_related(
            content.html, related_block([(link.anchor, link.url) for link in outgoing])
        ),
    }


# --- decisions -----------------------------------------------------------------------------
def lock_cluster(cluster_id: int | None) -> None:
    """Serialize the link decisions of one cluster (call inside a transaction)."""
    if cluster_id is not None:
        list(Cluster.objects.select_for_update().filter(pk=cluster_id).values_list("pk"))


def _decide(
    *, site_id: int, cluster_id: int | None, limit: int
) -> tuple[set[int], dict[int, tuple[int, ...]]]:
    """Bring the stored links of one cluster (every cluster of the site when None) to the
    choice for its published articles. Returns the sources whose block changed and the
    chosen targets of every published article."""
    published = _published(site_id)
    stored = InternalLink.objects.filter(site_id=site_id)
    if cluster_id is not None:
        published = published.filter(cluster_id=cluster_id)
        stored = stored.filter(cluster_id=cluster_id)
    orders: dict[int, list[int]] = {}
    for pk, cluster in published.order_by("cluster_id", "published_at", "id").values_list(
        "id", "cluster_id"
    ):
        orders.setdefault(cluster, []).append(pk)
    chosen: dict[int, tuple[int, ...]] = {}
    wanted: dict[tuple[int, int], tuple[int, int]] = {}  # (source, target) → (cluster, position)
    for cluster, order in orders.items():
        for source, targets in choose_links(order, limit).items():
            chosen[source] = targets
            for position, target in enumerate(targets):
                wanted[(source, target)] = (cluster, position)
    have = {
        (source, target): (pk, (cluster, position))
        for pk, source, target, cluster, position in stored.values_list(
            "id", "source_id", "target_id", "cluster_id", "position"
        )
    }
    gone = [(key, pk) for key, (pk, where) in have.items() if wanted.get(key) != where]
    new = [(key, where) for key, where in wanted.items() if have.get(key, (0, None))[1] != where]
    gone_ids = [pk for _, pk in gone]
    for start in range(0, len(gone_ids), CHUNK):
        InternalLink.objects.filter(pk__in=gone_ids[start : start + CHUNK]).delete()
    InternalLink.objects.bulk_create(
        (
            InternalLink(
                site_id=site_id,
                cluster_id=cluster,
                source_id=source,
                target_id=target,
                position=position,
            )
            for (source, target), (cluster, position) in new
        ),
        batch_size=500,
    )
    changed = {source for (source, _), _ in gone} | {source for (source, _), _ in new}
    return changed, chosen


def _mark_for_sync(*, site_id: int, content_ids: Iterable[int], now: dt.datetime) -> None:
    """Due at once, attempts from zero, a new token (so a push in flight does not clear it)."""
    LinkSync.objects.bulk_create(
        [
            LinkSync(
                content_id=pk,
                site_id=site_id,
                token=uuid.uuid4(),
                due_at=now,
                attempts=0,
                error="",
                changed_at=now,
            )
            for pk in sorted(content_ids)
        ],
        update_conflicts=True,
        unique_fields=["content"],
        update_fields=["token", "due_at", "attempts", "error", "changed_at"],
        batch_size=500,
    )


def content_linked(
    *,
    content: Content,
    limit: int,
    pushed: tuple[int, ...],
    republished: bool,
    now: dt.datetime,
) -> set[int]:
    """`content` has just been marked published (same transaction, cluster locked with
    `lock_cluster`): decide its cluster's links and mark every article whose block changed
    for a push. `pushed`: the targets its block was published with. Returns the marked ids."""
    if content.cluster_id is None:
        return set()
    changed, chosen = _decide(site_id=content.site_id, cluster_id=content.cluster_id, limit=limit)
    changed.discard(content.pk)
    if republished or chosen.get(content.pk, ()) != pushed:
        changed.add(content.pk)
    _mark_for_sync(site_id=content.site_id, content_ids=changed, now=now)
    return changed


def content_removed(*, content: Content, limit: int, now: dt.datetime) -> set[int]:
    """Delete `content` (inside a transaction) and decide its cluster's links without it: the
    published articles that linked to it, and any whose block changes, are marked for a push,
    so none keeps a link to it. Returns the marked ids."""
    lock_cluster(content.cluster_id)
    linked_to = set(InternalLink.objects.filter(target=content).values_list("source_id", flat=True))
    site_id, cluster_id, pk = content.site_id, content.cluster_id, content.pk
    content.delete()
    if cluster_id is None:
        return set()
    changed, _ = _decide(site_id=site_id, cluster_id=cluster_id, limit=limit)
    marked = (changed | linked_to) - {pk}
    _mark_for_sync(site_id=site_id, content_ids=marked, now=now)
    return marked


def links_relink_site(*, site: Site, limit: int, now: dt.datetime) -> set[int]:
    """A new `internal_links_max`: decide every cluster of the site again and mark the
    articles whose block changed for a push. Returns the marked ids."""
    with transaction.atomic():
        list(
            Cluster.objects.select_for_update()
            .filter(site=site)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        changed, _ = _decide(site_id=site.pk, cluster_id=None, limit=limit)
        _mark_for_sync(site_id=site.pk, content_ids=changed, now=now)
    return changed


# --- pushing -------------------------------------------------------------------------------
def link_sync(*, content_id: int, now: dt.datetime, publisher: Publisher | None = None) -> str:
    """Push one article's block. Returns "updated", "retry" (due again after a backoff),
    "failed" (gave up until its links change again), "dropped" (not published: nothing to
    push) or "skipped" (not due, or claimed by another worker)."""
    claimed = LinkSync.objects.filter(pk=content_id, due_at__lte=now).update(
        due_at=now + CLAIM_TIMEOUT, attempts=F("attempts") + 1
    )
    if not claimed:
        return "skipped"
    sync = LinkSync.objects.filter(pk=content_id).first()
    content = Content.objects.select_related("site", "cluster").filter(pk=content_id).first()
    if sync is None or content is None:
        return "dropped"  # the article was deleted meanwhile
    mine = LinkSync.objects.filter(pk=content_id, token=sync.token)
    if content.status != Content.Status.PUBLISHED:
        mine.delete()
        return "dropped"
    try:
        article = article_of(content, related=related_of(content))
        (publisher or get_publisher(content.site)).refresh_related(
            article, remote_id=content.remote_id
        )
    except PublishError as exc:
        error, retryable = exc.message, exc.retryable
    except Exception as exc:  # a publisher bug must not leave the row claimed
        log.exception("updating the internal links of content %s failed", content_id)
        error, retryable = f"{type(exc).__name__}: {exc}", True
    else:
        mine.delete()
        return "updated"
    if retryable and sync.attempts < MAX_SYNC_ATTEMPTS:
        mine.update(
            due_at=now + backoff(sync.attempts),
            error=f"Attempt {sync.attempts} failed: {error}",
        )
        return "retry"
    mine.update(due_at=None, error=f"Gave up after {sync.attempts} attempt(s): {error}")
    return "failed"


def link_syncs_due(
    *, now: dt.datetime, limit: int = 200, site_id: int | None = None
) -> dict[int, str]:
    """The publish tick's second half: push every due block, oldest change first."""
    due = LinkSync.objects.filter(due_at__lte=now)
    if site_id is not None:
        due = due.filter(site_id=site_id)
    ids = list(due.order_by("due_at", "pk").values_list("pk", flat=True)[:limit])
    return {pk: link_sync(content_id=pk, now=now) for pk in ids}
