"""The review queue: articles in review with a rendered preview; approve or reject."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from inkline.core.errors import ValidationFailed
from inkline.publishing import services
from inkline.publishing.selectors import settings_of
from inkline.web.access import (
    action,
    back,
    content_for,
    form_errors_from,
    page,
    site_for,
)
from inkline.web.forms import RefreshForm, RejectForm, SeoSettingsForm
from inkline.web.preview import article_html
from inkline.web.selectors import revisions_in_review
from inkline.writer import quality
from inkline.writer.models import Content, Image

REVIEW_PAGE = 5
APPROVED_SHOWN = 100


@login_required
def review(request: HttpRequest, site_id: int) -> HttpResponse:
    """The queue; a POST (owners and editors) sets the site's SEO settings: the approval
    threshold and the minimum words per article."""
    site = site_for(request, site_id, write=request.method == "POST")
    threshold = quality.seo_threshold(site_id=site.pk)
    threshold_form = SeoSettingsForm(
        request.POST or None,
        initial={
            "approval_threshold": threshold,
            "min_words": quality.site_min_words(site_id=site.pk),
        },
    )
    if request.method == "POST" and threshold_form.is_valid():
        try:
            quality.seo_settings_update(
                site=site,
                approval_threshold=threshold_form.cleaned_data["approval_threshold"],
                min_words=threshold_form.cleaned_data.get("min_words"),
            )
        except ValidationFailed as exc:
            form_errors_from(threshold_form, exc)
        else:
            messages.success(request, "SEO settings saved.")
            return redirect("web:review", site_id=site.pk)
    in_review = (
        Content.objects.filter(site=site, status=Content.Status.REVIEW)
        .prefetch_related(Prefetch("images", queryset=Image.objects.order_by("kind", "position")))
        .order_by("id")
    )
    page_obj = Paginator(in_review, REVIEW_PAGE).get_page(request.GET.get("page"))
    articles = [(c, article_html(c.html, list(c.images.all()))) for c in page_obj]
    approved = list(
        Content.objects.filter(site=site, status=Content.Status.APPROVED).order_by(
            F("scheduled_publish_at").asc(nulls_last=True), "id"
        )[:APPROVED_SHOWN]
    )
    context = {
        "page_obj": page_obj,
        "articles": articles,
        "approved": approved,
        "reject_form": RejectForm(),
        "threshold_form": threshold_form,
        "threshold": threshold,
        "auto_approval": settings_of(site).auto_approval_enabled,
        "query": "",
        "revisions": revisions_in_review(site.pk),
        "refresh_form": RefreshForm(),
    }
    return page(request, "web/review.html", context, site=site, section="review")


@action
def content_approve(request: HttpRequest, content_id: int) -> HttpResponse:
    content = services.content_approve(
        content=content_for(request, content_id), by=request.user.get_username()
    )
    messages.success(request, f"Approved “{content.title}”; it will be scheduled into a slot.")
    return back(request, reverse("web:review", args=[content.site_id]))


@action
def content_reject(request: HttpRequest, content_id: int) -> HttpResponse:
    content = content_for(request, content_id)
    form = RejectForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    content = services.content_reject(
        content=content, by=request.user.get_username(), reason=reason
    )
    messages.success(request, f"Rejected “{content.title}”.")
    return back(request, reverse("web:review", args=[content.site_id]))
