"""Stage 4's write, `content_create_from_draft`, on the database without the engine: the
article stored in review, sanitized, with a unique slug and its SEO score; nothing kept once
the task is written."""

from __future__ import annotations

import pytest
from django.db import transaction

from inkline.accounts.models import Account, Site
from inkline.automation.sites import site_create
from inkline.core.errors import ItemGone
from inkline.writer.models import Content, WritingTask
from inkline.writer.services import ArticleDraft, content_create_from_draft
from tests.factories import add_tasks

pytestmark = pytest.mark.django_db

PROVENANCE = {"provider": "test", "model": "m", "prompt_version": "1"}
BODY = "<h2>Coffee topic 0 basics</h2><p>All about coffee topic 0, in plain words.</p>"


def article(**fields: str) -> ArticleDraft:
    values = {
        "title": "Coffee topic 0: a guide",
        "html": BODY,
        "meta_description": "Everything about coffee topic 0.",
        "slug": "coffee-topic-0",
    }
    values.update(fields)
    return ArticleDraft(**values)


def test_the_article_is_stored_in_review_and_the_task_is_written(site: Site) -> None:
    (task,) = add_tasks(site, 1)
    WritingTask.objects.filter(pk=task.pk).update(attempts=1, last_error="timeout")

    content = content_create_from_draft(
        site_id=site.pk, task=task, draft=article(), provenance=PROVENANCE
    )

    content.refresh_from_db()
    assert content.status == Content.Status.REVIEW
    assert (content.task_id, content.cluster_id) == (task.pk, task.cluster_id)
    assert content.title == "Coffee topic 0: a guide"
    assert content.html == BODY
    assert content.slug == "coffee-topic-0"
    assert content.primary_keyword == task.primary_keyword
    assert content.word_count == 12
    assert content.provenance == PROVENANCE
    assert content.seo_score is not None and content.seo_report
    assert not content.prompts_extracted  # waits for stage 5
    task.refresh_from_db()
    assert task.status == WritingTask.Status.DONE and task.last_error == ""


def test_html_and_text_are_sanitized(site: Site) -> None:
    (task,) = add_tasks(site, 1)

    content = content_create_from_draft(
        site_id=site.pk,
        task=task,
        draft=article(
            title="<script>alert(1)</script><b>Safe</b> title",
            html='<p onclick="x()">Hi</p><script>steal()</script><a href="javascript:x">y</a>',
            meta_description="<img src=x onerror=alert(1)>Meta " + "m" * 400,
        ),
        provenance=PROVENANCE,
    )

    assert content.title == "Safe title"
    assert "script" not in content.html and "onclick" not in content.html
    assert "javascript:" not in content.html
    assert content.meta_description.startswith("Meta ") and len(content.meta_description) == 320


def test_an_empty_title_falls_back_to_the_tasks_and_slugs_stay_unique(
    site: Site, account: Account
) -> None:
    tasks = add_tasks(site, 3)
    other = site_create(account=account, name="other")
    (theirs,) = add_tasks(other, 1)
    content_create_from_draft(site_id=other.pk, task=theirs, draft=article(), provenance={})

    slugs = [
        content_create_from_draft(
            site_id=site.pk, task=task, draft=article(title=title, slug=slug), provenance={}
        ).slug
        for task, title, slug in zip(
            tasks, ["Guide", "Guide", "<b></b>"], ["", "guide", ""], strict=True
        )
    ]

    assert slugs == ["guide", "guide-2", "coffee-guide-2"]
    assert Content.objects.get(task=tasks[2]).title == tasks[2].title == "Coffee guide 2"


@pytest.mark.parametrize("change", ["written", "other site"])
def test_a_task_no_longer_queued_is_gone_and_nothing_is_kept(
    site: Site, account: Account, change: str
) -> None:
    (task,) = add_tasks(site, 1)
    site_id = site.pk
    if change == "written":
        WritingTask.objects.filter(pk=task.pk).update(status=WritingTask.Status.DONE)
    else:
        site_id = site_create(account=account, name="other").pk

    with pytest.raises(ItemGone), transaction.atomic():
        content_create_from_draft(site_id=site_id, task=task, draft=article(), provenance={})

    assert not Content.objects.exists()
