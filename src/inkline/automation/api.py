"""Automation API: input serializer → one service → output serializer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inkline.accounts.api import SiteIn, SiteOut
from inkline.accounts.models import Site
from inkline.accounts.scoping import (
    AccountListView,
    account_id_of,
    membership_of,
    require_editor,
    require_owner,
    site_for,
)
from inkline.ai.types import STRUCTURED_MODES
from inkline.automation import refresh, selectors, services, sites
from inkline.automation.models import AutomationConfig, AutomationRun, RunEvent
from inkline.automation.stages import STAGE_CLASSES, STAGE_LIMIT_FIELDS
from inkline.billing import budget
from inkline.billing import selectors as billing_selectors
from inkline.billing import services as billing_services
from inkline.billing.api import AIBudgetIn, AIBudgetOut
from inkline.billing.models import SiteAIBudgetAllocation
from inkline.core.api import MAX_INT
from inkline.core.errors import Conflict, NotFound
from inkline.core.inputs import IdField, Input, StrictInputMixin, UniqueListField
from inkline.core.openapi import ERROR
from inkline.writer.api import (
    RevisionDetailOut,
    RevisionOut,
    content_of,
    revision_answer,
    revision_of,
)
from inkline.writer.models import ContentRevision


# --- output -----------------------------------------------------------------------------------
class RunSerializer(serializers.ModelSerializer[AutomationRun]):
    site = serializers.IntegerField(source="site_id", read_only=True)
    items_remaining = serializers.SerializerMethodField()
    settling = serializers.BooleanField(
        read_only=True,
        help_text="True while a paused or cancelled run's worker still finishes the AI calls "
        "that were in flight, recording their items and credits (shown as Pausing… or "
        "Cancelling…); the run's figures are final once it is false",
    )
    estimated_seconds_remaining = serializers.SerializerMethodField(
        help_text="About how long a running run has left, at its own pace (its items weighed "
        "by the time each stage takes); null when it is not running or has measured nothing"
    )
    outcome = serializers.CharField(
        read_only=True,
        help_text='The status, with "completed_with_failures" for a completed run in which '
        'items failed (then "completed" means a clean run)',
    )

    class Meta:
        model = AutomationRun
        fields = [
            "run_id",
            "site",
            "status",
            "settling",
            "outcome",
            "trigger_type",
            "current_stage",
            "queued_at",
            "started_at",
            "paused_at",
            "resumed_at",
            "cancelled_at",
            "completed_at",
            "failed_at",
            "initial_snapshot",
            "stage_results",
            "progress_percent",
            "estimated_seconds_remaining",
            "items_remaining",
            "total_credits_used",
            "recoveries",
            "stopped_reason",
            "error_message",
        ]
        read_only_fields = fields

    def get_estimated_seconds_remaining(self, run: AutomationRun) -> int | None:
        return selectors.seconds_remaining(run)

    def get_items_remaining(self, run: AutomationRun) -> dict[str, int]:
        cache = self.context.setdefault("items_remaining", {})  # one count per site per answer
        if run.site_id not in cache:
            cache[run.site_id] = selectors.items_remaining(run.site_id)
        return dict(cache[run.site_id])


class ErrorOut(serializers.Serializer[Any]):
    detail = serializers.CharField()
    code = serializers.CharField()


class RunActiveOut(ErrorOut):
    run_id = serializers.CharField(help_text="The site's active run")


class InvalidTransitionOut(ErrorOut):
    run_id = serializers.CharField()
    status = serializers.CharField(help_text="The run's status, which forbids the transition")


class EventOut(serializers.ModelSerializer[RunEvent]):
    class Meta:
        model = RunEvent
        fields = ["at", "stage", "level", "code", "message"]
        read_only_fields = fields


class SiteEventOut(EventOut):
    run_id = serializers.CharField(source="run.run_id", allow_null=True, default=None)

    class Meta(EventOut.Meta):
        fields = ["at", "run_id", "stage", "level", "code", "message"]
        read_only_fields = fields


class StageOut(serializers.Serializer[Any]):
    stage = serializers.IntegerField()
    name = serializers.CharField()
    enabled = serializers.BooleanField()
    pending = serializers.IntegerField(help_text="Exactly the database count")
    limit = serializers.IntegerField(help_text="Per-run limit, 0 = unlimited")
    runs_needed = serializers.IntegerField(
        allow_null=True,
        help_text="Runs to clear what is pending, counting the item limit and the operation's "
        "share of the run cap; null when no run can (e.g. a 0% share)",
    )
    estimated_credits = serializers.IntegerField(
        help_text="Credits the next run would spend here under the current limits and costs"
    )
    estimated_credits_all = serializers.IntegerField(
        help_text="Credits to process everything pending at the current costs"
    )
    operation = serializers.CharField(allow_null=True, help_text="The AI operation billed")
    budget = serializers.IntegerField(
        allow_null=True, help_text="The operation's share of one run's cap; null when uncapped"
    )
    affordable_items = serializers.IntegerField(
        allow_null=True, help_text="Items that share pays for; null when unlimited"
    )


class LastRunOut(serializers.Serializer[Any]):
    run_id = serializers.CharField()
    status = serializers.CharField()
    stopped_reason = serializers.CharField(
        help_text="Why it ended or stopped (a failed run names its AI endpoint and the error)"
    )


class PipelineOut(serializers.Serializer[Any]):
    stages = StageOut(many=True)
    active_run = serializers.CharField(allow_null=True)
    last_run = LastRunOut(allow_null=True, help_text="The site's newest run, or null")


# --- config -----------------------------------------------------------------------------------
REFRESH_FIELDS = (
    "refresh_enabled",
    "refresh_older_than_days",
    "refresh_below_threshold",
    "refresh_max_per_run",
)


class ConfigSerializer(StrictInputMixin, serializers.ModelSerializer[AutomationConfig]):
    scheduled_time = serializers.TimeField(
        format="%H:%M", input_formats=["%H:%M"], help_text="Local time in the site's timezone"
    )
    day_of_week = serializers.IntegerField(min_value=0, max_value=6, help_text="0 = Monday")
    day_of_month = serializers.IntegerField(min_value=1, max_value=28)

    class Meta:
        model = AutomationConfig
        fields = [
            "is_enabled",
            "frequency",
            "scheduled_time",
            "day_of_week",
            "day_of_month",
            *(s.enabled_field for s in STAGE_CLASSES.values()),
            *STAGE_LIMIT_FIELDS.values(),
            "max_credits_per_run",
            *REFRESH_FIELDS,
            "next_run_at",
        ]
        read_only_fields = ["next_run_at"]
        # The columns are 32-bit on PostgreSQL: a bigger number is bad input, not a crash.
        extra_kwargs = {
            field: {"min_value": 0, "max_value": MAX_INT}
            for field in (
                *STAGE_LIMIT_FIELDS.values(),
                "max_credits_per_run",
                "refresh_max_per_run",
            )
        } | {"refresh_older_than_days": {"min_value": 0, "max_value": ContentRevision.MAX_AGE_DAYS}}


class ConfigView(APIView):
    @extend_schema(responses={200: ConfigSerializer}, summary="A site's automation settings")
    def get(self, request: Request, site_id: int) -> Response:
        site = site_for(request, site_id)
        return Response(ConfigSerializer(services.config_for(site)).data)

    @extend_schema(
        request=ConfigSerializer,
        responses={200: ConfigSerializer},
        summary="Change a site's automation settings",
        description="Partial update. `next_run_at` (UTC) is recomputed from the schedule in "
        "the site's timezone; enabling the schedule clears its failure streak.",
    )
    def patch(self, request: Request, site_id: int) -> Response:
        site = site_for(request, site_id, write=True)
        data = ConfigSerializer(services.config_for(site), data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        config = services.config_update(site=site, data=data.validated_data)
        return Response(ConfigSerializer(config).data)


class PipelineView(APIView):
    @extend_schema(responses={200: PipelineOut}, summary="Pending items per stage")
    def get(self, request: Request, site_id: int) -> Response:
        site = site_for(request, site_id, related=("automation_config", "ai_budget_allocation"))
        summary = selectors.pipeline_summary(
            site.pk,
            config=getattr(site, "automation_config", None),  # None: read it again
            # No row: the defaults, as `billing.selectors.site_allocation` gives them.
            allocation=getattr(site, "ai_budget_allocation", None)
            or SiteAIBudgetAllocation(site_id=site.pk),
            version=site.pipeline_version,
        )
        return Response(PipelineOut(summary).data)


# --- runs -------------------------------------------------------------------------------------
class SiteRunsView(generics.ListAPIView[AutomationRun]):
    serializer_class = RunSerializer

    def get_queryset(self) -> QuerySet[AutomationRun]:
        site = site_for(self.request, self.kwargs["site_id"])
        return AutomationRun.objects.filter(site=site).order_by("-queued_at", "-id")

    @extend_schema(summary="A site's runs, newest first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=None,
        responses={
            201: RunSerializer,
            409: OpenApiResponse(RunActiveOut, description="The site already has an active run"),
        },
        summary="Start a manual run",
    )
    def post(self, request: Request, site_id: int) -> Response:
        site = site_for(request, site_id, write=True)
        run = services.run_start(site=site, by=request.user.get_username())
        return Response(RunSerializer(run).data, status=status.HTTP_201_CREATED)


def run_for(request: Request, run_id: str) -> AutomationRun:
    """The caller's run `run_id`, or 404 (another account's run is never revealed)."""
    run = AutomationRun.objects.filter(run_id=run_id, account_id=account_id_of(request)).first()
    if run is None:
        raise NotFound("No such run.")
    return run


class RunDetailView(APIView):
    @extend_schema(responses={200: RunSerializer}, summary="A run")
    def get(self, request: Request, run_id: str) -> Response:
        return Response(RunSerializer(run_for(request, run_id)).data)


class _RunActionView(APIView):
    action_name = ""

    def post(self, request: Request, run_id: str) -> Response:
        run = run_for(request, run_id)
        require_editor(request)
        action = getattr(services, f"run_{self.action_name}")
        run = action(run=run, by=request.user.get_username())
        return Response(RunSerializer(run).data)


def _action_schema(verb: str, when: str) -> Any:
    return extend_schema(
        request=None,
        responses={
            200: RunSerializer,
            409: OpenApiResponse(InvalidTransitionOut, description=f"Not allowed: {when}"),
        },
        summary=f"{verb.capitalize()} a run",
    )


class RunPauseView(_RunActionView):
    action_name = "pause"

    @_action_schema("pause", "the run is not queued or running")
    def post(self, request: Request, run_id: str) -> Response:
        return super().post(request, run_id)


class RunResumeView(_RunActionView):
    action_name = "resume"

    @_action_schema("resume", "the run is not paused")
    def post(self, request: Request, run_id: str) -> Response:
        return super().post(request, run_id)


class RunCancelView(_RunActionView):
    action_name = "cancel"

    @_action_schema("cancel", "the run has already ended")
    def post(self, request: Request, run_id: str) -> Response:
        return super().post(request, run_id)


# --- refreshing published articles ------------------------------------------------------------
class RefreshIn(Input):
    older_than_days = serializers.IntegerField(
        min_value=0,
        max_value=ContentRevision.MAX_AGE_DAYS,
        required=False,
        help_text="Refresh articles last published or refreshed more than this many days ago",
    )
    seo_below = serializers.IntegerField(
        min_value=0,
        max_value=100,
        required=False,
        help_text="Refresh articles whose SEO score is below this (0–100)",
    )
    ids = UniqueListField(
        child=IdField(),
        required=False,
        max_length=refresh.MAX_IDS,
        help_text="Refresh these published articles of the site",
    )
    limit = serializers.IntegerField(
        min_value=0, max_value=MAX_INT, required=False, help_text="At most this many (0 = all)"
    )


class RefreshOut(serializers.Serializer[Any]):
    count = serializers.IntegerField(help_text="Refreshes queued")
    revisions = RevisionOut(many=True)


class SiteRefreshView(APIView):
    @extend_schema(
        request=RefreshIn,
        responses={201: RefreshOut},
        summary="Refresh published articles of a site (by age, SEO score or ids)",
        description="Each criterion adds articles; at least one is needed (else 400). "
        "Articles with a refresh already open are left out. Each refresh is written in the "
        "background and waits for review as a revision.",
    )
    def post(self, request: Request, site_id: int) -> Response:
        site = site_for(request, site_id, write=True)
        data = RefreshIn(data=request.data)
        data.is_valid(raise_exception=True)
        made = refresh.refresh_request(
            site=site, by=request.user.get_username(), **data.validated_data
        )
        body = {"count": len(made), "revisions": made}
        return Response(RefreshOut(body).data, status=status.HTTP_201_CREATED)


class ContentRefreshView(APIView):
    @extend_schema(
        request=None,
        responses={
            201: RevisionOut,
            409: OpenApiResponse(ERROR, description="Not published, or a refresh is open"),
        },
        summary="Refresh one published article",
    )
    def post(self, request: Request, content_id: int) -> Response:
        content = content_of(request, content_id)
        site = site_for(request, content.site_id, write=True)
        made = refresh.refresh_request(site=site, by=request.user.get_username(), ids=[content.pk])
        if not made:
            raise Conflict(
                "Only a published article without a refresh open can be refreshed.",
                code="refresh_refused",
            )
        return Response(RevisionOut(made[0]).data, status=status.HTTP_201_CREATED)


class RevisionRetryView(APIView):
    @extend_schema(
        request=None,
        responses={200: RevisionDetailOut, 409: ERROR},
        summary="Retry a failed refresh (written again, or pushed again once approved)",
    )
    def post(self, request: Request, revision_id: int) -> Response:
        revision = revision_of(request, revision_id)
        require_editor(request)
        return revision_answer(request, refresh.revision_retry_wake(revision=revision))


# --- events -----------------------------------------------------------------------------------
class SiteEventsView(generics.ListAPIView[RunEvent]):
    serializer_class = SiteEventOut

    def get_queryset(self) -> QuerySet[RunEvent]:
        site = site_for(self.request, self.kwargs["site_id"])
        return RunEvent.objects.filter(site=site).select_related("run").order_by("-at", "-id")

    @extend_schema(summary="A site's events, newest first (runs and schedule)")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class RunEventsView(APIView):
    @extend_schema(responses={200: EventOut(many=True)}, summary="A run's events, oldest first")
    def get(self, request: Request, run_id: str) -> Response:
        run = run_for(request, run_id)
        events = RunEvent.objects.filter(run=run).order_by("at", "id")
        return Response(EventOut(events, many=True).data)


# --- sites: created and changed with everything they need to run (`automation.sites`) ---
class SiteListView(AccountListView):
    """The caller's sites (GET) and a new site (POST)."""

    model = Site
    serializer_class = SiteOut
    ordering = ("name", "id")

    @extend_schema(request=SiteIn, responses={201: SiteOut}, summary="Create a site")
    def post(self, request: Request) -> Response:
        require_editor(request)
        data = SiteIn(data=request.data)
        data.is_valid(raise_exception=True)
        site = sites.site_create(account=membership_of(request).account, **data.validated_data)
        return Response(SiteOut(site).data, status=status.HTTP_201_CREATED)


