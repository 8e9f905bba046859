"""The SEO approval gate of stage 7, SEO scores stored along the pipeline, and no keyword
cannibalization between ideas, tasks and imports."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from inkline.accounts.models import Site
from inkline.ai.local import LocalProvider
from inkline.ai.types import ArticleIn, ArticleResult
from inkline.automation.models import RunEvent
from inkline.automation.selectors import pipeline_pending
from inkline.planner.models import Cluster, ContentIdea, Keyword
from inkline.planner.services import keywords_import_csv
from inkline.publishing.models import PublishingSettings
from inkline.writer.models import Content, SeoSettings, WritingTask
from inkline.writer.quality import seo_settings_update, seo_threshold
from tests.factories import add_keywords, add_tasks, only_stages, run_now

pytestmark = pytest.mark.django_db


class SloppyWriter(LocalProvider):
    """The local provider, except that articles on keywords containing "sloppy" get a title
    without their keyword and a one-line meta description (score 100 - 15 - 10 = 75 minus
    whatever else breaks), and those containing "awful" also lose their H2 headings."""

    def write_content(self, brief: ArticleIn) -> ArticleResult:
        result = super().write_content(brief)
        article = result.article
        if "sloppy" in brief.primary_keyword or "awful" in brief.primary_keyword:
            article = dataclasses.replace(
                article, title="Read This Before Anything Else", meta_description="Short."
            )
        if "awful" in brief.primary_keyword:
            article = dataclasses.replace(
                article, html=article.html.replace("<h2>", "<p>").replace("</h2>", "</p>")
            )
        return dataclasses.replace(result, article=article)


def tasks_with_keywords(site: Site, keywords: list[str]) -> list[WritingTask]:
    tasks = add_tasks(site, len(keywords))
    for task, keyword in zip(tasks, keywords, strict=True):
        ContentIdea.objects.filter(pk=task.idea_id).update(primary_keyword=keyword)
        task.primary_keyword = keyword
        task.save()
    return tasks


def test_stage_7_approves_only_articles_meeting_the_threshold_and_holds_the_rest(
    site: Site,
) -> None:
    tasks_with_keywords(
        site, ["cold brew ratio", "french press", "awful moka pot", "sloppy kettle", "v60"]
    )
    only_stages(site, 4, 5, 6, 7)
    SeoSettings.objects.create(site=site, approval_threshold=80)

    run = run_now(site, SloppyWriter())

    assert run.status == "completed", run.error_message
    contents = {c.primary_keyword: c for c in Content.objects.filter(site=site)}
    assert all(c.seo_score is not None and c.seo_report for c in contents.values())
    held = {k for k, c in contents.items() if c.status == "review"}
    approved = {k for k, c in contents.items() if c.status == "approved"}
    assert held == {"awful moka pot", "sloppy kettle"}
    assert approved == {"cold brew ratio", "french press", "v60"}
    for keyword in held:
        content = contents[keyword]
        assert content.seo_score is not None and content.seo_score < 80
        assert content.held_reason.startswith(f"SEO score {content.seo_score} is below 80.")
        failed = {r["check"] for r in content.seo_report if not r["passed"]}
        assert {"keyword_in_title", "meta_description_length"} <= failed
    assert all(contents[k].seo_score == 100 and not contents[k].held_reason for k in approved)
    assert "keyword_in_h2" in {
        r["check"] for r in contents["awful moka pot"].seo_report if not r["passed"]
    }

    result = run.stage_results["7"]
    assert (result["processed"], result["created"], result["held"]) == (5, 3, 2)
    assert "3 approved, 2 held: SEO score below 80." in run.stopped_reason
    events = RunEvent.objects.filter(run=run)
    assert events.filter(code="held_for_review").count() == 2
    assert events.filter(code="approval_gate", message__contains="2 held").count() == 1
    assert "held for review: SEO score" in events.filter(code="held_for_review")[0].message

    # Held articles wait for a user, not for the next run: nothing pending, nothing re-counted.
    assert pipeline_pending(site.pk)[7] == 0
    again = run_now(site, SloppyWriter())
    assert again.stage_results["7"]["processed"] == 0
    assert "held" not in again.stage_results["7"]
    assert Content.objects.filter(site=site, status="review").count() == 2


def test_a_new_threshold_sends_held_articles_back_to_the_gate(site: Site) -> None:
    tasks_with_keywords(site, ["sloppy kettle", "cold brew ratio"])
    only_stages(site, 4, 5, 6, 7)
    SeoSettings.objects.create(site=site, approval_threshold=90)
    first = run_now(site, SloppyWriter())
    assert first.stage_results["7"]["held"] == 1
    score = Content.objects.get(primary_keyword="sloppy kettle").seo_score
    assert score is not None and score < 90

    seo_settings_update(site=site, approval_threshold=score)
    assert seo_threshold(site_id=site.pk) == score
    assert pipeline_pending(site.pk)[7] == 1
    second = run_now(site, SloppyWriter())
    assert second.stage_results["7"]["created"] == 1
    assert Content.objects.get(primary_keyword="sloppy kettle").status == "approved"


def test_the_threshold_defaults_to_70_and_is_validated(site: Site) -> None:
    from inkline.core.errors import ValidationFailed

    assert seo_threshold(site_id=site.pk) == SeoSettings.DEFAULT_THRESHOLD == 70
    with pytest.raises(ValidationFailed):
        seo_settings_update(site=site, approval_threshold=101)
    with pytest.raises(IntegrityError), transaction.atomic():
        SeoSettings.objects.create(site=site, approval_threshold=101)


def test_auto_approval_off_keeps_everything_for_manual_review_without_holding(
    site: Site,
) -> None:
    tasks_with_keywords(site, ["sloppy kettle", "cold brew ratio"])
    only_stages(site, 4, 5, 6, 7)
    PublishingSettings.objects.update_or_create(
        site=site, defaults={"auto_approval_enabled": False}
    )
    run = run_now(site, SloppyWriter())
    assert run.stage_results["7"]["status"] == "manual_review"
    assert Content.objects.filter(site=site, status="review").count() == 2
    assert not Content.objects.filter(site=site).exclude(held_reason="").exists()
    # the score still reflects the images added at stage 5
    content = Content.objects.get(primary_keyword="cold brew ratio")
    alt = next(r for r in content.seo_report if r["check"] == "image_alt_text")
    assert alt["passed"] and alt["message"].startswith(f"All {content.images.count()} images")


def test_stage_4_stores_the_score_when_the_article_is_written(site: Site) -> None:
    tasks_with_keywords(site, ["sloppy kettle"])
    only_stages(site, 4)
    run_now(site, SloppyWriter())
    content = Content.objects.get(site=site)
    assert content.seo_score == 100 - 15 - 10
    assert [r["check"] for r in content.seo_report if not r["passed"]] == [
        "keyword_in_title",
        "meta_description_length",
    ]


# --- no cannibalization -----------------------------------------------------------------------
def test_stage_2_skips_an_idea_whose_primary_keyword_is_taken_with_an_event(site: Site) -> None:
    other = Cluster.objects.create(site=site, name="Other", status=Cluster.Status.IDEAS)
    ContentIdea.objects.create(
        site=site, cluster=other, title="Ratios", primary_keyword="Cold Brew  RATIO"
    )
    cluster = Cluster.objects.create(site=site, name="Cold Brew Ratio")
    Keyword.objects.create(
        site=site, phrase="cold brew ratio", status="clustered", cluster=cluster, volume=10
    )
    only_stages(site, 2)
    run = run_now(site, LocalProvider())
    assert run.status == "completed"
    assert ContentIdea.objects.filter(site=site, cluster=cluster).count() == 0
    event = RunEvent.objects.get(run=run, code="idea_skipped")
    assert "already targets the primary keyword 'cold brew ratio'" in event.message


def test_two_tasks_of_a_site_never_share_a_primary_keyword(site: Site) -> None:
    cluster = Cluster.objects.create(site=site, name="Coffee", status=Cluster.Status.IDEAS)
    first, second = (
        ContentIdea.objects.create(site=site, cluster=cluster, title=title, primary_keyword=keyword)
        for title, keyword in (("One", "french press"), ("Two", "French  Press"))
    )
    only_stages(site, 3)
    run = run_now(site, LocalProvider())
    assert WritingTask.objects.filter(site=site).count() == 1
    assert WritingTask.objects.get(site=site).idea_id == first.pk
    second.refresh_from_db()
    assert second.status == "queued" and "already targets" in second.last_error
    assert RunEvent.objects.filter(run=run, code="task_duplicate_skipped").count() == 1
    assert pipeline_pending(site.pk)[3] == 0

    # and the database refuses a duplicate whatever the code path
    third = ContentIdea.objects.create(
        site=site, cluster=cluster, title="Three", primary_keyword="FRENCH PRESS"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        WritingTask.objects.create(
            site=site, idea=third, title="Three", primary_keyword="french press"
        )


def test_keyword_import_warns_about_keywords_of_published_content(site: Site) -> None:
    Content.objects.create(
        site=site,
        title="The Cold Brew Ratio",
        slug="ratio",
        primary_keyword="cold brew ratio",
        status=Content.Status.PUBLISHED,
    )
    Content.objects.create(
        site=site, title="Draft", slug="draft", primary_keyword="french press", status="review"
    )
    data = b"keyword\nCold Brew  Ratio\nfrench press\nmoka pot\n"
    report = keywords_import_csv(site=site, data=data).as_dict()
    assert report["created"] == 3
    assert report["warnings"] == [
        {
            "line": 2,
            "keyword": "Cold Brew Ratio",
            "warning": "already the primary keyword of published content ('The Cold Brew "
            "Ratio'); a new article would compete with it",
        }
    ]
    assert keywords_import_csv(site=site, data=b"keyword\nv60\n").as_dict()["warnings"] == []


def test_stage_1_records_silhouette_and_singleton_share(site: Site) -> None:
    add_keywords(site)
    only_stages(site, 1)
    run = run_now(site, LocalProvider())
    result = run.stage_results["1"]
    assert -1.0 <= result["silhouette"] <= 1.0
    assert 0.0 <= result["singleton_share"] <= 1.0
    assert result["quality_keywords"] == {"silhouette": 24, "singleton_share": 24}
    singles = sum(1 for c in Cluster.objects.filter(site=site) if c.keywords.count() == 1)
    assert result["singleton_share"] == round(singles / 24, 4)


def test_the_admin_changes_the_threshold_through_the_service(site: Site, admin_client: Any) -> None:
    tasks_with_keywords(site, ["sloppy kettle"])
    only_stages(site, 4, 5, 6, 7)
    SeoSettings.objects.create(site=site, approval_threshold=90)
    run_now(site, SloppyWriter())
    assert Content.objects.get(site=site).held_reason
    row = SeoSettings.objects.get(site=site)
    url = f"/admin/writer/seosettings/{row.pk}/change/"
    form = {"site": site.pk, "approval_threshold": 101, "min_words": 0}
    assert admin_client.post(url, form).status_code == 200
    assert SeoSettings.objects.get(site=site).approval_threshold == 90  # refused: over 100
    form.update(approval_threshold=50, min_words=10_001)
    assert admin_client.post(url, form).status_code == 200
    assert SeoSettings.objects.get(site=site).min_words == 0  # refused: over 10000
    response = admin_client.post(url, {**form, "min_words": 1000})
    assert response.status_code == 302
    row = SeoSettings.objects.get(site=site)
    assert (row.approval_threshold, row.min_words) == (50, 1000)
    assert Content.objects.get(site=site).held_reason == ""  # back in stage 7's pending set
    assert pipeline_pending(site.pk)[7] == 1
