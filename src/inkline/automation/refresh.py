"""Refreshing published articles: asking for refreshes and writing them.

A refresh is a `ContentRevision` row (writer): the queue of record. `refresh_request` picks a
site's published articles (by age, by SEO score, by a list; `writer.selectors`) and queues a
revision for each, waking a worker per revision; the beat's refresh tick writes what a lost
message or a dead worker left (`refresh_tick`). A scheduled run refreshes too: its revisions
carry the run and are written inside the run's slices (`automation.engine`), their credits
counted toward its budget.

`revision_write` writes one revision the way stage 4 writes an article: the same brief
(`ContentStage.build` of the article's task, so the site's prompt and voice apply), through
the provider's `write_content`; the hold before the call, the call outside any transaction,
then one short transaction storing the new version for review and capturing its credits
under the revision's own idempotency key (`refresh:<revision id>`), so a refresh is charged
at most once (invariants 4 and 5). The slug, the URL and the internal links stay the
article's: only its title, body and description are rewritten. Approval and the push in
place are `publishing.refresh`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import cast

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q

from inkline import clock
from inkline.accounts.models import Site
from inkline.accounts.selectors import site_voice
from inkline.ai.registry import get_provider
from inkline.ai.types import AIError, AIProvider, ArticleIn, ArticleResult, Usage
from inkline.automation.events import RunEventAlerts
from inkline.automation.models import ACTIVE_STATUSES, AutomationRun
from inkline.automation.stages import ContentStage, WorkItem
from inkline.automation.stages.writing import ContentJob
from inkline.billing import services as billing
from inkline.billing.costs import cost_of
from inkline.billing.models import CreditCostConfig
from inkline.billing.selectors import ledger_key_exists
from inkline.celery import app as celery_app
from inkline.core.errors import (
    BudgetExhausted,
    InsufficientCredits,
    ItemGone,
    LeaseLost,
    ValidationFailed,
)
from inkline.core.text import html_text
from inkline.publishing.refresh import revision_push_wake
from inkline.writer.models import ContentRevision, WritingTask
from inkline.writer.quality import seo_threshold, site_min_words
from inkline.writer.selectors import min_words_annotation, refresh_candidates
from inkline.writer.services import (
    ArticleDraft,
    revision_claim,
    revision_retry,
    revision_store,
    revision_write_failed,
    revisions_request,
    revisions_take_for_wake,
    revisions_woken,
)

log = logging.getLogger(__name__)

WRITE_REVISION = "inkline.automation.write_revision"  # automation.tasks.write_revision
OPERATION = "content_generation"  # a refresh is billed as content generation
MAX_WRITE_ATTEMPTS = 3  # write attempts of one revision (endpoint failures included)
MAX_IDS = 500  # articles one request may list


@dataclass(frozen=True)
class RunCharge:
    """A revision written inside a run: its hold counts against the run's budget, and
    `on_capture(credits)` adds the charge to the run's figures in the capture's transaction."""

    run_pk: int
    run_id: str
    cap: int
    on_capture: Callable[[int], None]
    # How the AI call is made: the run renews its lease while the call takes.
    call: Callable[[Callable[[], ArticleResult]], ArticleResult] | None = None


class RefreshStop(Exception):
    """The run's budget or the account's credits cannot pay for another refresh."""

    def __init__(self, reason: str, *, end_run: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.end_run = end_run


def revision_wake(revision_id: int) -> None:
    celery_app.tasks[WRITE_REVISION].delay(revision_id)


def refresh_request(
    *,
    site: Site,
    by: str,
    older_than_days: int = 0,
    seo_below: int = 0,
    ids: Sequence[int] = (),
    limit: int = 0,
    now: dt.datetime | None = None,
    wake: bool = True,
) -> list[ContentRevision]:
    """Queue a refresh of the site's published articles picked by age (`older_than_days`),
    SEO score (`seo_below`) or id (`ids`; each criterion adds articles), at most `limit`
    (0: all). Articles with a refresh open already are left out. A worker is woken for each
    once the request commits. ValidationFailed without any criterion."""
    if not (older_than_days or seo_below or ids):
        raise ValidationFailed(
            {"older_than_days": ["Give older_than_days, seo_below or ids: what to refresh."]}
        )
    if len(ids) > MAX_IDS:
        raise ValidationFailed({"ids": [f"At most {MAX_IDS} articles at a time."]})
    now = now or clock.now()
    with transaction.atomic():
        picks = refresh_candidates(
            site_id=site.pk,
            now=now,
            older_than_days=older_than_days,
            seo_below=seo_below,
            ids=ids,
            limit=limit,
        )
        made = revisions_request(
            site_id=site.pk,
            picks=picks,
            trigger=ContentRevision.Trigger.MANUAL,
            requested_by=by,
        )
        if wake:
            revisions_woken(ids=[r.pk for r in made], now=now)
            for revision in made:
                transaction.on_commit(partial(revision_wake, revision.pk), robust=True)
    return made


def revision_retry_wake(*, revision: ContentRevision) -> ContentRevision:
    """A user retries a failed refresh: written again (outside any run) when it never was,
    else pushed again; a worker is woken once that commits."""
    with transaction.atomic():
        revision = revision_retry(revision=revision, now=clock.now())
        wake = revision_push_wake if revision.status == "approved" else revision_wake
        transaction.on_commit(partial(wake, revision.pk), robust=True)
    return revision


def refresh_request_for_run(*, run: AutomationRun, now: dt.datetime) -> list[ContentRevision]:
    """A run's refreshes, picked once by the site's automation settings (none unless they
    are on). Written by the run itself (`automation.engine`), not woken."""
    config = run.site.automation_config
    if not config.refresh_enabled:
        return []
    older = int(config.refresh_older_than_days)
    below = seo_threshold(site_id=run.site_id) if config.refresh_below_threshold else 0
    if not (older or below):
        return []
    picks = refresh_candidates(
        site_id=run.site_id,
        now=now,
        older_than_days=older,
        seo_below=below,
        limit=int(config.refresh_max_per_run),
    )
    return revisions_request(
        site_id=run.site_id,
        picks=picks,
        trigger=ContentRevision.Trigger.SCHEDULED,
        requested_by=f"run {run.run_id}",
        run_pk=run.pk,
    )


def refresh_brief(revision: ContentRevision) -> ArticleIn:
    """What the AI is asked to write: stage 4's brief of the article's task (its idea's
    title, keywords, type and outline, the site's minimum words), as this refresh."""
    content = revision.content
    task = (
        WritingTask.objects.select_related("idea")
        .annotate(min_words=min_words_annotation(site_id=content.site_id))
        .filter(pk=content.task_id)
        .first()
        if content.task_id
        else None
    )
    if task is not None:
        brief = ContentStage().build(task).payload.brief
    else:  # an article without its task: its own title, keyword and headings
        headings = tuple(
            h
            for h in (
                html_text(part.split("</h2>", 1)[0]) for part in content.html.split("<h2")[1:]
            )
            if h
        )
        brief = ArticleIn(
            title=content.title,
            primary_keyword=content.primary_keyword,
            target_keywords=(),
            content_type="",
            outline=headings,
            min_words=site_min_words(site_id=content.site_id),
            voice=site_voice(content.site_id),
        )
    return dataclasses.replace(brief, revision=revision.number)


def _expected(label: str) -> Usage:
    """Stage 4's generous estimate of one article's usage, for the hold."""
    item = cast("WorkItem[ContentJob]", WorkItem(ids=(0,), payload=None, label=label))
    return ContentStage().expected_usage(item)


def revision_write(
    *,
    revision_id: int,
    provider: AIProvider | None = None,
    now: dt.datetime | None = None,
    charge: RunCharge | None = None,
) -> str:
    """Write one revision (see the module's docstring). Returns "written", "retry" (the
    endpoint failed: queued again while attempts are left), "failed" (with its reason on the
    row) or "skipped" (another worker has it, or it is no longer waiting). Inside a run,
    raises RefreshStop when the run's budget or the account's credits are spent (the
    revision fails with that reason)."""
    now = now or clock.now()
    revision = revision_claim(revision_id=revision_id, now=now)
    if revision is None:
        return "skipped"
    content = revision.content
    label = f"refresh {revision.number} of '{content.title}'"
    account_id = Site.objects.values_list("account_id", flat=True).get(pk=revision.site_id)
    config = CreditCostConfig.objects.filter(operation_type=OPERATION, is_active=True).first()
    hold = None
    amount = cost_of(config.unit, config.cost_per_unit, _expected(label)) if config else 0
    if amount > 0:
        try:
            hold = billing.credit_reserve(
                account_id=account_id,
                amount=amount,
                operation_type=OPERATION,
                site_id=revision.site_id,
                run_id=charge.run_pk if charge else None,
                run_cap=charge.cap if charge else None,
                alerts=RunEventAlerts(charge.run_pk) if charge else None,
                description=f"Hold for {OPERATION} of {label}"
                + (f" (run {charge.run_id})" if charge else ""),
            )
        except (BudgetExhausted, InsufficientCredits) as exc:
            revision_write_failed(revision=revision, error=exc.message, again=False, max_attempts=1)
            if charge is not None:
                end = not isinstance(exc, BudgetExhausted) or exc.extra.get("scope") == "run"
                raise RefreshStop(f"Refreshing stopped: {exc.message}", end_run=end) from exc
            return "failed"
    try:
        brief = refresh_brief(revision)
        ask = partial((provider or get_provider()).write_content, brief)
        result = charge.call(ask) if charge is not None and charge.call else ask()
    except (LeaseLost, DatabaseError):
        # The slice ends (the run's lease was taken over, or the database failed): nothing of
        # this attempt is kept; the run's next worker, or the tick once the claim expires,
        # queues the revision again.
        with contextlib.suppress(DatabaseError):  # else the sweeper releases it
            _give_back(hold, f"{label}: its worker stopped")
        raise
    except Exception as exc:
        usage = exc.usage if isinstance(exc, AIError) else None
        again = isinstance(exc, AIError) and exc.endpoint
        if not isinstance(exc, AIError):
            log.exception("writing %s failed", label)
        _settle_failed(hold, usage, revision=revision, label=label, charge=charge)
        status = revision_write_failed(
            revision=revision,
            error=f"{type(exc).__name__}: {exc}" if not isinstance(exc, AIError) else str(exc),
            again=again,
            max_attempts=MAX_WRITE_ATTEMPTS,
        )
        return "retry" if status == ContentRevision.Status.QUEUED else "failed"
    key = f"refresh:{revision.pk}"
    article = result.article
    try:
        with transaction.atomic():
            charged = 0
            if hold is not None:
                charged = billing.credit_capture(
                    hold=hold,
                    amount=cost_of(config.unit, config.cost_per_unit, result.usage)
                    if config
                    else 0,
                    key=key,
                    site_id=revision.site_id,
                    alerts=RunEventAlerts(charge.run_pk) if charge else None,
                    description=f"{OPERATION} of {label}"
                    + (f" (run {charge.run_id})" if charge else ""),
                    prompt_tokens=result.usage.prompt_tokens,
                    completion_tokens=result.usage.completion_tokens,
                )
            revision_store(
                revision=revision,
                draft=ArticleDraft(
                    title=article.title,
                    html=article.html,
                    meta_description=article.meta_description,
                    slug=content.slug,  # the slug and URL stay the article's
                ),
                provenance=result.provenance.as_dict(result.usage),
                credits_used=charged,
                now=clock.now(),
            )
            if charge is not None:
                charge.on_capture(charged)
    except (ItemGone, InsufficientCredits):
        _give_back(hold, f"{label} was done elsewhere")
        return "skipped"
    except IntegrityError as exc:
        _give_back(hold, f"{label} could not be stored")
        if ledger_key_exists(key):
            return "skipped"
        revision_write_failed(
            revision=revision,
            error=f"its output could not be stored: {exc}",
            again=False,
            max_attempts=1,
        )
        return "failed"
    return "written"


def _give_back(hold: billing.Hold | None, reason: str) -> None:
    if hold is not None:
        billing.credit_release(hold=hold, reason=reason)


def _settle_failed(
    hold: billing.Hold | None,
    usage: Usage | None,
    *,
    revision: ContentRevision,
    label: str,
    charge: RunCharge | None,
) -> None:
    """A failed call: its hold captured for what the provider billed, else released."""
    if hold is None:
        return
    config = CreditCostConfig.objects.filter(operation_type=OPERATION).first()
    if usage is None or config is None:
        _give_back(hold, f"{label} failed")
        return
    try:
        with transaction.atomic():
            charged = billing.credit_capture(
                hold=hold,
                amount=cost_of(config.unit, config.cost_per_unit, usage),
                key=f"refresh:{revision.pk}:failed:{hold.id}",
                site_id=revision.site_id,
                alerts=RunEventAlerts(charge.run_pk) if charge else None,
                description=f"{OPERATION} of {label} failed; billed by the provider all the same",
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
            )
            if charge is not None:
                charge.on_capture(charged)
    except InsufficientCredits:  # the hold was released under us: nothing to charge
        pass


def refresh_tick(
    *, now: dt.datetime | None = None, limit: int = 200, wake: bool = True
) -> list[int]:
    """The beat's refresh tick (the reconciler): wake a worker again for each refresh asked
    for by hand that a lost message or a dead worker left (queued and not taken within
    `WAKE_GRACE` of its wake, or claimed longer ago than a claim lasts); fail those of a run
    that ended before writing them, with the reason (a user may retry them). Returns the ids
    woken (with `wake=False`, the caller writes them)."""
    now = now or clock.now()
    waiting = Q(status=ContentRevision.Status.QUEUED) | Q(
        status=ContentRevision.Status.WRITING, claimed_until__lt=now
    )
    active_runs = AutomationRun.objects.filter(status__in=ACTIVE_STATUSES).values("pk")
    ContentRevision.objects.filter(waiting, run_pk__isnull=False).exclude(
        run_pk__in=active_runs
    ).update(
        status=ContentRevision.Status.FAILED,
        claimed_until=None,
        last_error="Its automation run ended before it was written; refresh it again.",
    )
    ids = revisions_take_for_wake(now=now, limit=limit)
    if wake:
        for pk in ids:
            transaction.on_commit(partial(revision_wake, pk), robust=True)
    return ids
