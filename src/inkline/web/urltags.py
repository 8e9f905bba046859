"""`{% url %}` with memoized lookups, installed as a template builtin (settings.TEMPLATES).

Django's tag reverses the URL pattern on every call (about 50–90 µs here), and a page
renders dozens: the site switcher alone links every site. A URL is a pure function of the
view name, its arguments, the current namespace, the script prefix and the URL
configuration, so the same answer is reused for the same inputs. Same syntax and behaviour
as Django's tag, `as var` included; arguments that cannot be hashed are reversed as before.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django import template
from django.conf import settings
from django.template import defaulttags
from django.template.base import Parser, Token
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = template.Library()


@lru_cache(maxsize=8192)
def _reverse(
    view_name: str,
    args: tuple[Any, ...],
    kwargs: tuple[tuple[str, Any], ...],
    current_app: str | None,
    prefix: str,
    urlconf: str,
) -> str:
    # `prefix` and `urlconf` only key the cache: reverse() reads them itself.
    return reverse(view_name, args=args, kwargs=dict(kwargs), current_app=current_app)


def _current_app(context: template.Context) -> str | None:
    request = getattr(context, "request", None)
    app = getattr(request, "current_app", None)
    if app is None:
        app = getattr(getattr(request, "resolver_match", None), "namespace", None)
    return app


class MemoURLNode(defaulttags.URLNode):
    def render(self, context: template.Context) -> str:
        args = tuple(arg.resolve(context) for arg in self.args)
        kwargs = tuple(sorted((k, v.resolve(context)) for k, v in self.kwargs.items()))
        view_name = self.view_name.resolve(context)
        app = _current_app(context)
        conf = str(get_urlconf() or settings.ROOT_URLCONF)
        url = ""
        try:
            try:
                url = _reverse(view_name, args, kwargs, app, get_script_prefix(), conf)
            except TypeError:  # an unhashable argument
                url = reverse(view_name, args=args, kwargs=dict(kwargs), current_app=app)
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return str(conditional_escape(url)) if context.autoescape else url


@register.tag
def url(parser: Parser, token: Token) -> MemoURLNode:
    node = defaulttags.url(parser, token)
    return MemoURLNode(node.view_name, node.args, node.kwargs, node.asvar)
