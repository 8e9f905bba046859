"""Publishing settings: toggles, mode, slots, stagger, days, targets; the queue and a preview
of the next slots that follows the form as it changes."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from inkline import clock
from inkline.core.errors import ValidationFailed
from inkline.publishing import selectors as publishing
from inkline.publishing import services
from inkline.publishing.services import publishing_settings_update, replacement_plan
from inkline.web import selectors
from inkline.web.access import (
    action,
    back,
    content_for,
    form_errors_from,
    page,
    require_editor,
    site_for,
)
from inkline.web.forms import PublishingSettingsForm
from inkline.web.preview import article_html
from inkline.writer.selectors import revisions_of


@login_required
def settings_page(request: HttpRequest, site_id: int) -> HttpResponse:
    site = site_for(request, site_id)
    current = publishing.settings_of(site)
    form = PublishingSettingsForm(request.POST or None, instance=current)
    if request.method == "POST":
        require_editor(request)
        if form.is_valid():
            moving = len(replacement_plan(site=site, settings=form.instance).moves)
            try:
                publishing_settings_update(site=site, data=form.cleaned_data)
            except ValidationFailed as exc:
                form_errors_from(form, exc)
            else:
                moved = (
                    f" {moving} scheduled article{'' if moving == 1 else 's'} moved to the new "
                    "slots."
                    if moving
                    else ""
                )
                messages.success(request, f"Publishing settings saved.{moved}")
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
        plan = replacement_plan(site=site, settings=form.instance)
        context["replacement"] = plan
        context["preview"] = selectors.preview_slots(site, form.instance, moves=plan.moves)
    else:
        context["problems"] = selectors.form_problems(form)
    return render(request, "web/partials/preview.html", context)


@login_required
def queue_week(request: HttpRequest, site_id: int) -> HttpResponse:
    """The publishing queue as a week's calendar in the site's time zone (`?week=`: any day
    of the week, YYYY-MM-DD; a bad one is a 400 naming it)."""
    site = site_for(request, site_id)
    raw = request.GET.get("week", "").strip()
    if raw:
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            return page(
                request,
                "web/queue_week.html",
                {"week_error": f"week: '{raw[:20]}' is not a date as YYYY-MM-DD."},
                site=site,
                section="publishing",
                status=400,
            )
    else:
        day = clock.now().astimezone(site.tz).date()
    context = selectors.queue_week(site, day)
    return page(request, "web/queue_week.html", context, site=site, section="publishing")


@login_required
def article(request: HttpRequest, content_id: int) -> HttpResponse:
    """One article as readers will see it, with where it stands in the queue."""
    content = content_for(request, content_id)
    context = {
        "content": content,
        "body": article_html(content.html, list(content.images.all())),
        # Its refreshes, newest first: the revision history (who approved what, when).
        "revisions": list(revisions_of(content_id=content.pk)),
    }
    return page(request, "web/article.html", context, site=content.site, section="publishing")


@action
def content_unschedule(request: HttpRequest, content_id: int) -> HttpResponse:
    content = services.content_unschedule(content=content_for(request, content_id))
    messages.success(request, f"“{content.title}” is out of the schedule, back in review.")
    return back(request, reverse("web:queue_week", args=[content.site_id]))
