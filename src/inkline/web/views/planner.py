"""Keywords (with the CSV import), clusters, ideas and tasks of a site."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.http import urlencode

from inkline.core.errors import ValidationFailed
from inkline.planner.models import Cluster, ContentIdea, Keyword
from inkline.planner.services import keywords_import_csv
from inkline.web.access import form_errors_from, page, require_editor, site_for
from inkline.web.forms import KeywordFilterForm, KeywordImportForm
from inkline.writer.models import WritingTask

PAGE_SIZE = 50


def _paged(request: HttpRequest, qs: QuerySet[Any]) -> Any:
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


@login_required
def keywords(request: HttpRequest, site_id: int) -> HttpResponse:
    site = site_for(request, site_id)
    upload = KeywordImportForm()
    report = None
    if request.method == "POST":
        require_editor(request)
        upload = KeywordImportForm(request.POST, request.FILES)
        if upload.is_valid():
            try:
                report = keywords_import_csv(site=site, data=upload.cleaned_data["file"].read())
            except ValidationFailed as exc:
                form_errors_from(upload, exc)
            else:
                messages.success(
                    request,
                    f"Imported {report.created} keywords; {report.duplicates} duplicates skipped"
                    + (f"; {len(report.errors)} lines had errors." if report.errors else "."),
                )
                upload = KeywordImportForm()

    clusters = list(Cluster.objects.filter(site=site).order_by("name").values_list("id", "name"))
    filters = KeywordFilterForm(request.GET or None, clusters=clusters)
    qs = Keyword.objects.filter(site=site).select_related("cluster").order_by("id")
    query = ""
    if filters.is_valid():
        if filters.cleaned_data["status"]:
            qs = qs.filter(status=filters.cleaned_data["status"])
        if filters.cleaned_data["cluster"] is not None:
            qs = qs.filter(cluster_id=filters.cleaned_data["cluster"])
        query = urlencode({k: v for k, v in filters.cleaned_data.items() if v not in ("", None)})
    context = {
        "upload": upload,
        "report": report,
        "filters": filters,
        "page_obj": _paged(request, qs),
        "query": f"{query}&" if query else "",
        "tab": "keywords",
    }
    return page(request, "web/keywords.html", context, site=site, section="planner")


@login_required
def clusters(request: HttpRequest, site_id: int) -> HttpResponse:
    site = site_for(request, site_id)
    qs = (
        Cluster.objects.filter(site=site)
        .annotate(
            n_keywords=Count("keywords", distinct=True), n_ideas=Count("ideas", distinct=True)
        )
        .order_by("id")
    )
    context = {"page_obj": _paged(request, qs), "tab": "clusters", "query": ""}
    return page(request, "web/clusters.html", context, site=site, section="planner")


@login_required
def ideas(request: HttpRequest, site_id: int) -> HttpResponse:
    site = site_for(request, site_id)
    qs = ContentIdea.objects.filter(site=site).select_related("cluster").order_by("id")
    context = {"page_obj": _paged(request, qs), "tab": "ideas", "query": ""}
    return page(request, "web/ideas.html", context, site=site, section="planner")


@login_required
def tasks(request: HttpRequest, site_id: int) -> HttpResponse:
    site = site_for(request, site_id)
    qs = WritingTask.objects.filter(site=site).select_related("cluster").order_by("id")
    context = {"page_obj": _paged(request, qs), "tab": "tasks", "query": ""}
    return page(request, "web/tasks.html", context, site=site, section="planner")
