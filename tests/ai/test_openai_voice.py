"""A site's brand voice with the `openai` provider, against the local fake server: the
writing prompt carries the voice, and an avoided word in the model's answer fails the SEO
gate by name (the article is held in review, whatever its score)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from inkline.accounts.models import Site
from inkline.accounts.services import brand_voice_update
from inkline.ai import prompts
from inkline.writer.models import Content
from inkline.writer.quality import seo_settings_update
from tests.ai.fake_openai import FakeOpenAI
from tests.ai.test_openai_engine import provider_for
from tests.factories import add_tasks, only_stages, run_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def test_the_prompt_carries_the_voice_and_an_avoided_word_in_the_answer_fails_the_gate(
    site: Site, server: FakeOpenAI
) -> None:
    add_tasks(site, 2)
    only_stages(site, 4, 5, 6, 7)
    seo_settings_update(site=site, approval_threshold=0)  # the score alone would approve
    # The fake model writes "practical advice you can use today": "use" is avoided; "user"
    # and "useful" (not in the answer either way) are other words.
    brand_voice_update(
        site=site,
        voice="Warm, practical, no hype.",
        audience="Home baristas",
        words_to_use=["ratio"],
        words_to_avoid=["use", "synergy"],
        reading_ease=40,
        point_of_view="you",
        example="You weigh the coffee first.",
    )
    expected = {
        "voice": "Warm, practical, no hype.",
        "audience": "Home baristas",
        "words_to_use": ["ratio"],
        "words_to_avoid": ["use", "synergy"],
        "reading_ease": 40,
        "point_of_view": "you",
        "example": "You weigh the coffee first.",
    }

    run = run_now(site, provider_for(server))

    assert run.status == "completed", run.error_message
    requests = server.chat_requests("article")
    assert len(requests) == 2
    for request in requests:
        assert request.payload["brand_voice"] == expected
        system = request.body["messages"][0]["content"]
        assert system == prompts.ARTICLE.system and "words_to_avoid" in system
    contents = list(Content.objects.filter(site=site))
    assert len(contents) == 2
    for content in contents:
        assert content.status == "review"
        assert content.held_reason == (
            f"SEO score {content.seo_score} meets 0, but: "
            "The article uses words the site avoids: 'use'."
        )
        check = next(r for r in content.seo_report if r["check"] == "avoided_words")
        assert check == {
            "check": "avoided_words",
            "passed": False,
            "message": "The article uses words the site avoids: 'use'.",
        }
        assert content.provenance["prompt_version"] == "article-v3"
        assert content.provenance["brand_voice"] == expected


def test_a_word_not_in_the_answer_leaves_the_article_approved(
    site: Site, server: FakeOpenAI
) -> None:
    add_tasks(site, 1)
    only_stages(site, 4, 5, 6, 7)
    seo_settings_update(site=site, approval_threshold=0)
    brand_voice_update(site=site, words_to_avoid=["user"])  # not in the answer: "use" is

    run = run_now(site, provider_for(server))

    assert run.status == "completed", run.error_message
    (request,) = server.chat_requests("article")
    assert request.payload["brand_voice"] == {"words_to_avoid": ["user"]}
    content = Content.objects.get(site=site)
    assert content.status == "approved", content.held_reason
    assert "use today" in content.html


def test_a_site_without_a_voice_sends_none(site: Site, server: FakeOpenAI) -> None:
    add_tasks(site, 1)
    only_stages(site, 4)
    brand_voice_update(site=site, voice="", words_to_avoid=[])  # a row, all blank

    run_now(site, provider_for(server))

    (request,) = server.chat_requests("article")
    assert "brand_voice" not in request.payload
    assert "brand_voice" not in Content.objects.get(site=site).provenance
