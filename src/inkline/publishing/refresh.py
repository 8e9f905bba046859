"""Pushing an approved refresh (`ContentRevision`) to the site's publisher, in place.

Approval (`revision_approve_push`) records who approved and when, and wakes a worker; the
database stays the queue of record: the publish tick pushes every approved revision that is
due (`revision_pushes_due`), so a lost message or a dead worker only delays it. A push is
claimed with a conditional UPDATE (its `next_attempt_at`, `attempts` the fencing token), then
`Publisher.update` replaces the post or file of the article in place (same post id, same
address, its "Related reading" as `publishing.links` decides it), and one transaction makes
the revision live and the article's row its new version, with `modified_at`. A failure is
retried with backoff, then the revision fails with its reason, retryable by a user.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging

from django.db import transaction
from django.db.models import F

from inkline import clock
from inkline.celery import app as celery_app
from inkline.publishing.delivery import CLAIM_TIMEOUT, article_of, backoff
from inkline.publishing.links import related_of
from inkline.publishing.publishers import Publisher, PublishError
from inkline.publishing.publishers.factory import get_publisher
from inkline.writer.models import Content, ContentRevision
from inkline.writer.services import revision_approve

log = logging.getLogger(__name__)

PUSH_REVISION = "inkline.publishing.push_revision"  # publishing.tasks.push_revision
MAX_PUSH_ATTEMPTS = 5


def revision_push_wake(revision_id: int) -> None:
    celery_app.tasks[PUSH_REVISION].delay(revision_id)


def revision_approve_push(
    *, revision: ContentRevision, by: str, now: dt.datetime | None = None
) -> ContentRevision:
    """A user approves a refresh in review: recorded (who, when), then pushed in place by a
    worker woken once the approval commits (or by the next publish tick)."""
    with transaction.atomic():
        revision = revision_approve(revision=revision, by=by, now=now or clock.now())
        pk = revision.pk
        transaction.on_commit(lambda: revision_push_wake(pk), robust=True)
    return revision


def _staged(content: Content, revision: ContentRevision, modified: dt.datetime) -> Content:
    """The article as it will read once the revision is live (not saved)."""
    staged = copy.copy(content)
    staged.title = revision.title
    staged.html = revision.html
    staged.meta_description = revision.meta_description
    staged.modified_at = modified
    return staged


def revision_push(
    *, revision_id: int, now: dt.datetime | None = None, publisher: Publisher | None = None
) -> str:
    """Push one approved revision. Returns "published", "retry" (due again after a backoff),
    "failed" (gave up: visible, retryable by a user) or "skipped" (not due, or claimed)."""
    now = now or clock.now()
    claimed = ContentRevision.objects.filter(
        pk=revision_id, status=ContentRevision.Status.APPROVED, next_attempt_at__lte=now
    ).update(next_attempt_at=now + CLAIM_TIMEOUT, attempts=F("attempts") + 1)
    if not claimed:
        return "skipped"
    revision = ContentRevision.objects.select_related(
        "content", "content__site", "content__cluster"
    ).get(pk=revision_id)
    content = revision.content
    mine = ContentRevision.objects.filter(
        pk=revision_id, status=ContentRevision.Status.APPROVED, attempts=revision.attempts
    )
    if content.status != Content.Status.PUBLISHED:
        mine.update(
            status=ContentRevision.Status.FAILED,
            next_attempt_at=None,
            last_error="The article is no longer published: there is nothing to update.",
        )
        return "failed"
    modified = max(now, clock.now())
    try:
        article = article_of(_staged(content, revision, modified), related=related_of(content))
        target = publisher or get_publisher(content.site)
        published = target.update(article, remote_id=content.remote_id)
    except PublishError as exc:
        error, retryable = exc.message, exc.retryable
    except Exception as exc:  # a publisher bug must not leave the revision claimed
        log.exception("pushing revision %s failed", revision_id)
        error, retryable = f"{type(exc).__name__}: {exc}", True
    else:
        with transaction.atomic():
            if mine.update(
                status=ContentRevision.Status.PUBLISHED,
                published_at=modified,
                next_attempt_at=None,
                last_error=" ".join(published.notes),
            ):
                Content.objects.filter(pk=content.pk).update(
                    title=revision.title,
                    html=revision.html,
                    meta_description=revision.meta_description,
                    word_count=revision.word_count,
                    seo_score=revision.seo_score,
                    seo_report=revision.seo_report,
                    modified_at=modified,
                    remote_id=published.remote_id[:255] or content.remote_id,
                    publish_error=" ".join(published.notes),
                )
        return "published"
    if retryable and revision.attempts < MAX_PUSH_ATTEMPTS:
        mine.update(
            next_attempt_at=now + backoff(revision.attempts),
            last_error=f"Push attempt {revision.attempts} failed: {error}",
        )
        return "retry"
    mine.update(
        status=ContentRevision.Status.FAILED,
        next_attempt_at=None,
        last_error=f"Gave up pushing after {revision.attempts} attempt(s): {error}",
    )
    return "failed"


def revision_pushes_due(
    *, now: dt.datetime, limit: int = 200, site_id: int | None = None
) -> dict[int, str]:
    """The publish tick's part for refreshes: push every approved revision that is due
    (woken ones whose message was lost, retries after their backoff, dead claims)."""
    due = ContentRevision.objects.filter(
        status=ContentRevision.Status.APPROVED, next_attempt_at__lte=now
    )
    if site_id is not None:
        due = due.filter(site_id=site_id)
    ids = list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])
    return {pk: revision_push(revision_id=pk, now=now) for pk in ids}
