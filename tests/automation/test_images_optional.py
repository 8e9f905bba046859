"""Images are optional (issue 16, item 7): with stage 6 off, or an AI endpoint whose last check
found it cannot make images, stage 7 judges articles on their text alone and says "no images";
every article reaching it is approved (and scheduled, or given the reason why not) or held with
a reason — never left waiting silently. Stage 6 takes only images of articles still in review.
Stage 4 asks for the site's minimum words per article (item 8)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from inkline.accounts.models import Site
from inkline.ai.local import LocalProvider
from inkline.ai.types import AICheck, ArticleIn, ArticleResult
from inkline.automation.models import AutomationRun, RunEvent
from inkline.automation.selectors import pipeline_pending
from inkline.automation.services import ai_check_record
from inkline.automation.sites import site_create
from inkline.automation.stages import STAGE_CLASSES
from inkline.automation.stages.approval import NO_IMAGE_ENDPOINT, STAGE_6_OFF
from inkline.planner.models import ContentIdea
from inkline.writer.models import Content, Image, SeoSettings, WritingTask
from tests.factories import add_tasks, configure, only_stages, run_now

pytestmark = pytest.mark.django_db


class SloppyWriter(LocalProvider):
    """The local provider, except that an article on a keyword containing "sloppy" gets a
    title without its keyword and a one-line meta description: held below a threshold of 80."""

    def write_content(self, brief: ArticleIn) -> ArticleResult:
        result = super().write_content(brief)
        if "sloppy" not in brief.primary_keyword:
            return result
        article = dataclasses.replace(
            result.article, title="Read This Before Anything Else", meta_description="Short."
        )
        return dataclasses.replace(result, article=article)


class NoImageEndpoint(SloppyWriter):
    """An endpoint that writes text but has no image model, as its connection check says."""

    def check(self) -> AICheck:
        return dataclasses.replace(super().check(), images=False)


KEYWORDS = ["cold brew ratio", "sloppy kettle", "french press", "sloppy grinder", "v60 recipe"]


def tasks_with_keywords(site: Site, keywords: list[str]) -> list[WritingTask]:
    tasks = add_tasks(site, len(keywords))
    for task, keyword in zip(tasks, keywords, strict=True):
        ContentIdea.objects.filter(pk=task.idea_id).update(primary_keyword=keyword)
        task.primary_keyword = keyword
        task.save()
    return tasks


def assert_every_article_decided_with_a_reason(
    site: Site, run: AutomationRun, *, why: str
) -> tuple[list[Content], list[Content]]:
    """Every article reached stage 7 and is approved — scheduled or with the reason it is
    not — or held in review with a reason saying it was judged without images."""
    assert run.status == "completed", run.stopped_reason
    contents = list(Content.objects.filter(site=site).order_by("id"))
    assert len(contents) == len(KEYWORDS)
    approved = [c for c in contents if c.status == Content.Status.APPROVED]
    held = [c for c in contents if c.status == Content.Status.REVIEW]
    assert len(approved) + len(held) == len(contents)
    assert {c.primary_keyword for c in held} == {k for k in KEYWORDS if "sloppy" in k}
    for content in approved:
        assert content.site_status == "scheduled" or content.unscheduled_reason, content
        assert not content.held_reason
    for content in held:
        assert content.held_reason.startswith(f"SEO score {content.seo_score} is below 80.")
        assert content.held_reason.endswith(f"Judged on its text alone (no images: {why}).")

    result = run.stage_results["7"]
    assert (result["processed"], result["created"], result.get("held", 0)) == (
        len(contents),
        len(approved),
        len(held),
    )
    events = RunEvent.objects.filter(run=run, stage=7)
    said = list(events.filter(code="approved_text_only").values_list("message", flat=True))
    assert sorted(said) == sorted(
        f"'{c.title}' approved on its text alone: no images ({why})." for c in approved
    )
    held_events = events.filter(code="held_for_review", message__contains=f"no images: {why}")
    assert held_events.count() == len(held)
    assert pipeline_pending(site.pk)[7] == 0  # nothing left waiting at the gate
    return approved, held


@pytest.mark.parametrize("stages", [(4, 5, 7), (4, 7)], ids=["prompts-on", "prompts-off"])
def test_stage_6_off_every_article_is_approved_or_held_with_a_reason(
    site: Site, stages: tuple[int, ...]
) -> None:
    tasks_with_keywords(site, KEYWORDS)
    only_stages(site, *stages)
    SeoSettings.objects.create(site=site, approval_threshold=80)

    run = run_now(site, SloppyWriter())

    approved, held = assert_every_article_decided_with_a_reason(site, run, why=STAGE_6_OFF)
    if 5 in stages:  # prompts were extracted: their image rows stay without files
        assert Image.objects.filter(site=site, status="pending").count() > 0
    assert not Image.objects.filter(site=site, status="done").exists()
    # The held articles' images are still stage 6's (they may yet be approved with them);
    # the approved articles' are not: turning stage 6 on makes no images for them.
    assert pipeline_pending(site.pk)[6] == Image.objects.filter(content__in=held).count()
    only_stages(site, 6)
    later = run_now(site, SloppyWriter())
    assert later.status == "completed"
    assert later.stage_results["6"]["processed"] == Image.objects.filter(content__in=held).count()
    assert not Image.objects.filter(content__in=approved, status="done").exists()
    assert pipeline_pending(site.pk)[6] == 0


def test_an_endpoint_without_images_judges_articles_on_text_alone(site: Site) -> None:
    """Stage 6 is on, but the site's last AI check says the endpoint has no image model. Works
    whether the engine skips stage 6 for it or lets it take its one image per run."""
    provider = NoImageEndpoint()
    tasks_with_keywords(site, KEYWORDS)
    only_stages(site, 4, 5, 6, 7, max_images_per_run=1)
    SeoSettings.objects.create(site=site, approval_threshold=80)
    ai_check_record(site_id=site.pk, check=provider.check())

    run = run_now(site, provider)

    assert_every_article_decided_with_a_reason(site, run, why=NO_IMAGE_ENDPOINT)
    assert run.stage_results["6"].get("processed", 0) <= 1


def test_with_images_on_nothing_changes(site: Site) -> None:
    """The default: stage 7 waits for every image, judges with them, and says nothing of
    "no images"."""
    tasks_with_keywords(site, KEYWORDS)
    only_stages(site, 4, 5, 6, 7)
    ai_check_record(site_id=site.pk, check=LocalProvider().check())

    run = run_now(site, LocalProvider())

    assert run.status == "completed", run.stopped_reason
    assert Content.objects.filter(site=site, status="approved").count() == len(KEYWORDS)
    assert not Image.objects.filter(site=site, status="pending").exists()
    assert not RunEvent.objects.filter(run=run, code="approved_text_only").exists()


# --- pending counts ---------------------------------------------------------------------------
def _article(site: Site, name: str, *, images: tuple[str, ...] = (), **fields: Any) -> Content:
    fields.setdefault("prompts_extracted", True)
    content = Content.objects.create(site=site, title=name, slug=name, **fields)
    for position, status in enumerate(images):
        attempts = 3 if status == "failed" else 0
        Image.objects.create(
            content=content,
            site=site,
            kind="featured" if position == 0 else "in_article",
            position=position,
            prompt=f"{name} {position}",
            status="done" if status == "done" else "pending",
            attempts=attempts,
        )
    return content


def _mixed_site(site: Site) -> None:
    _article(site, "ready", images=("done", "done"))
    _article(site, "waiting-for-an-image", images=("done", "pending"))
    _article(site, "no-prompts-yet", prompts_extracted=False)
    _article(site, "held", images=("pending",), held_reason="SEO score 5 is below 70.")
    _article(site, "image-failed", images=("failed",))
    _article(site, "approved", images=("pending",), status="approved")
    _article(site, "rejected", images=("pending",), status="rejected")
    _article(site, "published", images=("pending", "pending"), status="published")
    _article(site, "draft", images=("pending",), status="draft")


SETTINGS = {
    "images on": ({}, ""),
    "stage 6 off": ({"stage_6_enabled": False}, STAGE_6_OFF),
    "no image model": ({"ai_check": {"images": False, "ok": True}}, NO_IMAGE_ENDPOINT),
    "both": ({"stage_6_enabled": False, "ai_check": {"images": False}}, STAGE_6_OFF),
    "image model": ({"ai_check": {"images": True}}, ""),
    "check says nothing of images": ({"ai_check": {"ok": True}}, ""),
}


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_pending_counts_equal_the_database(
    site: Site, account: Any, setting: str, django_assert_num_queries: Any
) -> None:
    fields, why = SETTINGS[setting]
    configure(site, **fields)
    _mixed_site(site)
    # Another site of the account with images off changes nothing here.
    other = site_create(account=account, name="other")
    configure(other, stage_6_enabled=False, ai_check={"images": False})
    _mixed_site(other)

    contents = list(Content.objects.filter(site=site).prefetch_related("images"))
    images_off = bool(why)
    gate = {
        c.pk
        for c in contents
        if c.status == "review"
        and not c.held_reason
        and (
            images_off or (c.prompts_extracted and all(i.status == "done" for i in c.images.all()))
        )
    }
    image_rows = {
        i.pk
        for c in contents
        for i in c.images.all()
        if i.status == "pending" and c.status == "review" and i.attempts < 3
    }

    with django_assert_num_queries(1):  # all seven stages in one statement
        pending = pipeline_pending(site.pk)

    assert pending[7] == len(gate)
    assert pending[6] == len(image_rows)
    judged = list(STAGE_CLASSES[7].pending(site.pk))
    assert {c.pk for c in judged} == gate
    assert {i.pk for i in STAGE_CLASSES[6].pending(site.pk)} == image_rows
    assert {STAGE_CLASSES[7].build(c).payload for c in judged} == {why}
    expected = {"images on": 1, "image model": 1, "check says nothing of images": 1}
    assert len(gate) == expected.get(setting, 4)  # off: ready, waiting, no prompts, failed


def test_stage_6_never_stores_an_image_for_an_article_decided_meanwhile(site: Site) -> None:
    from inkline.core.errors import ItemGone
    from inkline.writer.services import ImageFile, image_file_store

    content = _article(site, "decided", images=("pending",))
    (image,) = content.images.all()
    Content.objects.filter(pk=content.pk).update(status="approved")
    with pytest.raises(ItemGone):
        image_file_store(
            site_id=site.pk,
            image_id=image.pk,
            file=ImageFile(data=b"png", extension="png"),
            provenance={},
        )
    image.refresh_from_db()
    assert image.status == "pending" and not image.file


# --- the site's minimum words per article (stage 4) -------------------------------------------
class RecordingWriter(LocalProvider):
    def __init__(self) -> None:
        super().__init__()
        self.briefs: list[ArticleIn] = []

    def write_content(self, brief: ArticleIn) -> ArticleResult:
        self.briefs.append(brief)
        return super().write_content(brief)


@pytest.mark.parametrize("min_words", [None, 0, 1500])
def test_stage_4_asks_for_the_sites_minimum_words(site: Site, min_words: int | None) -> None:
    if min_words is not None:
        SeoSettings.objects.create(site=site, min_words=min_words)
    add_tasks(site, 3)
    only_stages(site, 4)
    provider = RecordingWriter()

    run = run_now(site, provider)

    assert run.status == "completed", run.stopped_reason
    assert [b.min_words for b in provider.briefs] == [min_words or 0] * 3
    words = list(Content.objects.filter(site=site).values_list("word_count", flat=True))
    assert len(words) == 3 and min(words) >= max(800, min_words or 0)
