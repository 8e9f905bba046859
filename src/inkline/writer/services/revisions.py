"""Refreshes of published articles (`ContentRevision`): asking for them, claiming one to
write, storing what the AI wrote for review, and a user's approve or reject. Writing one
(the AI call and its credits) is `inkline.automation.refresh`; pushing an approved one to the
publisher in place is `inkline.publishing.refresh`.

Every write is conditional on the row's status (and, while it is being written or pushed,
on its `attempts`, the claim's fencing token), so two workers never both commit one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q, QuerySet

from inkline.accounts.selectors import site_voice
from inkline.core.errors import InvalidTransition, ItemGone
from inkline.writer.html import sanitize_html, sanitize_text, word_count
from inkline.writer.models import Content, ContentRevision, Image
from inkline.writer.selectors import RefreshPick
from inkline.writer.seo import seo_check
from inkline.writer.services.content import ArticleDraft

# A claim (writing or pushing) older than this is presumed dead and is taken again.
REVISION_CLAIM = dt.timedelta(minutes=10)
# A queued revision whose worker was woken this long ago and has not taken it is woken again
# (its message was lost); `claimed_until` of a queued revision is when that is due.
WAKE_GRACE = dt.timedelta(minutes=5)


def revisions_request(
    *,
    site_id: int,
    picks: Sequence[RefreshPick],
    trigger: str,
    requested_by: str,
    run_pk: int | None = None,
) -> list[ContentRevision]:
    """Queue a refresh of each picked article (published, of the site), the live version
    kept as its base. An article with a refresh already open is passed over (the partial
    unique constraint decides, so two requests at once make one revision)."""
    made = []
    for pick in picks:
        content = Content.objects.filter(
            pk=pick.content_id, site_id=site_id, status=Content.Status.PUBLISHED
        ).first()
        if content is None:
            continue
        try:
            with transaction.atomic():
                last = ContentRevision.objects.filter(content=content).aggregate(n=Max("number"))
                made.append(
                    ContentRevision.objects.create(
                        content=content,
                        site_id=site_id,
                        number=(last["n"] or 0) + 1,
                        trigger_type=trigger,
                        reason=pick.reason[:255],
                        requested_by=requested_by[:150],
                        run_pk=run_pk,
                        base_title=content.title,
                        base_html=content.html,
                        base_meta_description=content.meta_description,
                    )
                )
        except IntegrityError:
            continue  # a refresh of it is open already (or was just asked for)
    return made


def revisions_take_for_wake(*, now: dt.datetime, limit: int) -> list[int]:
    """Revisions asked for by hand that no worker has (queued and not woken lately, or
    claimed longer ago than a claim lasts): queued again, due for another wake in
    `WAKE_GRACE`. Returns their ids, for the caller to wake a worker for each."""
    due = (
        Q(status=ContentRevision.Status.QUEUED)
        & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    ) | Q(status=ContentRevision.Status.WRITING, claimed_until__lt=now)
    rows = ContentRevision.objects.filter(due, run_pk__isnull=True)
    ids = list(rows.order_by("pk").values_list("pk", flat=True)[:limit])
    taken = rows.filter(pk__in=ids)
    taken.update(status=ContentRevision.Status.QUEUED, claimed_until=now + WAKE_GRACE)
    return ids


def revisions_woken(*, ids: Sequence[int], now: dt.datetime) -> None:
    """Workers were woken for these queued revisions: not woken again before `WAKE_GRACE`."""
    ContentRevision.objects.filter(pk__in=list(ids), status=ContentRevision.Status.QUEUED).update(
        claimed_until=now + WAKE_GRACE
    )


def revisions_requeue_for_run(*, run_pk: int) -> int:
    """A run was picked up by a new worker: the refreshes its previous worker was writing are
    queued again (that worker's late store is refused: the claim's attempts moved on)."""
    return ContentRevision.objects.filter(
        run_pk=run_pk, status=ContentRevision.Status.WRITING
    ).update(status=ContentRevision.Status.QUEUED, claimed_until=None)


def revision_claim(*, revision_id: int, now: dt.datetime) -> ContentRevision | None:
    """Take a queued revision (or one whose writer's claim expired) to write it. None when
    another worker has it, or it is no longer waiting."""
    waiting = Q(status=ContentRevision.Status.QUEUED) | Q(
        status=ContentRevision.Status.WRITING, claimed_until__lt=now
    )
    if not ContentRevision.objects.filter(waiting, pk=revision_id).update(
        status=ContentRevision.Status.WRITING,
        claimed_until=now + REVISION_CLAIM,
        attempts=F("attempts") + 1,
    ):
        return None
    return ContentRevision.objects.select_related("content", "content__task__idea").get(
        pk=revision_id
    )


def _mine(revision: ContentRevision, status: str) -> QuerySet[ContentRevision]:
    return ContentRevision.objects.filter(pk=revision.pk, status=status, attempts=revision.attempts)


def revision_store(
    *,
    revision: ContentRevision,
    draft: ArticleDraft,
    provenance: Mapping[str, object],
    credits_used: int,
    now: dt.datetime,
) -> ContentRevision:
    """Store what the AI wrote (sanitized, SEO-checked with the article's images) for review,
    inside the caller's transaction; the slug and URL stay the article's. Raises `ItemGone`
    when this claim no longer holds the revision."""
    content = revision.content
    html = sanitize_html(draft.html)
    title = sanitize_text(draft.title)[:255] or content.title
    meta_description = sanitize_text(draft.meta_description)[:320]
    alts = Image.objects.filter(content_id=content.pk).values_list("alt_text", flat=True)
    voice = site_voice(content.site_id)  # judged as a new article is: the same brand voice
    seo = seo_check(
        title=title,
        html=html,
        meta_description=meta_description,
        primary_keyword=content.primary_keyword,
        image_alts=list(alts),
        words_to_avoid=voice.words_to_avoid,
        reading_ease_min=voice.reading_ease_min,
    )
    fields = {
        "status": ContentRevision.Status.REVIEW,
        "title": title,
        "html": html,
        "meta_description": meta_description,
        "word_count": word_count(html),
        "seo_score": seo.score,
        "seo_report": seo.as_list(),
        "provenance": dict(provenance),
        "credits_used": credits_used,
        "written_at": now,
        "claimed_until": None,
        "last_error": "",
    }
    if not _mine(revision, ContentRevision.Status.WRITING).update(**fields):
        raise ItemGone
    for name, value in fields.items():
        setattr(revision, name, value)
    return revision


def revision_write_failed(
    *, revision: ContentRevision, error: str, again: bool, max_attempts: int
) -> str:
    """A write attempt failed: queued again (`again`, while attempts are left) or failed with
    the reason. Returns the status it is left in ("" when this claim no longer held it)."""
    status = (
        ContentRevision.Status.QUEUED
        if again and revision.attempts < max_attempts
        else ContentRevision.Status.FAILED
    )
    done = _mine(revision, ContentRevision.Status.WRITING).update(
        status=status, claimed_until=None, last_error=error[:2000]
    )
    return status if done else ""


def revision_approve(*, revision: ContentRevision, by: str, now: dt.datetime) -> ContentRevision:
    """A user approves a refresh in review: it is pushed to the publisher in place next
    (`publishing.refresh`), recorded with who approved it and when."""
    revision.check_transition(ContentRevision.Status.APPROVED)
    if not ContentRevision.objects.filter(
        pk=revision.pk, status=ContentRevision.Status.REVIEW
    ).update(
        status=ContentRevision.Status.APPROVED,
        decided_by=by[:150],
        decided_at=now,
        next_attempt_at=now,
        attempts=0,
        last_error="",
    ):
        raise InvalidTransition(f"Revision {revision.pk} is no longer in review.", status="")
    revision.refresh_from_db()
    return revision


def revision_reject(
    *, revision: ContentRevision, by: str, now: dt.datetime, reason: str = ""
) -> ContentRevision:
    """A user rejects a refresh: the live article stays as it is; the revision stays in its
    history as rejected."""
    revision.check_transition(ContentRevision.Status.REJECTED)
    if not ContentRevision.objects.filter(
        pk=revision.pk, status=ContentRevision.Status.REVIEW
    ).update(
        status=ContentRevision.Status.REJECTED,
        decided_by=by[:150],
        decided_at=now,
        rejected_reason=reason[:500],
    ):
        raise InvalidTransition(f"Revision {revision.pk} is no longer in review.", status="")
    revision.refresh_from_db()
    return revision


def revision_retry(*, revision: ContentRevision, now: dt.datetime) -> ContentRevision:
    """A failed refresh tried again: written again when it never was, else pushed again."""
    revision.check_transition(ContentRevision.Status.QUEUED)
    to = ContentRevision.Status.APPROVED if revision.written_at else ContentRevision.Status.QUEUED
    try:
        updated = ContentRevision.objects.filter(
            pk=revision.pk, status=ContentRevision.Status.FAILED
        ).update(
            status=to,
            attempts=0,
            last_error="",
            next_attempt_at=now,
            claimed_until=None,
            run_pk=None,  # written again outside the run that asked for it
        )
    except IntegrityError as exc:  # another refresh of the article is open meanwhile
        raise InvalidTransition(
            f"Another refresh of content {revision.content_id} is open.", status="failed"
        ) from exc
    if not updated:
        raise InvalidTransition(f"Revision {revision.pk} did not fail.", status=revision.status)
    revision.refresh_from_db()
    return revision
