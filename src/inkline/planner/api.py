"""Planner API: keyword import (and its jobs), keywords, clusters and ideas of a site."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.urls import URLPattern, path, reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inkline.accounts.scoping import SiteListView, account_id_of, site_for
from inkline.core.api import MAX_INT, PayloadTooLarge
from inkline.core.inputs import IdField, Input
from inkline.core.openapi import ERROR
from inkline.core.parsers import JSONParser
from inkline.planner import selectors, services
from inkline.planner.models import (
    Cluster,
    ContentIdea,
    ImportStatus,
    Intent,
    Keyword,
    KeywordImportJob,
)

MAX_JSON_ROWS = 50_000


# --- import -----------------------------------------------------------------------------------
class KeywordRow(serializers.Serializer[Any]):
    """One keyword of a JSON import (documentation: rows are checked one by one)."""

    keyword = serializers.CharField(max_length=255)
    volume = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=MAX_INT
    )
    difficulty = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=100
    )
    intent = serializers.ChoiceField(choices=Intent.choices, required=False, allow_blank=True)


class KeywordsJsonIn(Input):
    keywords = serializers.ListField(
        child=serializers.JSONField(), max_length=MAX_JSON_ROWS, allow_empty=True
    )


class KeywordsJsonDoc(serializers.Serializer[Any]):
    keywords = serializers.ListField(child=KeywordRow(), max_length=MAX_JSON_ROWS)


class KeywordsCsvIn(serializers.Serializer[Any]):
    file = serializers.FileField(
        help_text="CSV with a header row: `keyword` required; `volume`, `difficulty`, "
        "`intent` optional. UTF-8 (or UTF-16 with a BOM)."
    )


class ImportErrorOut(serializers.Serializer[Any]):
    line = serializers.IntegerField(help_text="CSV line (the header is line 1) or JSON position")
    error = serializers.CharField()


class ImportReportOut(serializers.Serializer[Any]):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    # The API's field name; it shadows Serializer.errors only on this read-only serializer.
    errors = ImportErrorOut(many=True)  # type: ignore[assignment]


class ImportJobCreatedOut(serializers.Serializer[Any]):
    job_id = serializers.UUIDField(help_text="Follow it at /api/v1/import-jobs/{job_id}/")


class ImportJobOut(serializers.Serializer[Any]):
    job_id = serializers.UUIDField(source="pk")
    site = serializers.IntegerField(source="site_id")
    status = serializers.ChoiceField(
        choices=ImportStatus.choices,
        help_text="queued → validating → writing → done, or failed (nothing imported)",
    )
    progress = serializers.IntegerField(min_value=0, max_value=100, help_text="percent")
    total_lines = serializers.IntegerField(help_text="lines after the header (JSON: rows)")
    created = serializers.IntegerField(source="created_count")
    duplicates = serializers.IntegerField(source="duplicate_count")
    errors = ImportErrorOut(many=True, help_text="the first 1,000 bad lines")  # type: ignore[assignment]
    errors_total = serializers.IntegerField(source="error_count")
    message = serializers.CharField(help_text="why the job failed, in words")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


def _max_bytes() -> int:
    return int(settings.INKLINE_IMPORT_MAX_BYTES)


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(f"Imports are limited to {_max_bytes() // (1024 * 1024)} MB.")


def _job_started(job: KeywordImportJob) -> Response:
    location = reverse("import-job", kwargs={"job_id": job.pk})
    return Response(
        ImportJobCreatedOut({"job_id": job.pk}).data, status=202, headers={"Location": location}
    )


class KeywordImportView(APIView):
    parser_classes = [JSONParser, MultiPartParser]

    @property
    def max_body_bytes(self) -> int:  # the JSON parser's limit (413), as for a CSV file
        return _max_bytes()

    @extend_schema(
        request={"multipart/form-data": KeywordsCsvIn, "application/json": KeywordsJsonDoc},
        responses={
            200: ImportReportOut,
            202: OpenApiResponse(
                response=ImportJobCreatedOut,
                description="More than INKLINE_IMPORT_SYNC_ROWS (5,000) lines: imported by a "
                "background job, followed at /api/v1/import-jobs/{job_id}/",
            ),
            413: OpenApiResponse(response=ERROR, description="The upload is too large"),
        },
        summary="Import keywords (CSV file or JSON rows)",
        description="All or nothing: every line is checked first, and when any line is bad "
        "nothing is imported (`created` 0) and each bad line is reported. Duplicates (in the "
        "input, with the site's keywords, or written meanwhile by a concurrent import) are "
        "skipped and counted, case- and whitespace-insensitively. Up to 5,000 lines the "
        "answer comes at once (200); a larger input becomes a background job (202).",
    )
    def post(self, request: Request, site_id: int) -> Response:
        site = site_for(request, site_id, write=True)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > _max_bytes():
            raise _too_large()
        sync_rows = int(settings.INKLINE_IMPORT_SYNC_ROWS)
        if request.content_type.startswith("multipart/"):
            upload = KeywordsCsvIn(data=request.data)
            upload.is_valid(raise_exception=True)
            file = upload.validated_data["file"]
            if file.size > _max_bytes():
                raise _too_large()
            info = services.csv_inspect(file.file)  # no keyword column: 400 at once
            if info.lines > sync_rows:
                job = services.import_job_create(
                    site=site, file=file.file, info=info, filename=file.name or ""
                )
                return _job_started(job)
            report = services.keywords_import_csv(site=site, data=file.read())
        else:
            body = KeywordsJsonIn(data=request.data)
            body.is_valid(raise_exception=True)
            rows = body.validated_data["keywords"]
            if len(rows) > sync_rows:
                return _job_started(services.import_job_create(site=site, rows=rows))
            report = services.keywords_import_rows(site=site, rows=rows)
        return Response(ImportReportOut(report.as_dict()).data)


class ImportJobView(APIView):
    @extend_schema(
        responses={200: ImportJobOut},
        summary="A keyword import job: status, progress, counts, bad lines",
        description="Jobs of the caller's account only (another account's: 404).",
    )
    def get(self, request: Request, job_id: uuid.UUID) -> Response:
        job = selectors.import_job_of_account(account_id=account_id_of(request), job_id=job_id)
        if job is None:
            raise exceptions.NotFound("No such import job.")
        return Response(ImportJobOut(job).data)


# --- lists ------------------------------------------------------------------------------------
class KeywordOut(serializers.ModelSerializer[Keyword]):
    keyword = serializers.CharField(source="phrase")
    intent = serializers.ChoiceField(choices=Intent.choices, allow_blank=True)
    cluster = serializers.IntegerField(source="cluster_id", allow_null=True)

    class Meta:
        model = Keyword
        fields = ["id", "keyword", "volume", "difficulty", "intent", "status", "cluster"]
        read_only_fields = fields


class KeywordFilter(Input):
    status = serializers.ChoiceField(choices=Keyword.Status.choices, required=False)
    cluster = IdField(source="cluster_id", required=False)


@extend_schema(parameters=[KeywordFilter], summary="A site's keywords")
class KeywordListView(SiteListView):
    model = Keyword
    serializer_class = KeywordOut
    filter_serializer_class = KeywordFilter


class ClusterOut(serializers.ModelSerializer[Cluster]):
    class Meta:
        model = Cluster
        fields = ["id", "name", "description", "status", "attempts", "last_error", "created_at"]
        read_only_fields = fields


class ClusterFilter(Input):
    status = serializers.ChoiceField(choices=Cluster.Status.choices, required=False)


@extend_schema(parameters=[ClusterFilter], summary="A site's keyword clusters")
class ClusterListView(SiteListView):
    model = Cluster
    serializer_class = ClusterOut
    filter_serializer_class = ClusterFilter


class IdeaOut(serializers.ModelSerializer[ContentIdea]):
    cluster = serializers.IntegerField(source="cluster_id")
    target_keywords = serializers.ListField(child=serializers.CharField())
    outline = serializers.ListField(child=serializers.JSONField())

    class Meta:
        model = ContentIdea
        fields = [
            "id",
            "cluster",
            "title",
            "primary_keyword",
            "target_keywords",
            "content_type",
            "content_structure",
            "outline",
            "status",
            "created_at",
        ]
        read_only_fields = fields


class IdeaFilter(Input):
    status = serializers.ChoiceField(choices=ContentIdea.Status.choices, required=False)
    cluster = IdField(source="cluster_id", required=False)


@extend_schema(parameters=[IdeaFilter], summary="A site's content ideas")
class IdeaListView(SiteListView):
    model = ContentIdea
    serializer_class = IdeaOut
    filter_serializer_class = IdeaFilter


urlpatterns: list[URLPattern] = [
    path(
        "sites/<id:site_id>/keywords/import/",
        KeywordImportView.as_view(),
        name="keyword-import",
    ),
    path("import-jobs/<uuid:job_id>/", ImportJobView.as_view(), name="import-job"),
    path("sites/<id:site_id>/keywords/", KeywordListView.as_view(), name="keyword-list"),
    path("sites/<id:site_id>/clusters/", ClusterListView.as_view(), name="cluster-list"),
    path("sites/<id:site_id>/ideas/", IdeaListView.as_view(), name="idea-list"),
]
