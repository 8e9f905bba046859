"""The memoized `{% url %}` builtin answers exactly what Django's reverse() answers."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, reverse, set_script_prefix

from inkline.web.urltags import MemoURLNode


def render(source: str, **context: object) -> str:
    return Template(source).render(Context(context))


def test_the_builtin_is_the_memoized_tag() -> None:
    nodes = Template("{% url 'web:dashboard' 3 %}").nodelist
    assert isinstance(nodes[0], MemoURLNode)


def test_urls_match_reverse_for_args_and_kwargs_and_are_escaped() -> None:
    for pk in (1, 2, 1):  # the second 1 comes from the cache
        assert render("{% url 'web:dashboard' pk %}", pk=pk) == reverse("web:dashboard", args=[pk])
    assert render("{% url 'web:dashboard' site_id=5 %}") == reverse(
        "web:dashboard", kwargs={"site_id": 5}
    )
    run = "run_a&b"  # the tag escapes what reverse() leaves unquoted
    assert render("{% url 'web:run_detail' run %}", run=run) == reverse(
        "web:run_detail", args=[run]
    ).replace("&", "&amp;")


def test_as_var_and_no_match() -> None:
    assert (
        render("{% url 'web:dashboard' 4 as u %}[{{ u }}]")
        == f"[{reverse('web:dashboard', args=[4])}]"
    )
    assert render("{% url 'web:nothing' as u %}[{{ u }}]") == "[]"
    with pytest.raises(NoReverseMatch):
        render("{% url 'web:nothing' %}")


def test_the_script_prefix_is_part_of_the_answer() -> None:
    plain = render("{% url 'web:dashboard' 9 %}")
    set_script_prefix("/inkline/")
    try:
        assert render("{% url 'web:dashboard' 9 %}") == "/inkline" + plain
    finally:
        set_script_prefix("/")
    assert render("{% url 'web:dashboard' 9 %}") == plain
