"""Home, site switching, creating a site and changing its settings (publisher included)."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from inkline.accounts.api import SiteIn
from inkline.accounts.selectors import site_voice
from inkline.automation import selectors as automation
from inkline.automation.services import ai_check_run
from inkline.automation.sites import site_create, site_update
from inkline.core.errors import ValidationFailed
from inkline.publishing.checking import publisher_check as run_publisher_check
from inkline.publishing.publishers.factory import publisher_problem
from inkline.web import selectors
from inkline.web.access import (
    action,
    form_errors_from,
    membership_of,
    page,
    require_editor,
    site_for,
    sites_of,
)
from inkline.web.forms import BrandVoiceForm, SiteForm, SiteSettingsForm
from inkline.writer.quality import brand_voice_change

_QUOTED_KEY = re.compile(r"^'([^']+)'")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The dashboard of the user's first site, or (no site yet) the form to create one."""
    sites = sites_of(request)
    if sites:
        return redirect("web:dashboard", site_id=sites[0].pk)
    return page(request, "web/welcome.html", section="sites")


@login_required
def site_new(request: HttpRequest) -> HttpResponse:
    require_editor(request)
    form = SiteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            site = site_create(
                account=membership_of(request).account,
                name=form.cleaned_data["name"],
                url=form.cleaned_data["url"],
                timezone=form.cleaned_data["timezone"],
                publisher=form.cleaned_data["publisher"],
            )
        except ValidationFailed as exc:
            form_errors_from(form, exc)
        else:
            return redirect("web:dashboard", site_id=site.pk)
    return page(request, "web/site_form.html", {"form": form}, section="sites")


def _api_errors(form: SiteSettingsForm, errors: dict[str, Any]) -> None:
    """Put the API serializer's errors next to the form's fields: a publisher_config message
    names its key ("'username' is longer than 2000."), which maps to the field showing it."""
    for name, found in errors.items():
        messages_of = (
            [m for sub in found.values() for m in sub] if isinstance(found, dict) else found
        )
        for message in messages_of:
            field: str | None = name if name in form.fields else None
            if name == "publisher_config":
                key = _QUOTED_KEY.match(str(message))
                field = form.config_field(key.group(1)) if key else None
            form.add_error(field, str(message))


@login_required
def site_settings(request: HttpRequest, site_id: int) -> HttpResponse:
    """Name, URL, time zone and publisher of a site, validated by the rules of the API's
    `PATCH /api/v1/sites/{id}/` and saved by the same service."""
    site = site_for(request, site_id, write=request.method == "POST")
    form = SiteSettingsForm(request.POST or None, site=site)
    if request.method == "POST" and form.is_valid():
        checked = SiteIn(data=form.site_changes(), partial=True)
        if not checked.is_valid():
            _api_errors(form, checked.errors)
        else:
            try:
                site = site_update(site=site, merge_config=True, **checked.validated_data)
            except ValidationFailed as exc:
                site.refresh_from_db()
                _api_errors(form, exc.field_errors)
            else:
                messages.success(request, "Site settings saved.")
                problem = publisher_problem(site)
                if problem:
                    messages.warning(request, f"Nothing can be published yet: {problem}")
                return redirect("web:site_settings", site_id=site.pk)
    return _settings_page(request, site, form)


def _settings_page(
    request: HttpRequest,
    site: Any,
    form: SiteSettingsForm,
    voice_form: BrandVoiceForm | None = None,
    **extra: Any,
) -> HttpResponse:
    voice = site_voice(site.pk)
    context = {
        "form": form,
        "voice": voice,
        "voice_form": voice_form or BrandVoiceForm(initial=voice.as_dict(every=True)),
        "problem": publisher_problem(site),
        **selectors.ai_check_panel(automation.ai_check_last(site.pk)),
        **extra,
    }
    return page(request, "web/site_settings.html", context, site=site, section="site")


@action
def brand_voice(request: HttpRequest, site_id: int) -> HttpResponse:
    """The brand voice panel of the site settings page: saved by the service the API's
    `PUT /api/v1/sites/{id}/voice/` uses (every field: a blank one clears its setting)."""
    site = site_for(request, site_id, write=True)
    form = BrandVoiceForm(request.POST)
    if form.is_valid():
        try:
            brand_voice_change(site=site, **form.cleaned_data)
        except ValidationFailed as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, "Brand voice saved.")
            return redirect("web:site_settings", site_id=site.pk)
    return _settings_page(request, site, SiteSettingsForm(None, site=site), voice_form=form)


@action
def publisher_check(request: HttpRequest, site_id: int) -> HttpResponse:
    """ "Test connection" of the publisher on the site settings page: ask the publisher now
    whether it can publish and show what it found (htmx: the panel alone; else the page).
    Nothing is stored."""
    site = site_for(request, site_id, write=True)
    check = run_publisher_check(site)
    if request.headers.get("HX-Request") == "true":
        context = {"site": site, "can_edit": True, "publisher_check": check}
        with timezone.override(site.timezone):
            return render(request, "web/partials/publisher_check.html", context)
    return _settings_page(request, site, SiteSettingsForm(None, site=site), publisher_check=check)


@action
def ai_check(request: HttpRequest, site_id: int) -> HttpResponse:
    """ "Test connection" on the site settings page: check the AI endpoint now, store the
    answer as the site's latest, and show it (htmx: the panel alone; else the page)."""
    site = site_for(request, site_id, write=True)
    document = ai_check_run(site_id=site.pk)
    if request.headers.get("HX-Request") == "true":
        context = {"site": site, "can_edit": True, **selectors.ai_check_panel(document)}
        with timezone.override(site.timezone):
            return render(request, "web/partials/ai_check.html", context)
    if document["ok"]:
        messages.success(request, "AI connection checked: runs can use this endpoint.")
    else:
        messages.error(request, "AI connection checked: runs would fail; see the problems.")
    return redirect("web:site_settings", site_id=site.pk)
