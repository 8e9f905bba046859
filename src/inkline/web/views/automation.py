"""Automation: the dashboard with live progress, run controls, run detail, settings."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from inkline.accounts.models import Site
from inkline.automation import services
from inkline.automation.events import run_log_path
from inkline.automation.models import AutomationConfig, AutomationRun
from inkline.automation.selectors import site_config
from inkline.web import selectors
from inkline.web.access import action, back, membership_of, page, require_editor, site_for
from inkline.web.forms import AutomationConfigForm


def _run_for(request: HttpRequest, run_id: str) -> AutomationRun:
    run = (
        AutomationRun.objects.filter(run_id=run_id, account_id=membership_of(request).account_id)
        .select_related("site")
        .first()
    )
    if run is None:
        raise Http404("No such run.")
    return run


# Stands for the form token in a rendered live part shared by requests; each response gets
# its own (`get_token`), so the shared HTML never carries a user's token.
_TOKEN_SLOT = "inkline-csrf-token-slot"


def _live(request: HttpRequest, site: Site, config: AutomationConfig | None) -> str:
    """The dashboard's live part (the run panel, stage cards and recent runs), polled every
    second or ten while the page is open. Its HTML is reused by this process for up to
    INKLINE_PIPELINE_CACHE_SECONDS while nothing it shows has changed (`live_key`: the
    site's pipeline version, raised by imports, review decisions, retries and settings
    changes, and its newest run's state), so a polled page costs one read of the newest run
    instead of the counts, estimates, runs and template."""
    can_edit = membership_of(request).can_edit
    ttl = settings.INKLINE_PIPELINE_CACHE_SECONDS
    key = f"web:live:{can_edit:d}:{selectors.live_key(site)}" if ttl > 0 else ""
    html = cache.get(key) if key else None
    if html is None:
        context = {
            **selectors.dashboard_live(site, config=config),
            "site": site,
            "can_edit": can_edit,
            "csrf_token": _TOKEN_SLOT,
        }
        with timezone.override(site.timezone):
            html = render_to_string("web/partials/live.html", context)
        if key:
            cache.set(key, html, ttl)
    return str(html).replace(_TOKEN_SLOT, get_token(request))


@login_required
def dashboard(request: HttpRequest, site_id: int) -> HttpResponse:
    site = site_for(request, site_id)
    config = site_config(site.pk)
    context = {
        "config": config,
        "live": mark_safe(_live(request, site, config)),  # noqa: S308
        "stage_help": selectors.stage_help(),
    }
    return page(request, "web/dashboard.html", context, site=site, section="dashboard")


@login_required
def dashboard_live(request: HttpRequest, site_id: int) -> HttpResponse:
    """The live part of the dashboard (stage cards and the active run), polled by htmx."""
    site = site_for(request, site_id)
    return HttpResponse(_live(request, site, None))  # None: the config is read on a miss


@action
def run_start(request: HttpRequest, site_id: int) -> HttpResponse:
    site = site_for(request, site_id, write=True)
    run = services.run_start(site=site, by=request.user.get_username())
    messages.success(request, f"Run {run.run_id} started.", extra_tags=_run_tags(run, "active"))
    return redirect("web:dashboard", site_id=site.pk)


def _control(request: HttpRequest, run_id: str, verb: str) -> HttpResponse:
    run = _run_for(request, run_id)
    by = request.user.get_username()
    if verb == "pause":
        run = services.run_pause(run=run, by=by)
    elif verb == "resume":
        run = services.run_resume(run=run, by=by)
    else:
        run = services.run_cancel(run=run, by=by)
    state, holds_while = run.get_status_display().lower(), run.status
    if run.settling:  # the calls in flight finish first: say so, until they have
        state = "cancelling" if verb == "cancel" else "pausing"
        state, holds_while = (
            f"{state}: the AI calls in flight finish and are recorded first",
            "settling",
        )
    # A banner saying a run is in a state goes once the page shows the state is over; "is
    # cancelled" stays true.
    tags = "" if holds_while == "cancelled" else _run_tags(run, holds_while)
    messages.success(request, f"Run {run.run_id} is {state}.", extra_tags=tags)
    return back(request, reverse("web:dashboard", args=[run.site_id]))


def _run_tags(run: AutomationRun, holds_while: str) -> str:
    """The classes of a banner about `run` that holds while the run is in a state ("active",
    "running", "paused" or "settling"), removed by the page once it is not (web/runs.js)."""
    return f"run-msg run-{run.run_id} while-{holds_while}"


@action
def run_pause(request: HttpRequest, run_id: str) -> HttpResponse:
    return _control(request, run_id, "pause")


@action
def run_resume(request: HttpRequest, run_id: str) -> HttpResponse:
    return _control(request, run_id, "resume")


@action
def run_cancel(request: HttpRequest, run_id: str) -> HttpResponse:
    return _control(request, run_id, "cancel")


@login_required
def run_detail(request: HttpRequest, run_id: str) -> HttpResponse:
    run = _run_for(request, run_id)
    context = selectors.run_detail(run)
    return page(request, "web/run_detail.html", context, site=run.site, section="dashboard")


@login_required
def run_detail_live(request: HttpRequest, run_id: str) -> HttpResponse:
    """The live part of a run's page (state, figures, stages, timeline), polled by htmx
    while the run is active or settling."""
    run = _run_for(request, run_id)
    context = {
        **selectors.run_detail(run),
        "site": run.site,
        "can_edit": membership_of(request).can_edit,
    }
    with timezone.override(run.site.timezone):
        return HttpResponse(render_to_string("web/partials/run_live.html", context, request))


@login_required
def run_log(request: HttpRequest, run_id: str) -> HttpResponseBase:
    run = _run_for(request, run_id)
    path = run_log_path(run.run_id)
    if not path.is_file():
        raise Http404("This run has no log file yet.")
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=f"{run.run_id}.log", content_type="text/plain"
    )


@login_required
def automation_settings(request: HttpRequest, site_id: int) -> HttpResponse:
    site = site_for(request, site_id)
    config = services.config_for(site)
    form = AutomationConfigForm(request.POST or None, instance=config)
    if request.method == "POST":
        require_editor(request)
        if form.is_valid():
            services.config_update(site=site, data=form.cleaned_data)
            messages.success(request, "Automation settings saved.")
            return redirect("web:automation_settings", site_id=site.pk)
    context = selectors.automation_settings(site, form)
    return page(request, "web/automation_settings.html", context, site=site, section="automation")
