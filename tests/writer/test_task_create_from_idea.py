"""Stage 3's write, `task_create_from_idea`, on the database without the engine: a task per
new idea, no second task on a primary keyword, and nothing kept once the idea is taken."""

from __future__ import annotations

import pytest
from django.db import transaction

from inkline.accounts.models import Site
from inkline.core.errors import ItemGone
from inkline.planner.models import Cluster, ContentIdea
from inkline.writer.models import WritingTask
from inkline.writer.services import task_create_from_idea

pytestmark = pytest.mark.django_db


def new_idea(site: Site, keyword: str, title: str = "") -> ContentIdea:
    cluster, _ = Cluster.objects.get_or_create(site=site, name="Brewing")
    return ContentIdea.objects.create(
        site=site, cluster=cluster, title=title or f"About {keyword}", primary_keyword=keyword
    )


def test_a_new_idea_becomes_a_queued_task(site: Site) -> None:
    idea = new_idea(site, "cold brew ratio", "Cold brew ratios")

    queued = task_create_from_idea(site_id=site.pk, idea=idea)

    task = queued.task
    assert task is not None and queued.skipped == ""
    task.refresh_from_db()
    assert (task.idea_id, task.cluster_id, task.site_id) == (idea.pk, idea.cluster_id, site.pk)
    assert (task.title, task.primary_keyword) == ("Cold brew ratios", "cold brew ratio")
    assert task.status == WritingTask.Status.QUEUED
    assert task.normalized_keyword == "cold brew ratio"
    idea.refresh_from_db()
    assert idea.status == ContentIdea.Status.QUEUED


def test_an_idea_repeating_a_tasks_keyword_gets_no_task_and_the_reason(site: Site) -> None:
    first = new_idea(site, "Cold Brew", "Cold brew at home")
    task_create_from_idea(site_id=site.pk, idea=first)
    second = new_idea(site, "cold  brew", "Cold brew, again")

    queued = task_create_from_idea(site_id=site.pk, idea=second)

    assert queued.task is None
    assert queued.skipped == (
        "Idea 'Cold brew, again' not queued: task 'Cold brew at home' already targets the "
        "primary keyword 'cold  brew'."
    )
    second.refresh_from_db()
    assert second.status == ContentIdea.Status.QUEUED  # out of stage 3's pending set
    assert second.last_error == queued.skipped
    assert WritingTask.objects.filter(site=site).count() == 1


@pytest.mark.parametrize("duplicate", [False, True])
def test_an_idea_no_longer_new_is_gone_and_nothing_is_kept(site: Site, duplicate: bool) -> None:
    if duplicate:
        task_create_from_idea(site_id=site.pk, idea=new_idea(site, "v60", "First"))
    idea = new_idea(site, "v60" if duplicate else "chemex", "Second")
    ContentIdea.objects.filter(pk=idea.pk).update(status=ContentIdea.Status.QUEUED)
    tasks = WritingTask.objects.count()

    with pytest.raises(ItemGone), transaction.atomic():
        task_create_from_idea(site_id=site.pk, idea=idea)

    assert WritingTask.objects.count() == tasks
    idea.refresh_from_db()
    assert idea.last_error == ""


@pytest.mark.parametrize("keyword", ["", "<img src=x onerror=alert(1)>", "&nbsp; —"])
def test_an_idea_without_a_keyword_gets_no_task(site: Site, keyword: str) -> None:
    idea = new_idea(site, keyword, "Nothing")

    queued = task_create_from_idea(site_id=site.pk, idea=idea)

    assert queued.task is None and queued.code == "task_empty_keyword_skipped"
    assert "no letters or digits" in queued.skipped
    idea.refresh_from_db()
    assert idea.status == ContentIdea.Status.QUEUED and idea.last_error == queued.skipped
    assert not WritingTask.objects.filter(site=site).exists()
