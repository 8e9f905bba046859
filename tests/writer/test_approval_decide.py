"""Stage 7's write, `content_approval_decide`, on the database without the engine: approved
at or above the site's SEO threshold, held with the reason below it, gone when no longer in
review or already held."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import transaction

from inkline.accounts.models import Account, Site
from inkline.automation.sites import site_create
from inkline.core.errors import ItemGone
from inkline.writer.models import Content, Image, SeoSettings
from inkline.writer.services import ArticleDraft, content_approval_decide, content_create_from_draft
from tests.factories import add_tasks

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 3, 4, 5, 6, tzinfo=dt.UTC)


def in_review(site: Site, *, title: str = "Coffee topic 0 guide") -> Content:
    (task,) = add_tasks(site, 1)
    draft = ArticleDraft(
        title=title,
        html="<h2>Coffee topic 0</h2><p>Plain words about coffee topic 0.</p>",
        meta_description="Short.",
        slug="",
    )
    content = content_create_from_draft(site_id=site.pk, task=task, draft=draft, provenance={})
    Content.objects.filter(pk=content.pk).update(prompts_extracted=True, seo_score=None)
    return content


def test_an_article_meeting_the_threshold_is_approved_with_its_fresh_score(site: Site) -> None:
    content = in_review(site)
    SeoSettings.objects.create(site=site, approval_threshold=0)

    with time_machine.travel(NOW, tick=False):
        decision = content_approval_decide(site_id=site.pk, content_id=content.pk)

    assert decision.approved and decision.held_reason == ""
    assert decision.title == "Coffee topic 0 guide"
    content.refresh_from_db()
    assert content.status == Content.Status.APPROVED
    assert content.approved_at == NOW
    assert content.seo_score is not None and content.seo_report
    assert content.held_reason == ""


def test_an_article_below_the_threshold_is_held_in_review_with_the_reason(site: Site) -> None:
    content = in_review(site, title="Read this first")
    SeoSettings.objects.create(site=site, approval_threshold=100)
    Image.objects.create(content=content, site=site, kind="featured", prompt="p", alt_text="")

    decision = content_approval_decide(site_id=site.pk, content_id=content.pk)

    assert not decision.approved
    content.refresh_from_db()
    assert content.status == Content.Status.REVIEW and content.approved_at is None
    assert content.seo_score is not None and content.seo_score < 100
    assert content.held_reason == decision.held_reason
    assert decision.held_reason.startswith(f"SEO score {content.seo_score} is below 100.")
    assert "1 of 1 images have no alt text." in decision.held_reason  # images count


@pytest.mark.parametrize("change", ["held", "approved", "rejected", "deleted", "other site"])
def test_an_article_no_longer_undecided_is_gone(site: Site, account: Account, change: str) -> None:
    content = in_review(site)
    site_id = site.pk
    rows = Content.objects.filter(pk=content.pk)
    match change:
        case "held":
            rows.update(held_reason="SEO score 10 is below 70.")
        case "approved" | "rejected":
            rows.update(status=change)
        case "deleted":
            rows.delete()
        case _:
            site_id = site_create(account=account, name="other").pk
    before = list(rows.values_list("status", "held_reason", "seo_score"))

    with pytest.raises(ItemGone), transaction.atomic():
        content_approval_decide(site_id=site_id, content_id=content.pk)

    assert list(rows.values_list("status", "held_reason", "seo_score")) == before


def test_judged_on_text_alone_only_images_with_a_file_count(site: Site) -> None:
    """Images off: rows still waiting for their file will not be published, so their missing
    alt texts cost nothing; the held reason says the article was judged without images."""
    content = in_review(site, title="Read this first")
    SeoSettings.objects.create(site=site, approval_threshold=100)
    Image.objects.create(content=content, site=site, kind="featured", prompt="p", alt_text="")

    decision = content_approval_decide(
        site_id=site.pk, content_id=content.pk, no_images="stage 6 is off"
    )

    assert not decision.approved  # the title lacks the keyword: still below 100
    content.refresh_from_db()
    checks = {r["check"]: r for r in content.seo_report}
    assert checks["image_alt_text"]["passed"]
    assert checks["image_alt_text"]["message"] == "The article has no images."
    assert "alt text" not in decision.held_reason
    assert decision.held_reason.startswith(f"SEO score {content.seo_score} is below 100.")
    assert decision.held_reason.endswith("Judged on its text alone (no images: stage 6 is off).")
    assert content.held_reason == decision.held_reason


def test_judged_on_text_alone_a_done_image_still_needs_its_alt_text(site: Site) -> None:
    content = in_review(site)
    SeoSettings.objects.create(site=site, approval_threshold=0)
    Image.objects.create(
        content=content, site=site, kind="featured", prompt="p", alt_text="", status="done"
    )
    Image.objects.create(
        content=content, site=site, kind="in_article", position=1, prompt="p", alt_text=""
    )

    content_approval_decide(site_id=site.pk, content_id=content.pk, no_images="no model")

    content.refresh_from_db()
    checks = {r["check"]: r for r in content.seo_report}
    assert not checks["image_alt_text"]["passed"]
    assert checks["image_alt_text"]["message"] == "1 of 1 images have no alt text."


def test_a_long_held_reason_keeps_the_no_images_note(site: Site) -> None:
    content = in_review(site, title="x" * 255)
    Content.objects.filter(pk=content.pk).update(
        primary_keyword="keyword " * 31,  # named by three failed checks
        html="".join(f"<h2>Empty section number {i} {'y' * 100}</h2>" for i in range(9)),
    )
    SeoSettings.objects.create(site=site, approval_threshold=100)

    content_approval_decide(site_id=site.pk, content_id=content.pk, no_images="why")

    content.refresh_from_db()
    assert len(content.held_reason) == 1000
    assert content.held_reason.endswith("Judged on its text alone (no images: why).")
