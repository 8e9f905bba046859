"""The pure half of internal links: which article links to which, and the managed block."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inkline.publishing.linkset import (
    RELATED_END,
    RELATED_START,
    choose_links,
    related_block,
    safe_href,
    with_related,
)

orders = st.lists(st.integers(1, 10_000), unique=True, max_size=40)
limits = st.integers(0, 20)


@given(orders, limits)
def test_each_article_links_to_at_most_limit_others_never_itself_never_twice(
    order: list[int], limit: int
) -> None:
    links = choose_links(order, limit)
    assert set(links) == set(order)
    for source, targets in links.items():
        assert source not in targets
        assert len(set(targets)) == len(targets) == min(limit, len(order) - 1)
        assert set(targets) <= set(order)


@given(orders, st.integers(1, 20))
def test_every_article_is_linked_to_and_a_small_cluster_is_linked_all_ways(
    order: list[int], limit: int
) -> None:
    links = choose_links(order, limit)
    inbound = dict.fromkeys(order, 0)
    for targets in links.values():
        for target in targets:
            inbound[target] += 1
    if len(order) >= 2:
        # Nothing is orphaned, the newest included; with one link each, a chain from the
        # oldest to the newest (which links back), so only the oldest may have none.
        linked = order if limit >= 2 else order[1:]
        assert min(inbound[pk] for pk in linked) >= 1
    if len(order) - 1 <= limit:
        for source, targets in links.items():
            assert set(targets) == set(order) - {source}


@given(orders, st.integers(1, 20), st.integers(10_001, 20_000))
def test_a_new_publication_changes_the_block_of_at_most_limit_siblings(
    order: list[int], limit: int, new: int
) -> None:
    before = choose_links(order, limit)
    after = choose_links([*order, new], limit)
    changed = [pk for pk in order if before[pk] != after[pk]]
    assert len(changed) <= limit
    assert all(new in after[pk] for pk in changed)  # a change is always a link to the new one


def test_closest_in_publication_order_first_the_newer_one_on_a_tie() -> None:
    assert choose_links([1, 2, 3, 4, 5], 2) == {
        1: (2, 3),
        2: (3, 1),
        3: (4, 2),
        4: (5, 3),
        5: (4, 3),
    }
    assert choose_links([7], 3) == {7: ()}
    assert choose_links([1, 2], 0) == {1: (), 2: ()}


def test_the_block_escapes_anchor_text_and_keeps_only_safe_addresses() -> None:
    block = related_block(
        [
            ("v60 <b>recipe</b> & more", "/posts/v60/"),
            ("evil", "javascript:alert(1)"),
            ("elsewhere", "//evil.example/"),
            ("", "/posts/empty/"),
            ("bloom time", "https://blog.example.com/posts/bloom/"),
        ]
    )
    assert block.startswith(RELATED_START) and block.endswith(RELATED_END)
    assert "v60 &lt;b&gt;recipe&lt;/b&gt; &amp; more" in block
    assert block.count("<a ") == 2
    assert 'href="https://blog.example.com/posts/bloom/"' in block
    assert "javascript" not in block and "evil" not in block and "empty" not in block
    assert "noopener" not in block  # links of the same site
    assert related_block([]) == "" == related_block([("x", "ftp://a/")])
    assert [safe_href(h) for h in ("/a/", "https://a.b/c", "//a.b/", "mailto:x@y", "a/b")] == [
        True,
        True,
        False,
        False,
        False,
    ]


def test_the_block_is_replaced_in_place_appended_once_or_removed() -> None:
    one = related_block([("one", "/posts/one/")])
    two = related_block([("two", "/posts/two/")])
    body = "<!-- inkline:5 --><p>Intro</p>"
    first = with_related(body, one)
    assert first == body + "\n" + one
    edited = first + "<p>Added in WordPress</p>"
    second = with_related(edited, two)
    assert second == body + "\n" + two + "<p>Added in WordPress</p>"
    assert with_related(second, two) == second  # idempotent
    pasted_twice = body + one + "<p>x</p>" + one
    assert with_related(pasted_twice, two).count(RELATED_START) == 1
    assert with_related(second, "") == body + "\n" + "<p>Added in WordPress</p>"
    assert with_related(body, "") == body
    assert with_related("", one) == one
