"""Keywords (with the CSV import and its background jobs), clusters, ideas and tasks of a
site."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, F, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from inkline.core.errors import ValidationFailed
from inkline.planner.models import Cluster, ContentIdea, Keyword, normalize_phrase
from inkline.planner.selectors import import_job_shown
from inkline.planner.services import (
    csv_inspect,
    import_job_create,
    keywords_import_csv,
)
from inkline.web.access import form_errors_from, page, require_editor, site_for
from inkline.web.forms import KeywordFilterForm, KeywordImportForm
from inkline.writer.models import WritingTask

PAGE_SIZE = 50
# The keyword list's orders (`KeywordFilterForm.sort`): newest import first by default.
KEYWORD_ORDERS: dict[str, tuple[Any, ...]] = {
    "newest": ("-id",),
    "volume": (F("volume").desc(nulls_last=True), "-id"),
    "difficulty": (F("difficulty").asc(nulls_last=True), "-id"),
    "status": ("status", "-id"),
    "keyword": ("normalized", "id"),
}


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
            file = upload.cleaned_data["file"]
            try:
                info = csv_inspect(file.file)
                if info.lines > settings.INKLINE_IMPORT_SYNC_ROWS:
                    job = import_job_create(
                        site=site, file=file.file, info=info, filename=file.name or ""
                    )
                    messages.info(
                        request,
                        f"Importing {job.total_lines:,} lines in the background: every line "
                        "is checked first, then all keywords are written at once (or none).",
                    )
                    target = reverse("web:keywords", kwargs={"site_id": site.pk})
                    return redirect(f"{target}?{urlencode({'job': str(job.pk)})}")
                report = keywords_import_csv(site=site, data=file.read())
            except ValidationFailed as exc:
                form_errors_from(upload, exc)
            else:
                if report.errors:
                    bad = len(report.errors)
                    messages.error(
                        request,
                        f"Nothing imported: {bad} line{'' if bad == 1 else 's'} "
                        f"{'has' if bad == 1 else 'have'} errors. Fix "
                        f"{'it' if bad == 1 else 'them'} and import the file again.",
                    )
                else:
                    created, dupes = report.created, report.duplicates
                    messages.success(
                        request,
                        f"Imported {created} keyword{'' if created == 1 else 's'}; "
                        f"{dupes} duplicate{'' if dupes == 1 else 's'} skipped.",
                    )
                upload = KeywordImportForm()

    clusters = list(Cluster.objects.filter(site=site).order_by("name").values_list("id", "name"))
    filters = KeywordFilterForm(request.GET or None, clusters=clusters)
    qs = Keyword.objects.filter(site=site).select_related("cluster")
    query = ""
    order = KEYWORD_ORDERS["newest"]
    if filters.is_valid():
        data = filters.cleaned_data
        if data["status"]:
            qs = qs.filter(status=data["status"])
        if data["cluster"] is not None:
            qs = qs.filter(cluster_id=data["cluster"])
        if data["q"]:
            qs = qs.filter(normalized__contains=normalize_phrase(data["q"]))
        order = KEYWORD_ORDERS[data["sort"] or "newest"]
        query = urlencode({k: v for k, v in data.items() if v not in ("", None)})
    qs = qs.order_by(*order)
    context = {
        "upload": upload,
        "report": report,
        "job": None if report else import_job_shown(site_id=site.pk, job_id=_uuid(request)),
        "sync_rows": settings.INKLINE_IMPORT_SYNC_ROWS,
        "filters": filters,
        "page_obj": _paged(request, qs),
        "query": f"{query}&" if query else "",
        "tab": "keywords",
    }
    return page(request, "web/keywords.html", context, site=site, section="planner")


def _uuid(request: HttpRequest) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.GET.get("job") or "")
    except ValueError:
        return None


@login_required
@require_GET
def import_job(request: HttpRequest, site_id: int, job_id: uuid.UUID) -> HttpResponse:
    """A keyword import job's panel, polled by htmx every second while the job runs."""
    site = site_for(request, site_id)
    job = import_job_shown(site_id=site.pk, job_id=job_id)
    if job is None:
        raise Http404("No such import.")
    return render(request, "web/partials/import_job.html", {"site": site, "job": job})


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
