"""The local provider honours a site's brand voice: a word to avoid cannot appear in its
articles (title, meta description, body), and it writes in the site's point of view; so
the feature is testable offline, end to end through the engine and the SEO gate."""

from __future__ import annotations

import dataclasses
import re
import string

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from inkline.accounts.models import Site
from inkline.accounts.services import brand_voice_update
from inkline.accounts.voice import Voice, find_avoided
from inkline.ai.local import LocalProvider
from inkline.ai.local.articles import META_MAX, MIN_ARTICLE_WORDS
from inkline.ai.types import ArticleIn, ArticleOut
from inkline.writer.html import sanitize_html, word_count
from inkline.writer.models import Content
from inkline.writer.seo import text_segments
from tests.ai.test_local import MOKA
from tests.factories import add_tasks, only_stages, run_now

CONTENT_TYPES = ["how_to", "best_of", "comparison", "question", "guide"]
# Each point of view and the pronouns it must not use (outside the site's keywords).
FORBIDDEN = {
    "we": r"\b(you|your|yours|yourself)\b",
    "you": r"\b(we|our|ours|us|ourselves)\b",
    "they": r"\b(you|your|yours|yourself|we|our|ours|us|ourselves)\b",
}


def texts_of(article: ArticleOut) -> list[str]:
    """What the SEO gate reads, from the article as it would be stored."""
    return [article.title, article.meta_description, *text_segments(sanitize_html(article.html))]


def words_of(article: ArticleOut) -> list[str]:
    return sorted({w for t in texts_of(article) for w in re.findall(r"[A-Za-z][A-Za-z'-]+", t)})


def test_without_a_voice_nothing_changes_and_with_one_the_article_stays_deterministic() -> None:
    provider = LocalProvider()
    plain = provider.write_content(MOKA)
    empty = provider.write_content(dataclasses.replace(MOKA, voice=Voice(voice="Warm.")))
    assert empty.article == plain.article  # only the avoid list and point of view change text
    voiced = dataclasses.replace(MOKA, voice=Voice(words_to_avoid=("grind",), point_of_view="we"))
    assert provider.write_content(voiced) == provider.write_content(voiced)
    assert provider.write_content(voiced).article != plain.article


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_words_the_article_would_use_are_left_out(content_type: str) -> None:
    brief = dataclasses.replace(MOKA, content_type=content_type)
    plain = LocalProvider().write_content(brief).article
    common = ["the", "you", "coffee", "moka pot", "step by step", "Best value", "use"]
    assert set(find_avoided(texts_of(plain), common)) >= {"the", "moka pot", "use"}

    article = (
        LocalProvider()
        .write_content(dataclasses.replace(brief, voice=Voice(words_to_avoid=tuple(common))))
        .article
    )

    assert find_avoided(texts_of(article), common) == []
    assert "user" not in common and word_count(article.html) >= MIN_ARTICLE_WORDS
    assert len(article.meta_description) <= META_MAX and article.title


@hypothesis_settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    keyword=st.text(alphabet=string.ascii_lowercase + " ", min_size=3, max_size=30).filter(
        lambda s: s.strip()
    ),
    content_type=st.sampled_from(CONTENT_TYPES),
    pov=st.sampled_from(["", "we", "you", "they"]),
    data=st.data(),
)
def test_an_avoided_word_is_impossible_in_a_local_article(
    keyword: str, content_type: str, pov: str, data: st.DataObject
) -> None:
    brief = ArticleIn(
        title=f"All About {keyword}",
        primary_keyword=keyword,
        target_keywords=(keyword,),
        content_type=content_type,
        outline=("What You Need", "How We Chose", "Tips"),
    )
    vocabulary = words_of(LocalProvider().write_content(brief).article)
    # words of the article itself, and phrases of two of them
    single = st.sampled_from(vocabulary)
    avoid = data.draw(
        st.lists(st.one_of(single, st.tuples(single, single).map(" ".join)), min_size=1, max_size=8)
    )
    voiced = dataclasses.replace(brief, voice=Voice(words_to_avoid=tuple(avoid), point_of_view=pov))

    article = LocalProvider().write_content(voiced).article

    assert find_avoided(texts_of(article), avoid) == []


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
@pytest.mark.parametrize("pov", ["we", "you", "they"])
def test_the_article_is_written_in_the_point_of_view(content_type: str, pov: str) -> None:
    brief = dataclasses.replace(
        MOKA,
        content_type=content_type,
        outline=("What You Need", "How We Chose", "Our Top Picks", "Which Should You Choose?"),
        voice=Voice(point_of_view=pov),
    )
    article = LocalProvider().write_content(brief).article
    keyword = re.compile(re.escape(brief.primary_keyword), re.IGNORECASE)
    texts = [keyword.sub("", t) for t in texts_of(article)]
    wrong = [t for t in texts if re.search(FORBIDDEN[pov], t, re.IGNORECASE)]
    assert wrong == []
    if pov != "they":
        assert any(re.search(rf"\b{pov}\b", t, re.IGNORECASE) for t in texts)


def test_the_site_keyword_is_kept_as_the_user_wrote_it() -> None:
    brief = dataclasses.replace(
        MOKA,
        title="How Do You Descale a Kettle",
        primary_keyword="how do you descale a kettle",
        target_keywords=(),
        voice=Voice(point_of_view="they"),
    )
    article = LocalProvider().write_content(brief).article
    assert "How Do You Descale a Kettle" in article.title
    assert "how do you descale a kettle" in article.html.lower()


@pytest.mark.django_db
def test_a_run_with_a_voice_writes_and_approves_articles_without_the_avoided_words(
    site: Site,
) -> None:
    add_tasks(site, 3)
    only_stages(site, 4, 5, 6, 7)
    avoid = ["fundamentals", "consistency", "simple", "you", "best value"]
    brand_voice_update(site=site, voice="Calm and exact.", words_to_avoid=avoid, point_of_view="we")

    run = run_now(site, LocalProvider())

    assert run.status == "completed", run.error_message
    contents = list(Content.objects.filter(site=site))
    assert len(contents) == 3
    for content in contents:
        assert content.status == "approved", content.held_reason
        assert find_avoided([content.title, content.meta_description, content.html], avoid) == []
        gate = [r for r in content.seo_report if r["check"] == "avoided_words"]
        assert gate == [
            {
                "check": "avoided_words",
                "passed": True,
                "message": "None of the site's 5 words to avoid is used.",
            }
        ]
        assert content.provenance["brand_voice"] == {
            "voice": "Calm and exact.",
            "words_to_avoid": avoid,
            "point_of_view": "we",
        }
