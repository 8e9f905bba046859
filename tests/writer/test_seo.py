"""SEO checks: each check passes on a sound article and fails on one broken in one way."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inkline.writer.seo import WEIGHTS, contains_keyword, held_reason, reading_ease, seo_check

KEYWORD = "cold brew ratio"
PLAIN = (
    "Cold brew is easy to make at home. You mix ground coffee with cold water. "
    "Then you wait a day and strain it. The taste is smooth and sweet."
)
HARD = (
    "Notwithstanding considerable heterogeneity in extraction methodologies, "
    "concentration characteristics demonstrate substantial dependency upon "
    "particulate granularity, temperature differentials, and immersion duration, "
    "necessitating systematic experimentation and meticulous documentation."
)
TITLE = "Cold Brew Ratio: How Much Coffee per Cup"  # 40 characters
META = (
    "The cold brew ratio that works every time: how much coffee to use per cup of water, "
    "how long to steep it, and how to adjust the strength."
)  # 140 characters


def body(
    *,
    first: str = f"The right {KEYWORD} makes or breaks your drink. {PLAIN}",
    h2: tuple[str, ...] = ("Choosing a Cold Brew Ratio", "Steeping Time", "Serving"),
    section: str = PLAIN,
    extra: str = "",
) -> str:
    parts = [f"<p>{first}</p>"]
    for heading in h2:
        parts.append(f"<h2>{heading}</h2><p>{section}</p>")
    return "".join(parts) + extra


def check(**overrides: object) -> dict[str, bool]:
    fields: dict[str, object] = {
        "title": TITLE,
        "html": body(),
        "meta_description": META,
        "primary_keyword": KEYWORD,
        "image_alts": ("A jar of cold brew",),
    }
    fields.update(overrides)
    report = seo_check(**fields)  # type: ignore[arg-type]
    return {c.check: c.passed for c in report.checks}


def test_a_sound_article_passes_every_check_and_scores_100() -> None:
    report = seo_check(
        title=TITLE,
        html=body(),
        meta_description=META,
        primary_keyword=KEYWORD,
        image_alts=("A jar of cold brew",),
    )
    assert [c.check for c in report.checks] == list(WEIGHTS)
    assert all(c.passed for c in report.checks), report.failed
    assert report.score == 100
    assert report.failed == ()
    assert all(item["passed"] and item["message"] for item in report.as_list())


@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        ("keyword_in_title", {"title": "How Much Coffee per Cup of Cold Water"}),
        ("keyword_in_first_paragraph", {"html": body(first=PLAIN)}),
        ("keyword_in_h2", {"html": body(h2=("Choosing Beans", "Steeping Time", "Serving"))}),
        ("title_length", {"title": "Cold Brew Ratio: " + "the definitive guide " * 3}),
        ("meta_description_length", {"meta_description": "Short."}),
        ("meta_description_length", {"meta_description": META + " " + META}),
        ("h2_per_300_words", {"html": body(section=" ".join([PLAIN] * 30))}),
        ("no_empty_sections", {"html": body() + "<h2>Conclusion</h2>"}),
        ("image_alt_text", {"image_alts": ("A jar of cold brew", "")}),
        ("image_alt_text", {"html": body(extra='<p><img src="https://x.test/a.png"></p>')}),
        ("reading_level", {"html": body(first=f"The {KEYWORD} matters. {HARD}", section=HARD)}),
    ],
)
def test_each_check_fails_alone_on_an_article_broken_in_its_way(
    name: str, overrides: dict[str, object]
) -> None:
    passed = check(**overrides)
    assert passed[name] is False
    assert [n for n, ok in passed.items() if not ok] == [name]


def test_the_score_is_the_sum_of_the_weights_of_passing_checks_and_failures_explain() -> None:
    report = seo_check(
        title="A Very Long Title About Coffee That Never Names Its Keyword At All",
        html=body(first=PLAIN) + "<h2>Empty</h2>",
        meta_description="Too short.",
        primary_keyword=KEYWORD,
    )
    failed = {c.check: c.message for c in report.failed}
    assert set(failed) == {
        "keyword_in_title",
        "keyword_in_first_paragraph",
        "title_length",
        "meta_description_length",
        "no_empty_sections",
    }
    assert report.score == 100 - sum(WEIGHTS[name] for name in failed)
    assert "66 characters" in failed["title_length"]
    assert "10 characters; write 120–160" in failed["meta_description_length"]
    assert "'Empty'" in failed["no_empty_sections"]
    reason = held_reason(report, 70)
    assert reason.startswith(f"SEO score {report.score} is below 70.")
    assert failed["keyword_in_title"] in reason


def test_a_heading_whose_subsections_have_content_is_not_empty() -> None:
    html = (
        f"<p>About {KEYWORD}. {PLAIN}</p><h2>{KEYWORD} basics</h2>"
        f"<h3>Grams</h3><p>{PLAIN}</p><h3>Cups</h3><ul><li>One cup</li></ul>"
    )
    assert check(html=html)["no_empty_sections"] is True
    assert check(html=html.replace("<ul><li>One cup</li></ul>", ""))["no_empty_sections"] is False


def test_images_in_the_body_count_and_no_images_pass() -> None:
    with_alt = body(extra='<p><img src="https://x.test/a.png" alt="cold brew jar"></p>')
    assert check(html=with_alt, image_alts=())["image_alt_text"] is True
    assert check(image_alts=())["image_alt_text"] is True
    assert check(image_alts=(" ",))["image_alt_text"] is False


def test_one_h2_per_300_words() -> None:
    words = " ".join(["coffee"] * 299) + "."
    one = f"<p>{KEYWORD} {words}</p><h2>{KEYWORD}</h2><p>{words}</p>"
    assert check(html=one)["h2_per_300_words"] is False  # ~600 words, one H2
    two = one + f"<h2>More</h2><p>{PLAIN}</p>"
    assert check(html=two)["h2_per_300_words"] is True
    assert check(html=f"<p>{KEYWORD} {PLAIN}</p>")["h2_per_300_words"] is False


def test_no_primary_keyword_fails_the_keyword_checks_with_a_reason() -> None:
    report = seo_check(title=TITLE, html=body(), meta_description=META, primary_keyword=" ")
    failed = {c.check: c.message for c in report.failed}
    assert set(failed) == {"keyword_in_title", "keyword_in_first_paragraph", "keyword_in_h2"}
    assert all("no primary keyword" in m for m in failed.values())


def test_an_empty_article_fails_reading_level_and_structure() -> None:
    passed = check(html="")
    assert not passed["reading_level"]
    assert not passed["h2_per_300_words"]
    assert not passed["keyword_in_first_paragraph"]


def test_keyword_matching_ignores_case_punctuation_and_plurals_but_not_order() -> None:
    assert contains_keyword("Best Espresso Machines, Ranked", "best espresso machine")
    assert contains_keyword("COLD-BREW ratio!", "cold brew ratio")
    assert not contains_keyword("ratio of cold brew", "cold brew ratio")
    assert not contains_keyword("cold brewer ratio", "cold brew ratio")
    assert not contains_keyword("anything", "")


def test_reading_ease_comes_from_textstat_and_orders_plain_above_dense_prose() -> None:
    assert reading_ease(PLAIN) > 70 > 20 > reading_ease(HARD)


@given(st.text(max_size=300), st.text(max_size=80), st.text(max_size=200))
def test_any_input_gives_a_score_between_0_and_100_with_every_check(
    html: str, title: str, meta: str
) -> None:
    report = seo_check(title=title, html=html, meta_description=meta, primary_keyword=title[:20])
    assert 0 <= report.score <= 100
    assert [c.check for c in report.checks] == list(WEIGHTS)
    assert all(c.message for c in report.checks)
