"""The brand voice in the SEO checks: words to avoid fail a gate check naming them (and hold
the article whatever its score), and the reading-ease target replaces the default 50."""

from __future__ import annotations

import pytest

from inkline.accounts.models import Site
from inkline.accounts.services import brand_voice_update
from inkline.writer.models import Content, SeoSettings
from inkline.writer.quality import brand_voice_change
from inkline.writer.seo import (
    WEIGHTS,
    SeoReport,
    held_reason,
    reading_ease,
    seo_check,
    text_segments,
)
from inkline.writer.services.review import content_approval_decide
from tests.writer.test_seo import HARD, KEYWORD, META, PLAIN, TITLE, body


def report(**overrides: object) -> SeoReport:
    fields: dict[str, object] = {
        "title": TITLE,
        "html": body(),
        "meta_description": META,
        "primary_keyword": KEYWORD,
        "image_alts": ("A jar of cold brew",),
    }
    return seo_check(**(fields | overrides))  # type: ignore[arg-type]


def test_without_words_to_avoid_there_is_no_such_check() -> None:
    assert [c.check for c in report().checks] == list(WEIGHTS)


def test_an_avoided_word_fails_the_check_by_name_but_costs_no_points() -> None:
    clean = report(words_to_avoid=["synergy", "cold brews"])
    assert clean.score == 100 and not clean.blocked
    assert clean.checks[-1].check == "avoided_words" and clean.checks[-1].passed

    # META says "how much coffee to use per cup"; the body, "Cold brew" (phrase, any case)
    found = report(words_to_avoid=["USE", "cold brew", "synergy"])
    check = found.checks[-1]
    assert (check.check, check.passed) == ("avoided_words", False)
    assert check.message == "The article uses words the site avoids: 'cold brew', 'USE'."
    assert found.score == 100  # weighs nothing: it holds the article instead
    assert found.blocked == (check,)
    assert held_reason(found, 70) == (
        "SEO score 100 meets 70, but: The article uses words the site avoids: 'cold brew', 'USE'."
    )


def test_the_words_are_looked_for_in_title_meta_and_body_not_inside_other_words() -> None:
    html = "<p>Every <strong>user</strong> reuses it.</p><h2>Great</h2><ul><li>deal</li></ul>"
    assert not report(html=html, meta_description="-", words_to_avoid=["use", "great deal"]).blocked
    assert report(title="Use It", words_to_avoid=["use"]).blocked
    assert report(meta_description="Use it.", words_to_avoid=["use"]).blocked
    # a phrase split by inline markup is still the phrase a reader sees
    assert report(html="<p>a <em>great</em> deal</p>", words_to_avoid=["great deal"]).blocked
    assert text_segments("<p>a <em>great</em> deal</p><p>next</p>") == ["a great deal", "next"]


def test_the_reading_ease_target_replaces_the_default() -> None:
    ease = reading_ease(PLAIN)
    assert ease > 60
    strict = report(reading_ease_min=ease + 5)
    level = next(c for c in strict.checks if c.check == "reading_level")
    assert not level.passed and f"at least {ease + 5:g}" in level.message
    assert strict.score == 100 - WEIGHTS["reading_level"]
    hard = body(first=f"{KEYWORD} {HARD}", section=HARD)
    assert not next(c for c in report(html=hard).checks if c.check == "reading_level").passed
    lenient = report(html=hard, reading_ease_min=reading_ease(HARD) - 20)
    assert next(c for c in lenient.checks if c.check == "reading_level").passed


@pytest.mark.django_db
def test_the_gate_holds_an_article_using_an_avoided_word_whatever_its_score(site: Site) -> None:
    SeoSettings.objects.create(site=site, approval_threshold=10)
    content = Content.objects.create(
        site=site, title=TITLE, html=body(), meta_description=META, slug="c",
        primary_keyword=KEYWORD, status="review", prompts_extracted=True,
    )  # fmt: skip
    brand_voice_update(site=site, words_to_avoid=["Steeping time"])

    decision = content_approval_decide(site_id=site.pk, content_id=content.pk)

    assert not decision.approved
    content.refresh_from_db()
    assert content.status == "review"
    assert "'Steeping time'" in content.held_reason
    assert content.held_reason.startswith("SEO score")
    failed = [r for r in content.seo_report if not r["passed"]]
    assert [r["check"] for r in failed] == ["avoided_words"]


@pytest.mark.django_db
def test_new_words_to_avoid_or_target_send_held_articles_back_to_stage_7(site: Site) -> None:
    brand_voice_change(site=site, words_to_avoid=["Steeping time"])
    held = Content.objects.create(
        site=site, title=TITLE, html=body(), meta_description=META, slug="c",
        primary_keyword=KEYWORD, status="review", prompts_extracted=True,
        held_reason="SEO score 100 meets 70, but: …",
    )  # fmt: skip
    version = Site.objects.get(pk=site.pk).pipeline_version

    brand_voice_change(site=site, voice="Calm.", point_of_view="we")  # not what the gate checks
    held.refresh_from_db()
    assert held.held_reason

    brand_voice_change(site=site, words_to_avoid=[])
    held.refresh_from_db()
    assert held.held_reason == ""  # judged again by the next run's stage 7
    assert Site.objects.get(pk=site.pk).pipeline_version == version + 1
    decision = content_approval_decide(site_id=site.pk, content_id=held.pk)
    assert decision.approved

    held = Content.objects.create(
        site=site, title="T", html="<p>x</p>", slug="d", status="review",
        prompts_extracted=True, held_reason="SEO score 30 is below 70.",
    )  # fmt: skip
    brand_voice_change(site=site, reading_ease=40)
    held.refresh_from_db()
    assert held.held_reason == ""