class SiteDetailView(APIView):
    @extend_schema(responses={200: SiteOut}, summary="A site")
    def get(self, request: Request, site_id: int) -> Response:
        return Response(SiteOut(site_for(request, site_id)).data)

    @extend_schema(request=SiteIn(partial=True), responses={200: SiteOut}, summary="Change a site")
    def patch(self, request: Request, site_id: int) -> Response:
        site = site_for(request, site_id, write=True)
        data = SiteIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        return Response(SiteOut(sites.site_update(site=site, **data.validated_data)).data)

    @extend_schema(
        responses={
            204: None,
            409: OpenApiResponse(response=ERROR, description="The site has an active run"),
        },
        summary="Delete a site and all its data (owners only)",
    )
    def delete(self, request: Request, site_id: int) -> Response:
        site = site_for(request, site_id, write=True)
        require_owner(request)
        sites.site_delete(site=site)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- a site's split of the run budget: billing's percentages under automation's cap ----
def _ai_budget(site_id: int) -> dict[str, Any]:
    allocation = billing_selectors.site_allocation(site_id)
    body: dict[str, Any] = {"use_global_defaults": allocation.use_global_defaults}
    for field in budget.PERCENTAGE_FIELDS.values():
        body[field] = getattr(allocation, field)
    body["effective"] = billing_selectors.effective_percentages(site_id)
    cap = body["max_credits_per_run"] = selectors.run_cap(site_id)
    body["budgets"] = billing_selectors.site_operation_budgets(site_id, cap=cap)
    return AIBudgetOut(body).data


