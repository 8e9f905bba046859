"""Publishing on time, never twice, on the embedded default (static Markdown)."""

from __future__ import annotations

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
from inkline.automation.models import RunEvent
from inkline.automation.sites import site_create
from inkline.publishing import selectors
from inkline.publishing.services import (
    MAX_PUBLISH_ATTEMPTS,
    backoff,
    content_publish,
    content_publish_retry,
    content_schedule,
)
from inkline.publishing.tasks import publish_due
from inkline.writer.models import Content
from tests.factories import add_tasks, only_stages, run_now
from tests.publishing.builders import approved, publishing

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NOW = dt.datetime(2026, 6, 1, 6, 0, tzinfo=UTC)  # Monday 07:00 in London


def front_matter(path: Path) -> tuple[dict[str, Any], str]:
    _, head, body = path.read_text().split("---\n", 2)
    return yaml.safe_load(head), body


def tick(at: dt.datetime) -> int:
    with time_machine.travel(at, tick=False):
        return int(publish_due.apply().get())


def posts(site: Site) -> list[Path]:
    return sorted((Path(settings.SITE_OUTPUT_DIR) / str(site.pk)).rglob("*.md"))


def test_a_runs_approved_articles_appear_as_markdown_at_their_slot_times_each_once(
    account: Account, provider: LocalProvider
) -> None:
    site = site_create(
        account=account, name="london", timezone="Europe/London", url="https://blog.example.com"
    )
    publishing(site, publish_time_slots=["09:00", "14:00"], publish_days=list(selectors_days()))
    add_tasks(site, 3)
    only_stages(site, 4, 5, 6, 7)
    with time_machine.travel(NOW, tick=False):
        run = run_now(site, provider)
    assert run.status == "completed", run.error_message
    articles = list(Content.objects.filter(site=site).order_by("scheduled_publish_at"))
    slots = [c.scheduled_publish_at for c in articles if c.scheduled_publish_at is not None]
    assert slots == [
        dt.datetime(2026, 6, 1, 8, 0, tzinfo=UTC),  # 09:00 BST
        dt.datetime(2026, 6, 1, 13, 0, tzinfo=UTC),  # 14:00 BST
        dt.datetime(2026, 6, 2, 8, 0, tzinfo=UTC),
    ]
    events = RunEvent.objects.filter(run=run, code="scheduled")
    assert events.filter(message__contains="Scheduled 3").exists()

    assert tick(slots[0] - dt.timedelta(seconds=1)) == 0
    assert posts(site) == []
    assert tick(slots[0]) == 1
    assert len(posts(site)) == 1
    assert tick(slots[1] + dt.timedelta(seconds=30)) == 1
    assert tick(slots[2]) == 1
    assert tick(slots[2] + dt.timedelta(minutes=5)) == 0  # nothing published twice
    files = posts(site)
    assert len(files) == 3

    for content in Content.objects.filter(site=site):
        root = Path(settings.SITE_OUTPUT_DIR) / str(site.pk)
        path = root / "content" / "posts" / f"{content.slug}.md"
        assert path in files
        meta, body = front_matter(path)
        assert meta["title"] == content.title
        assert meta["slug"] == content.slug
        assert meta["description"] == content.meta_description
        assert dt.datetime.fromisoformat(meta["date"]) == content.scheduled_publish_at
        assert meta["tags"] == [content.primary_keyword]
        image = root / "static" / meta["image"].lstrip("/")
        assert image.is_file() and image.stat().st_size > 0
        assert "<h2" not in body and "## " in body  # Markdown, not HTML
        assert body.count("![") == content.images.filter(kind="in_article").count()
        assert content.status == "published" and content.site_status == "published"
        assert content.published_url == f"https://blog.example.com/posts/{content.slug}/"
        assert content.published_at is not None
        assert content.lateness_seconds == int(
            (content.published_at - content.scheduled_publish_at).total_seconds()
        )
    late = Content.objects.get(scheduled_publish_at=slots[1])
    assert late.lateness_seconds == 30


def selectors_days() -> tuple[str, ...]:
    return ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def test_immediate_mode_publishes_right_away(site: Site) -> None:
    publishing(site, scheduling_mode="immediate")
    content = Content.objects.create(site=site, title="Now", slug="now", status="review")
    from inkline.publishing.services import content_approve

    with time_machine.travel(NOW, tick=False):
        content = content_approve(content=content)
    assert content.scheduled_publish_at == NOW
    assert tick(NOW) == 1
    content.refresh_from_db()
    assert (content.site_status, content.published_at, content.lateness_seconds) == (
        "published",
        NOW,
        0,
    )


def test_jekyll_layout_writes_dated_posts_with_a_permalink(account: Account) -> None:
    site = site_create(account=account, name="j", publisher_config={"layout": "jekyll"})
    (content_id,) = approved(site, 1)
    content_schedule(site=site, now=NOW)
    slot = Content.objects.get(pk=content_id).scheduled_publish_at
    assert slot is not None
    assert tick(slot) == 1
    path = Path(settings.SITE_OUTPUT_DIR) / str(site.pk) / "_posts" / "2026-06-01-article-a0.md"
    meta, body = front_matter(path)
    assert meta["permalink"] == "/posts/article-a0/" and meta["layout"] == "post"
    assert "**0**" in body


