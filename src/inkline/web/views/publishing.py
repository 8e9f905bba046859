"""Publishing settings: toggles, mode, slots, stagger, days, targets; the queue and a preview
of the next slots that follows the form as it changes."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from inkline.core.errors import ValidationFailed
from inkline.publishing import selectors as publishing
from inkline.publishing.services import publishing_settings_update
from inkline.web import selectors
from inkline.web.access import form_errors_from, page, require_editor, site_for
from inkline.web.forms import PublishingSettingsForm


@login_required
def settings_page(request: HttpRequest, site_id: int) -> HttpResponse:
    site = site_for(request, site_id)
    current = publishing.settings_of(site)
    form = PublishingSettingsForm(request.POST or None, instance=current)
    if request.method == "POST":
        require_editor(request)
        if form.is_valid():
            try:
                publishing_settings_update(site=site, data=form.cleaned_data)
            except ValidationFailed as exc:
                form_errors_from(form, exc)
            else:
                messages.success(request, "Publishing settings saved.")
                return redirect("web:publishing_settings", site_id=site.pk)
    context = {"form": form, **selectors.publishing_page(site, current, form=form)}
    return page(request, "web/publishing_settings.html", context, site=site, section="publishing")


@login_required
def preview(request: HttpRequest, site_id: int) -> HttpResponse:
    """The next slots under the settings as they stand in the form (nothing is saved)."""
    site = site_for(request, site_id)
    form = PublishingSettingsForm(request.GET, instance=publishing.settings_of(site))
    context: dict[str, object] = {"site": site, "tz_name": site.timezone, "form": form}
    context["form_ok"] = form.is_valid()
    if context["form_ok"]:
        context["preview"] = selectors.preview_slots(site, form.instance)
    else:
        context["problems"] = selectors.form_problems(form)
    return render(request, "web/partials/preview.html", context)
