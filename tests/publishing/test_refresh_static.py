"""Refreshing a published article end to end on the static publisher: picked, rewritten
through stage 4's path, reviewed beside the live version, approved, replaced in place."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import time_machine
import yaml
from django.conf import settings

from inkline import cli
from inkline.accounts.models import Account, Site
from inkline.ai.local import LocalProvider
from inkline.ai.types import AIError, ArticleIn, ArticleResult, Usage
from inkline.automation.refresh import (
    refresh_brief,
    refresh_request,
    refresh_tick,
    revision_write,
)
from inkline.automation.sites import site_create
from inkline.billing.models import CreditTransaction
from inkline.core.errors import InvalidTransition, ValidationFailed
from inkline.publishing.refresh import revision_approve_push, revision_push
from inkline.publishing.services import content_publish_due
from inkline.writer.models import Content, ContentRevision
from inkline.writer.quality import brand_voice_change
from inkline.writer.services import revision_claim, revision_reject
from tests.factories import add_tasks, only_stages, run_now
from tests.publishing.builders import publishing

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NOW = dt.datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
LATER = NOW + dt.timedelta(days=120)


def front_matter(path: Path) -> tuple[dict[str, Any], str]:
    _, head, body = path.read_text().split("---\n", 2)
    return yaml.safe_load(head), body


def posts(site: Site) -> list[Path]:
    return sorted((Path(settings.SITE_OUTPUT_DIR) / str(site.pk)).rglob("*.md"))


def published_site(account: Account, provider: LocalProvider, n: int = 2, **config: Any) -> Site:
    """A site whose `n` articles went through the pipeline and are live as Markdown."""
    site = site_create(account=account, name="static", url="https://blog.example.com")
    publishing(site, scheduling_mode="immediate")
    add_tasks(site, n)
    only_stages(site, 4, 5, 6, 7, **config)
    with time_machine.travel(NOW, tick=False):
        run = run_now(site, provider)
        assert run.status == "completed", run.error_message
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        content_publish_due()  # every slot has come
    assert Content.objects.filter(site=site, status="published").count() == n
    return site


def test_a_manual_refresh_replaces_the_static_post_in_place_after_review(
    account: Account, provider: LocalProvider
) -> None:
    site = published_site(account, provider)
    content = Content.objects.filter(site=site).order_by("pk").first()
    assert content is not None
    before_files = posts(site)
    path = Path(settings.SITE_OUTPUT_DIR) / str(site.pk) / "content/posts" / f"{content.slug}.md"
    old_meta, old_body = front_matter(path)
    assert "lastmod" not in old_meta
    old_html, old_url = content.html, content.published_url

    with time_machine.travel(LATER, tick=False):
        made = refresh_request(site=site, by="owner", ids=[content.pk], wake=False)
        assert [r.content_id for r in made] == [content.pk]
        again = refresh_request(site=site, by="owner", ids=[content.pk], wake=False)
        assert again == []  # a refresh is open already: never a second job
        assert revision_write(revision_id=made[0].pk, provider=provider) == "written"
        assert revision_write(revision_id=made[0].pk, provider=provider) == "skipped"
    revision = ContentRevision.objects.get(pk=made[0].pk)
    assert revision.status == "review" and revision.number == 1
    assert revision.base_html == old_html and revision.html != old_html
    assert revision.credits_used > 0
    # The live article is untouched while the revision waits for review.
    content.refresh_from_db()
    assert content.html == old_html
    assert front_matter(path)[1] == old_body

    captures = CreditTransaction.objects.filter(idempotency_key=f"refresh:{revision.pk}")
    assert [(c.kind, -c.amount) for c in captures] == [("capture", revision.credits_used)]

    approved_at = LATER + dt.timedelta(hours=1)
    with time_machine.travel(approved_at, tick=False):
        revision = revision_approve_push(revision=revision, by="owner")
        assert (revision.status, revision.decided_by) == ("approved", "owner")
        with pytest.raises(InvalidTransition):
            revision_reject(revision=revision, by="owner", now=approved_at)
        # The publish tick pushes it (the woken task would do the same).
        report = content_publish_due(now=approved_at)
    assert report.revision_pushes == {revision.pk: "published"}
    assert revision_push(revision_id=revision.pk, now=approved_at) == "skipped"

    revision.refresh_from_db()
    content.refresh_from_db()
    assert revision.status == "published" and revision.published_at == approved_at
    assert revision.decided_at == approved_at
    assert content.html == revision.html and content.modified_at == approved_at
    assert content.published_url == old_url and content.slug == revision.content.slug
    assert posts(site) == before_files  # the same file, no second post
    meta, body = front_matter(path)
    assert meta["slug"] == content.slug and meta["date"] == old_meta["date"]
    assert dt.datetime.fromisoformat(meta["lastmod"]) == approved_at
    assert body != old_body
    # One capture per refresh, whatever ran twice.
    assert captures.count() == 1


def test_picks_by_age_and_by_seo_score_and_refuses_a_request_without_a_criterion(
    account: Account, provider: LocalProvider
) -> None:
    site = published_site(account, provider, n=3)
    first, second, third = Content.objects.filter(site=site).order_by("pk")
    Content.objects.filter(pk=first.pk).update(published_at=NOW - dt.timedelta(days=200))
    Content.objects.filter(pk=second.pk).update(seo_score=10)
    with pytest.raises(ValidationFailed):
        refresh_request(site=site, by="owner", wake=False)
    with time_machine.travel(NOW, tick=False):
        by_age = refresh_request(site=site, by="owner", older_than_days=90, wake=False)
        by_score = refresh_request(site=site, by="owner", seo_below=50, wake=False)
    assert [r.content_id for r in by_age] == [first.pk]
    assert "days ago" in by_age[0].reason
    assert [r.content_id for r in by_score] == [second.pk]
    assert by_score[0].reason == "SEO score 10 below 50"
    # The tick (the reconciler) writes what no worker took.
    with time_machine.travel(NOW, tick=False):
        woken = refresh_tick(wake=False)
        assert sorted(woken) == sorted([by_age[0].pk, by_score[0].pk])
        assert refresh_tick(wake=False) == []  # woken: not again before the grace is over
        outcomes = {pk: revision_write(revision_id=pk, provider=provider) for pk in woken}
    assert set(outcomes.values()) == {"written"}
    # A worker that died while writing: its claim expires, the tick wakes it again.
    (third_revision,) = refresh_request(site=site, by="owner", ids=[third.pk], wake=False)
    assert revision_claim(revision_id=third_revision.pk, now=NOW) is not None
    assert refresh_tick(now=NOW + dt.timedelta(minutes=5), wake=False) == []
    assert refresh_tick(now=NOW + dt.timedelta(minutes=11), wake=False) == [third_revision.pk]
    third_revision.refresh_from_db()
    assert third_revision.status == "queued"


def test_a_rejected_refresh_leaves_the_article_and_stays_in_its_history(
    account: Account, provider: LocalProvider
) -> None:
    site = published_site(account, provider, n=1)
    content = Content.objects.get(site=site)
    old_html = content.html
    with time_machine.travel(LATER, tick=False):
        (revision,) = refresh_request(site=site, by="owner", ids=[content.pk], wake=False)
        revision_write(revision_id=revision.pk, provider=provider)
        revision.refresh_from_db()
        revision_reject(revision=revision, by="editor", now=LATER, reason="too long")
        (second,) = refresh_request(site=site, by="owner", ids=[content.pk], wake=False)
    content.refresh_from_db()
    assert content.html == old_html and content.modified_at is None
    history = list(content.revisions.values_list("number", "status", "decided_by"))
    assert history == [(2, "queued", ""), (1, "rejected", "editor")]
    assert second.number == 2


def test_cli_refresh_queues_or_writes_refreshes_and_refuses_bad_usage(
    account: Account, provider: LocalProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    site = published_site(account, provider, n=2)
    first, second = Content.objects.filter(site=site).order_by("pk")
    Content.objects.filter(pk=first.pk).update(seo_score=5)
    assert cli.main(["refresh", site.name]) == 2  # nothing says what to refresh
    assert "give --older-than, --seo-below or --ids" in capsys.readouterr().err
    assert cli.main(["refresh", site.name, "--seo-below", "101"]) == 2
    capsys.readouterr()
    with time_machine.travel(LATER, tick=False):
        assert cli.main(["refresh", site.name, "--seo-below", "50", "--wait", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["count"] == 1
    (row,) = answer["revisions"]
    assert (row["content_id"], row["outcome"], row["status"]) == (first.pk, "written", "review")
    assert row["credits"] > 0
    with time_machine.travel(LATER, tick=False):
        assert cli.main(["refresh", str(site.pk), "--ids", str(first.pk), str(second.pk)]) == 0
    out = capsys.readouterr().out
    assert "1 refresh(es) queued for writing." in out  # the first one is open already
    assert ContentRevision.objects.get(content=second).status == "queued"


class Failing(LocalProvider):
    """The local provider whose article calls fail as `error` says."""

    def __init__(self, error: AIError) -> None:
        super().__init__()
        self.error = error

    def write_content(self, brief: ArticleIn) -> ArticleResult:
        raise self.error


def test_failed_calls_give_their_hold_back_or_charge_what_was_billed(
    account: Account, provider: LocalProvider
) -> None:
    site = published_site(account, provider, n=2)
    first, second = Content.objects.filter(site=site).order_by("pk")
    (revision,) = refresh_request(site=site, by="owner", ids=[first.pk], wake=False)
    down = Failing(AIError("endpoint down", endpoint=True))
    outcomes = [revision_write(revision_id=revision.pk, provider=down) for _ in range(3)]
    assert outcomes == ["retry", "retry", "failed"]  # 3 attempts, then visible
    revision.refresh_from_db()
    assert revision.status == "failed" and revision.last_error == "endpoint down"
    account.refresh_from_db()
    assert account.credits_held == 0
    assert not CreditTransaction.objects.filter(kind="capture").filter(
        idempotency_key__startswith="refresh:"
    )
    # An unusable answer the provider billed: charged once, for its usage, and the item fails.
    (billed,) = refresh_request(site=site, by="owner", ids=[second.pk], wake=False)
    bad = Failing(AIError("unusable", usage=Usage(calls=2, prompt_tokens=900, words=2000)))
    assert revision_write(revision_id=billed.pk, provider=bad) == "failed"
    charges = CreditTransaction.objects.filter(idempotency_key__startswith=f"refresh:{billed.pk}:")
    assert [c.kind for c in charges] == ["capture"] and charges[0].amount < 0
    account.refresh_from_db()
    assert account.credits_held == 0


class Blurting(LocalProvider):
    """The local provider, but its articles end with a sentence using `word` (as a model that
    ignores the prompt's avoid list would write)."""

    def __init__(self, word: str) -> None:
        super().__init__()
        self.word = word

    def write_content(self, brief: ArticleIn) -> ArticleResult:
        result = super().write_content(brief)
        html = result.article.html + f"<p>We {self.word} into the details here.</p>"
        article = dataclasses.replace(result.article, html=html)
        return dataclasses.replace(result, article=article)


def test_a_refresh_is_judged_by_the_brand_voice_like_a_new_article(
    account: Account, provider: LocalProvider
) -> None:
    """The refresh is written with the site's voice (its brief carries it) and its SEO report
    fails the `avoided_words` check by name when the answer uses a word the site avoids."""
    site = published_site(account, provider, n=1)
    brand_voice_change(site=site, words_to_avoid=["delve"], point_of_view="we")
    content = Content.objects.get(site=site)
    with time_machine.travel(LATER, tick=False):
        [revision] = refresh_request(site=site, by="owner", ids=[content.pk], wake=False)
        assert refresh_brief(revision).voice.words_to_avoid == ("delve",)
        assert revision_write(revision_id=revision.pk, provider=Blurting("delve")) == "written"
    revision.refresh_from_db()
    checks = {c["check"]: c for c in revision.seo_report}
    assert checks["avoided_words"]["passed"] is False
    assert "delve" in checks["avoided_words"]["message"]