def test_overdue_items_are_published_on_the_first_tick_after_downtime(site: Site) -> None:
    approved(site, 2)
    content_schedule(site=site, now=NOW)  # 09:00 and 14:00 UTC
    assert tick(dt.datetime(2026, 6, 1, 20, 0, tzinfo=UTC)) == 2
    stored = Content.objects.values_list("lateness_seconds", flat=True)
    lateness = sorted(s or 0 for s in stored)
    assert lateness == [6 * 3600, 11 * 3600]


def test_failures_retry_with_exponential_backoff_then_fail_visibly_and_can_be_retried(
    site: Site, settings: Any, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    good_dir = settings.SITE_OUTPUT_DIR
    settings.SITE_OUTPUT_DIR = blocker  # writing under a file fails: a real OSError
    (content_id,) = approved(site, 1)
    content_schedule(site=site, now=NOW)
    at = Content.objects.get(pk=content_id).scheduled_publish_at
    assert at is not None
    for attempt in range(1, MAX_PUBLISH_ATTEMPTS):
        assert content_publish(content_id=content_id, now=at) == "retry"
        content = Content.objects.get(pk=content_id)
        assert content.site_status == "scheduled" and content.publish_attempts == attempt
        assert content.next_publish_attempt_at == at + backoff(attempt)
        assert "Could not write the static site" in content.publish_error
        # not due again before the backoff ends
        assert content_publish(content_id=content_id, now=at + backoff(attempt) / 2) == "skipped"
        at = at + backoff(attempt)
    assert [backoff(n) for n in (1, 2, 3, 4)] == [dt.timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert content_publish(content_id=content_id, now=at) == "failed"
    content = Content.objects.get(pk=content_id)
    assert content.site_status == "failed"
    assert f"Gave up after {MAX_PUBLISH_ATTEMPTS} attempt(s)" in content.publish_error
    queue = selectors.publishing_queue(site)
    assert queue["unscheduled"] == [
        {"content_id": content_id, "reason": f"Publishing failed: {content.publish_error}"}
    ]
    assert tick(at + dt.timedelta(hours=1)) == 0  # failed items wait for a person

    settings.SITE_OUTPUT_DIR = good_dir
    content_publish_retry(content=content)
    assert tick(at + dt.timedelta(hours=1)) == 1
    content.refresh_from_db()
    assert content.site_status == "published" and content.publish_error == ""


def test_a_claimed_item_is_not_published_twice_and_a_dead_claim_is_taken_over(site: Site) -> None:
    a, b = approved(site, 2)
    content_schedule(site=site, now=NOW)
    at = dt.datetime(2026, 6, 1, 20, 0, tzinfo=UTC)
    assert content_publish(content_id=a, now=at) == "published"
    mtime = posts(site)[0].stat().st_mtime_ns
    assert content_publish(content_id=a, now=at) == "skipped"
    assert posts(site)[0].stat().st_mtime_ns == mtime

    # A worker claimed b and died: the claim expires, then another worker publishes it.
    Content.objects.filter(pk=b).update(
        site_status="publishing", next_publish_attempt_at=at + dt.timedelta(minutes=5)
    )
    assert content_publish(content_id=b, now=at) == "skipped"
    assert content_publish(content_id=b, now=at + dt.timedelta(minutes=5)) == "published"
    assert len(posts(site)) == 2


def test_auto_publish_off_holds_scheduled_items(site: Site) -> None:
    approved(site, 1)
    content_schedule(site=site, now=NOW)
    publishing(site, auto_publish_enabled=False)
    assert tick(NOW + dt.timedelta(days=1)) == 0
    publishing(site, auto_publish_enabled=True)
    assert tick(NOW + dt.timedelta(days=1)) == 1


def test_cli_publish_lists_what_is_due_with_dry_run_then_publishes(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = approved(site, 3)
    content_schedule(site=site, now=NOW)  # 09:00, 14:00, 18:00
    with time_machine.travel(dt.datetime(2026, 6, 1, 15, 0, tzinfo=UTC), tick=False):
        assert cli.main(["publish", "--dry-run", "--json"]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert listed["due"] == 2
        assert [i["id"] for i in listed["items"]] == ids[:2]
        assert {i["outcome"] for i in listed["items"]} == {"due"}
        assert posts(site) == []
        assert cli.main(["publish", site.name]) == 0
        out = capsys.readouterr().out
    assert "2 due, 2 published" in out
    assert len(posts(site)) == 2


def test_escaped_markup_stays_text_in_the_markdown() -> None:
    from inkline.publishing.publishers.static import to_markdown

    markdown = to_markdown("<p>Use &lt;script&gt;alert(1)&lt;/script&gt; <em>with</em> care</p>")
    assert "<script>" not in markdown
    assert "\\<script\\>" in markdown and "*with*" in markdown
