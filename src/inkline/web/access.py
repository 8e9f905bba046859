"""Tenancy and roles for the UI: the one place views resolve what a user may see and touch.

Another account's object is a 404 (never revealed); a viewer's change is a 403; a domain
error raised by a service becomes a message on the page it came from.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from inkline.accounts.models import Membership, Site
from inkline.accounts.selectors import SiteName, account_site, site_names
from inkline.core.api import is_id
from inkline.core.errors import ApplicationError, ValidationFailed
from inkline.writer.models import Content

View = TypeVar("View", bound=Callable[..., HttpResponse])


def membership_of(request: HttpRequest) -> Membership:
    membership = getattr(request.user, "membership", None)
    if membership is None:
        raise PermissionDenied("This user belongs to no account.")
    return cast(Membership, membership)


def require_editor(request: HttpRequest) -> None:
    if not membership_of(request).can_edit:
        raise PermissionDenied("Viewers can look but not change anything.")


def sites_of(request: HttpRequest) -> list[SiteName]:
    """The user's sites for the site switcher, by name: their id and name only, read once
    per request."""
    sites: list[SiteName] | None = getattr(request, "_inkline_sites", None)
    if sites is None:
        sites = site_names(membership_of(request).account_id)
        request._inkline_sites = sites  # type: ignore[attr-defined]
    return sites


def site_for(request: HttpRequest, site_id: int, *, write: bool = False) -> Site:
    """The user's site `site_id`, or 404; `write` also requires an owner or editor (403)."""
    account_id = membership_of(request).account_id
    site = account_site(account_id, site_id) if is_id(site_id) else None
    if site is None:
        raise Http404("No such site.")
    if write:
        require_editor(request)
    return site


def content_for(request: HttpRequest, content_id: int) -> Content:
    """The article `content_id` with its site, if it belongs to the user's account (else 404)."""
    content = (
        Content.objects.filter(pk=content_id, site__account_id=membership_of(request).account_id)
        .select_related("site")
        .first()
    )
    if content is None:
        raise Http404("No such article.")
    return content


def back(request: HttpRequest, fallback: str) -> HttpResponseRedirect:
    """Redirect to the form's `next` (same host only) or `fallback`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = fallback
    return HttpResponseRedirect(target or fallback)


def action(view: View) -> View:
    """A POST-only change by an owner or editor. A domain error (a run already active, a
    transition not allowed...) becomes an error message on the page the user came from."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        require_editor(request)
        try:
            return view(request, *args, **kwargs)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return back(request, request.headers.get("referer", "/"))

    return cast(View, login_required(require_POST(wrapper)))


def form_errors_from(form: BaseForm, exc: ValidationFailed) -> None:
    """Put a service's field errors next to the form's fields (unknown fields: on top)."""
    for field, errors in exc.field_errors.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


def switcher_key(sites: list[SiteName], site: Site | None, *, can_edit: bool) -> str:
    """Everything the site switcher shows, so its HTML is rendered once per process for each
    value (`{% cache %}` in the template) instead of looping over every site on every page.
    Being the content itself, the key never lets a stale list through."""
    names = "\x1f".join(f"{s.pk}\x1e{s.name}" for s in sites)
    return f"{can_edit:d}\x1d{site.pk if site else ''}\x1d{site.name if site else ''}\x1d{names}"


def page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    site: Site | None = None,
    section: str = "",
    status: int = 200,
) -> HttpResponse:
    """Render a page of the app: the base layout needs the user's sites, role and section."""
    membership = membership_of(request)
    sites = sites_of(request)
    full = {
        "membership": membership,
        "can_edit": membership.can_edit,
        "nav_sites": sites,
        "switcher_key": switcher_key(sites, site, can_edit=membership.can_edit),
        "site": site,
        "section": section,
        "tz_name": site.timezone if site else "UTC",
        **(context or {}),
    }
    return render(request, template, full, status=status)
