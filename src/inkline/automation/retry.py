"""Failed pipeline items: list them, and retry them (reset their attempts).

An item whose AI call failed keeps `attempts` and `last_error` on its row; after
INKLINE_ITEM_MAX_ATTEMPTS failures it leaves the pending set. Retrying resets both, so the next
run takes it again. The same reset is the admin's "Retry" action.

    GET  /api/v1/sites/{site_id}/automation/failed/?stage=n   failed items (paginated)
    POST /api/v1/sites/{site_id}/automation/retry/  {"stage": n, "ids": [...]}   → {"retried": n}
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.urls import URLPattern, path
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inkline.accounts.models import Site
from inkline.accounts.scoping import site_for
from inkline.accounts.services import site_pipeline_changed
from inkline.automation.events import event_record
from inkline.automation.stages import RETRYABLE_STAGES, STAGE_CLASSES
from inkline.core.inputs import IdField, Input
from inkline.writer.models import Image


# --- selector ---------------------------------------------------------------------------------
def failed_items(*, site_id: int, stage: int) -> QuerySet[Any]:
    """Items of `stage` not done that failed at least once, oldest first."""
    if stage not in RETRYABLE_STAGES:
        raise ValueError(f"stage {stage} has no retryable items")
    return STAGE_CLASSES[stage].failed(site_id)


# --- service ----------------------------------------------------------------------------------
def items_retry(*, site: Site, stage: int, ids: list[int] | None = None) -> int:
    """Reset attempts and last error of the site's failed items of `stage` (all of them, or
    those among `ids`), so the next run takes them again. Returns how many were reset."""
    qs = failed_items(site_id=site.pk, stage=stage)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    retried = qs.update(attempts=0, last_error="")
    if retried:
        site_pipeline_changed(site_id=site.pk)
        event_record(
            site_id=site.pk,
            stage=stage,
            code="items_retried",
            message=f"{retried} failed item(s) of stage {stage} ({STAGE_CLASSES[stage].name}) "
            "will be retried by the next run.",
        )
    return retried


# --- API --------------------------------------------------------------------------------------
MAX_RETRY_IDS = 10_000


class RetryIn(Input):
    stage = serializers.ChoiceField(choices=RETRYABLE_STAGES, help_text="Pipeline stage, 1–6")
    ids = serializers.ListField(
        child=IdField(),
        required=False,
        allow_empty=False,
        min_length=1,
        max_length=MAX_RETRY_IDS,
        help_text="Only these items (ids of the stage's objects); all failed items if omitted",
    )


class RetryOut(serializers.Serializer[Any]):
    stage = serializers.IntegerField()
    retried = serializers.IntegerField(help_text="Items reset; the next run takes them again")


class FailedItemOut(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.SerializerMethodField(help_text="The item in words")
    attempts = serializers.IntegerField()
    last_error = serializers.CharField()
    retryable = serializers.SerializerMethodField(
        help_text="False once it failed too often: it waits for a retry to be pending again"
    )

    def get_name(self, obj: Any) -> str:
        if isinstance(obj, Image):
            return f"{obj.kind} image of content {obj.content_id}"
        return str(obj)

    def get_retryable(self, obj: Any) -> bool:
        return bool(obj.attempts < settings.INKLINE_ITEM_MAX_ATTEMPTS)


class StageQuery(Input):
    stage = serializers.ChoiceField(choices=RETRYABLE_STAGES, help_text="Pipeline stage, 1–6")


class FailedItemsView(generics.ListAPIView):
    serializer_class = FailedItemOut

    def get_queryset(self) -> QuerySet[Any]:
        site = site_for(self.request, self.kwargs["site_id"])
        query = StageQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return failed_items(site_id=site.pk, stage=query.validated_data["stage"])

    @extend_schema(
        summary="A stage's failed items (attempts and last error), oldest first",
        parameters=[StageQuery],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class RetryView(APIView):
    @extend_schema(
        request=RetryIn,
        responses={200: RetryOut},
        summary="Retry a stage's failed items: reset their attempts for the next run",
    )
    def post(self, request: Request, site_id: int) -> Response:
        site = site_for(request, site_id, write=True)
        data = RetryIn(data=request.data)
        data.is_valid(raise_exception=True)
        stage = data.validated_data["stage"]
        retried = items_retry(site=site, stage=stage, ids=data.validated_data.get("ids"))
        return Response(RetryOut({"stage": stage, "retried": retried}).data)


urlpatterns: list[URLPattern] = [
    path("sites/<id:site_id>/automation/failed/", FailedItemsView.as_view()),
    path("sites/<id:site_id>/automation/retry/", RetryView.as_view()),
]