class AIBudgetView(APIView):
    @extend_schema(responses={200: AIBudgetOut}, summary="A site's split of the run budget")
    def get(self, request: Request, site_id: int) -> Response:
        site = site_for(request, site_id)
        return Response(_ai_budget(site.pk))

    @extend_schema(
        request=AIBudgetIn,
        responses={200: AIBudgetOut},
        summary="Set a site's split of the run budget",
        description="With `use_global_defaults` false, the five percentages must each be "
        "0–100 and sum to exactly 100 (400 naming the fields otherwise). Percentages left "
        "out keep their stored values.",
    )
    def put(self, request: Request, site_id: int) -> Response:
        site = site_for(request, site_id, write=True)
        data = AIBudgetIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        billing_services.allocation_update(
            site_id=site.pk,
            use_global_defaults=values["use_global_defaults"],
            percentages={
                op: values[field]
                for op, field in budget.PERCENTAGE_FIELDS.items()
                if field in values
            },
        )
        return Response(_ai_budget(site.pk))


# --- the AI endpoint's connection check -------------------------------------------------------
class AICheckProblemOut(serializers.Serializer[Any]):
    code = serializers.CharField(
        help_text='e.g. "unreachable", "auth", "model_not_found", "quota", '
        '"no_structured_output", "no_images", "timeout", "config"'
    )
    message = serializers.CharField(help_text="What is wrong, naming the endpoint")
    fix = serializers.CharField(help_text="What to do about it")


