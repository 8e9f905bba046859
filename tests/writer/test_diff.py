"""The review page's diff of two versions of an article: block by block, word by word,
every piece of text escaped."""

from __future__ import annotations

from inkline.writer.diff import article_diff, blocks_of


def test_blocks_are_read_as_plain_text_in_order() -> None:
    html = "<h2>Tips</h2><p>Grind <strong>fresh</strong>.</p><ul><li>one</li><li>two</li></ul>"
    assert blocks_of(html) == [("h2", "Tips"), ("p", "Grind fresh."), ("li", "one"), ("li", "two")]


def test_a_changed_paragraph_is_diffed_word_by_word() -> None:
    diff = article_diff(
        "<p>Use fresh beans daily.</p><p>Same.</p>", "<p>Use whole beans daily.</p><p>Same.</p>"
    )
    assert [b.kind for b in diff.blocks] == ["changed", "same"]
    assert diff.blocks[0].html == "Use <del>fresh </del><ins>whole </ins>beans daily."
    assert (diff.added, diff.removed) == (1, 1)


def test_added_and_removed_blocks_and_the_title() -> None:
    diff = article_diff(
        "<h2>Old</h2><p>Gone for good.</p><p>Kept.</p>",
        "<h2>Old</h2><p>Kept.</p><h2>New part</h2>",
        title=("A guide", "A better guide"),
    )
    kinds = [(b.kind, b.tag) for b in diff.blocks]
    assert kinds == [
        ("changed", "h1"),
        ("same", "h2"),
        ("removed", "p"),
        ("same", "p"),
        ("added", "h2"),
    ]
    assert diff.changed and diff.added == 3 and diff.removed == 3


def test_markup_in_the_text_stays_escaped() -> None:
    diff = article_diff("<p>a</p>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>")
    shown = "".join(b.html for b in diff.blocks)
    assert "<script>" not in shown and "&lt;script&gt;" in shown
    assert not article_diff("<p>x</p>", "<p>x</p>").changed
