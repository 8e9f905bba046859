"""Refreshing published articles in the UI: ask for refreshes (the review page, an article's
page), review a revision beside the live article with its diff, approve (the article is
updated in place), reject, retry."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse

from inkline import clock
from inkline.automation.refresh import refresh_request, revision_retry_wake
from inkline.publishing.refresh import revision_approve_push
from inkline.web.access import action, back, content_for, membership_of, page, site_for
from inkline.web.forms import RefreshForm, RejectForm
from inkline.web.selectors import diff_of
from inkline.writer import services as writer
from inkline.writer.models import ContentRevision


def _revision_for(request: HttpRequest, revision_id: int) -> ContentRevision:
    revision = (
        ContentRevision.objects.select_related("content", "site")
        .filter(pk=revision_id, site__account_id=membership_of(request).account_id)
        .first()
    )
    if revision is None:
        raise Http404("No such refresh.")
    return revision


@login_required
def revision(request: HttpRequest, revision_id: int) -> HttpResponse:
    """One refresh beside the live article: its diff, its figures, and the decision."""
    found = _revision_for(request, revision_id)
    context = {"revision": found, "diff": diff_of(found), "reject_form": RejectForm()}
    return page(request, "web/revision.html", context, site=found.site, section="review")


@action
def site_refresh(request: HttpRequest, site_id: int) -> HttpResponse:
    site = site_for(request, site_id, write=True)
    form = RefreshForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, f"Nothing refreshed: {errors}")
        return back(request, reverse("web:review", args=[site.pk]))
    made = refresh_request(
        site=site,
        by=request.user.get_username(),
        older_than_days=form.cleaned_data.get("older_than_days") or 0,
        seo_below=form.cleaned_data.get("seo_below") or 0,
        limit=form.cleaned_data.get("limit") or 0,
    )
    messages.success(
        request,
        f"{len(made)} published article(s) are being refreshed; each appears here for review."
        if made
        else "No published article matches (or each has a refresh open already).",
    )
    return back(request, reverse("web:review", args=[site.pk]))


@action
def content_refresh(request: HttpRequest, content_id: int) -> HttpResponse:
    content = content_for(request, content_id)
    made = refresh_request(site=content.site, by=request.user.get_username(), ids=[content.pk])
    if made:
        messages.success(request, f"“{content.title}” is being refreshed; review it when written.")
    else:
        messages.error(request, "Only a published article without a refresh open is refreshed.")
    return back(request, reverse("web:article", args=[content.pk]))


@action
def revision_approve(request: HttpRequest, revision_id: int) -> HttpResponse:
    found = revision_approve_push(
        revision=_revision_for(request, revision_id), by=request.user.get_username()
    )
    messages.success(
        request, f"Approved refresh {found.number} of “{found.content.title}”: updating it."
    )
    return back(request, reverse("web:review", args=[found.site_id]))


@action
def revision_reject(request: HttpRequest, revision_id: int) -> HttpResponse:
    found = _revision_for(request, revision_id)
    form = RejectForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    writer.revision_reject(
        revision=found, by=request.user.get_username(), now=clock.now(), reason=reason
    )
    messages.success(request, f"Rejected refresh {found.number} of “{found.content.title}”.")
    return back(request, reverse("web:review", args=[found.site_id]))


@action
def revision_retry(request: HttpRequest, revision_id: int) -> HttpResponse:
    found = revision_retry_wake(revision=_revision_for(request, revision_id))
    messages.success(request, f"Refresh {found.number} of “{found.content.title}” is retried.")
    return back(request, reverse("web:article", args=[found.content_id]))