class AICheckOut(serializers.Serializer[Any]):
    ok = serializers.BooleanField(
        help_text="Text generation works: reachable, key accepted, a model served and a "
        "structured-output mode that works. Missing images alone keep it true (stage 6 is "
        "then skipped and stage 7 judges text alone) but are listed in `problems`."
    )
    provider = serializers.CharField(help_text="`local` or `openai`")
    base_url = serializers.CharField(
        allow_blank=True, help_text="The endpoint asked; blank for the `local` provider"
    )
    reachable = serializers.BooleanField()
    auth = serializers.BooleanField(help_text="The key was accepted")
    model = serializers.CharField(
        allow_null=True, help_text="The model the endpoint answered with; null: none"
    )
    structured_output = serializers.ChoiceField(
        choices=STRUCTURED_MODES,
        allow_null=True,
        help_text="The best mode that worked, which runs use: `json_schema` (strict schema), "
        "`json_object` (JSON mode, the schema in the prompt) or `prompt` (plain JSON asked "
        "in the prompt, validated); null: none worked",
    )
    images = serializers.BooleanField(help_text="The endpoint makes images (stage 6)")
    problems = AICheckProblemOut(many=True)
    checked_at = serializers.DateTimeField()


class AICheckQuery(Input):
    cached = serializers.BooleanField(
        default=False,
        help_text="Answer the last stored check instead of checking now (no request to the "
        "endpoint; 404 with code `no_check` if there is none)",
    )


def ai_check_out(document: dict[str, Any]) -> dict[str, Any]:
    """A stored check document (`services.ai_check_record`) as the API answers it."""
    checked_at = dt.datetime.fromisoformat(str(document["checked_at"]))
    return dict(AICheckOut({**document, "checked_at": checked_at}).data)


class AICheckView(APIView):
    @extend_schema(
        parameters=[AICheckQuery],
        responses={
            200: OpenApiResponse(AICheckOut, description="What the endpoint can do"),
            404: OpenApiResponse(
                ERROR,
                description="Unknown or another account's site; with `cached`, code "
                "`no_check`: the site's endpoint was never checked",
            ),
        },
        summary="Check the AI endpoint: what it can do",
        description="Asks the configured AI endpoint now (a few small requests, answered "
        "within INKLINE_AI_CHECK_TIMEOUT seconds) whether it is reachable, accepts the key, "
        "serves the model, which structured-output mode works and whether it makes images; "
        "stores the answer as the site's latest check (runs use it) and returns it. Any "
        "member may call it. `?cached=1` returns the stored check without asking.",
    )
    def get(self, request: Request, site_id: int) -> Response:
        site = site_for(request, site_id)
        query = AICheckQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        if query.validated_data["cached"]:
            document = selectors.ai_check_last(site.pk)
            if document is None:
                raise NotFound(
                    "This site's AI endpoint has not been checked yet: ask without `cached`.",
                    code="no_check",
                )
        else:
            document = services.ai_check_run(site_id=site.pk)
        return Response(ai_check_out(document))


urlpatterns: list[URLPattern] = [
    path("sites/", SiteListView.as_view(), name="site-list"),
    path("sites/<id:site_id>/", SiteDetailView.as_view(), name="site-detail"),
    path("sites/<id:site_id>/automation/config/", ConfigView.as_view()),
    path(
        "billing/sites/<id:site_id>/ai-budget/",
        AIBudgetView.as_view(),
        name="billing-ai-budget",
    ),
    path("sites/<id:site_id>/automation/pipeline/", PipelineView.as_view()),
    path("sites/<id:site_id>/automation/runs/", SiteRunsView.as_view()),
    path("sites/<id:site_id>/automation/events/", SiteEventsView.as_view()),
    path("sites/<id:site_id>/ai/check/", AICheckView.as_view(), name="ai-check"),
    path("sites/<id:site_id>/refresh/", SiteRefreshView.as_view(), name="site-refresh"),
    path("content/<id:content_id>/refresh/", ContentRefreshView.as_view(), name="content-refresh"),
    path("revisions/<id:revision_id>/retry/", RevisionRetryView.as_view()),
    path("automation/runs/<key:run_id>/", RunDetailView.as_view()),
    path("automation/runs/<key:run_id>/pause/", RunPauseView.as_view()),
    path("automation/runs/<key:run_id>/resume/", RunResumeView.as_view()),
    path("automation/runs/<key:run_id>/cancel/", RunCancelView.as_view()),
    path("automation/runs/<key:run_id>/events/", RunEventsView.as_view()),
]
