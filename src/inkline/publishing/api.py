"""Publishing API: input serializer → one service → output serializer."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inkline import clock
from inkline.accounts.scoping import account_id_of, require_editor, site_for
from inkline.core.api import MAX_INT, is_id
from inkline.core.inputs import Input, InstantField, StrictInputMixin, UniqueListField
from inkline.core.openapi import ERROR, HOUR_MINUTE
from inkline.publishing import links, refresh, selectors, services
from inkline.publishing.checking import publisher_check
from inkline.publishing.models import INTERNAL_LINKS_MAX_LIMIT, SETTINGS_FIELDS, PublishingSettings
from inkline.publishing.slots import DAY_NAMES
from inkline.writer.api import (
    ContentOut,
    RevisionDetailOut,
    content_answer,
    content_of,
    revision_answer,
    revision_of,
)
from inkline.writer.models import Content
from inkline.writer.services import revision_reject


class PublishingSettingsSerializer(
    StrictInputMixin, serializers.ModelSerializer[PublishingSettings]
):
    publish_days = UniqueListField(
        child=serializers.ChoiceField(choices=DAY_NAMES),
        allow_empty=False,
        min_length=1,
        max_length=len(DAY_NAMES),
        error_messages={"not_unique": "Each day may appear once."},
    )
    publish_time_slots = UniqueListField(
        child=serializers.RegexField(
            HOUR_MINUTE,
            trim_whitespace=False,
            error_messages={"invalid": "Not a time as HH:MM (00:00 to 23:59)."},
        ),
        allow_empty=True,
        max_length=24 * 60,
        error_messages={"not_unique": "Time slots must be unique."},
        help_text='Local times of day, "HH:MM", each once',
    )
    stagger_start_time = serializers.TimeField(format="%H:%M", input_formats=["%H:%M"])
    stagger_end_time = serializers.TimeField(format="%H:%M", input_formats=["%H:%M"])
    stagger_interval_minutes = serializers.IntegerField(min_value=1, max_value=24 * 60)
    # Soft targets, for estimates; the columns are 32-bit on PostgreSQL.
    daily_publish_target = serializers.IntegerField(min_value=0, max_value=MAX_INT)
    weekly_publish_target = serializers.IntegerField(min_value=0, max_value=MAX_INT)
    monthly_publish_target = serializers.IntegerField(min_value=0, max_value=MAX_INT)
    queue_limit = serializers.IntegerField(min_value=1, max_value=100_000)
    internal_links_max = serializers.IntegerField(
        min_value=0,
        max_value=INTERNAL_LINKS_MAX_LIMIT,
        help_text="How many other published articles of its cluster an article links to in "
        "its Related reading block (0–20; 0 turns internal links off).",
    )
    schedule_on_wordpress = serializers.BooleanField(
        help_text="Hand scheduled posts to WordPress (a site with the wordpress publisher; "
        "default false). On: an article placed into a slot is created on WordPress at once "
        "as a scheduled (`future`) post dated at its slot, with its media; its date moves "
        "when it is rescheduled and the post is trashed when it is unscheduled or rejected. "
        "WordPress publishes it at its slot even if Inkline is down; at the slot Inkline "
        "marks it published once WordPress says so, and publishes it itself if WordPress "
        "missed it. Off: Inkline publishes each post at its slot.",
    )

    class Meta:
        model = PublishingSettings
        fields = list(SETTINGS_FIELDS)

    def validate_publish_days(self, value: list[str]) -> list[str]:
        return sorted(value, key=DAY_NAMES.index)

    def validate_publish_time_slots(self, value: list[str]) -> list[str]:
        return sorted(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        def current(name: str) -> Any:
            return attrs.get(name, getattr(self.instance, name, None))

        start, end = current("stagger_start_time"), current("stagger_end_time")
        if start is not None and end is not None and end <= start:
            field = "stagger_end_time" if "stagger_end_time" in attrs else "stagger_start_time"
            raise serializers.ValidationError({field: ["stagger_end_time must be after start."]})
        if current("scheduling_mode") == "time_slots" and not current("publish_time_slots"):
            field = "publish_time_slots" if "publish_time_slots" in attrs else "scheduling_mode"
            raise serializers.ValidationError(
                {field: ["Time-slot mode needs at least one time slot."]}
            )
        # Checked again on the row under a lock when written (`publishing_settings_update`):
        # a concurrent change may have moved the other field since this read.
        return attrs


class PreviewQuerySerializer(Input):
    count = serializers.IntegerField(
        min_value=1, max_value=1000, default=10, help_text="How many slots (1–1000, default 10)."
    )
    now = InstantField(
        required=False,
        help_text="ISO 8601 instant to start after (1970 to 2199); default: now.",
    )

    def to_internal_value(self, data: Any) -> Any:
        # A "+" of an unencoded offset arrives as a space.
        if isinstance(data, QueryDict) and " " in (data.get("now") or ""):
            data = data.copy()
            data["now"] = data["now"].replace(" ", "+")
        return super().to_internal_value(data)


class PreviewSerializer(serializers.Serializer[Any]):
    slots = serializers.ListField(child=serializers.DateTimeField())
    timezone = serializers.CharField()
    scheduling_mode = serializers.CharField()


class UnscheduledSerializer(serializers.Serializer[Any]):
    content_id = serializers.IntegerField()
    reason = serializers.CharField()


class ScheduleResultSerializer(serializers.Serializer[Any]):
    scheduled = serializers.IntegerField()
    unscheduled = UnscheduledSerializer(many=True)


class QueueItemSerializer(serializers.Serializer[Any]):
    content_id = serializers.IntegerField()
    title = serializers.CharField()
    scheduled_publish_at = serializers.DateTimeField()
    wordpress_scheduled_at = serializers.DateTimeField(
        allow_null=True,
        help_text="With schedule_on_wordpress: the date the site's WordPress holds the "
        "article's scheduled (`future`) post for, WordPress publishing it then by itself; "
        "null while it holds none (not handed over yet, or its slot was too close).",
    )
    wordpress_sync_error = serializers.CharField(
        help_text="Why handing the article to WordPress failed (retried with a backoff); "
        "empty when it did not."
    )


class QueueSerializer(serializers.Serializer[Any]):
    scheduled_count = serializers.IntegerField()
    queue_limit = serializers.IntegerField()
    items = QueueItemSerializer(many=True)
    unscheduled = UnscheduledSerializer(many=True)


class PublishStateSerializer(serializers.ModelSerializer[Content]):
    class Meta:
        model = Content
        fields = [
            "id",
            "status",
            "site_status",
            "scheduled_publish_at",
            "unscheduled_reason",
            "published_at",
            "published_url",
            "publish_attempts",
            "publish_error",
            "lateness_seconds",
        ]
        read_only_fields = fields


CONFLICT = OpenApiResponse(
    response=inline_serializer(
        "PublishingConflict",
        {"detail": serializers.CharField(), "code": serializers.CharField()},
    ),
    description="The content is not in a state that allows this (code invalid_transition).",
)


class SettingsView(APIView):
    @extend_schema(
        operation_id="publishing_settings_retrieve", responses=PublishingSettingsSerializer
    )
    def get(self, request: Request, site_id: int) -> Response:
        site = site_for(request, site_id)
        return Response(PublishingSettingsSerializer(selectors.settings_of(site)).data)

    @extend_schema(
        operation_id="publishing_settings_update",
        request=PublishingSettingsSerializer(partial=True),
        responses=PublishingSettingsSerializer,
    )
    def patch(self, request: Request, site_id: int) -> Response:
        site = site_for(request, site_id, write=True)
        current = selectors.settings_of(site)
        serializer = PublishingSettingsSerializer(current, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        updated = services.publishing_settings_update(site=site, data=serializer.validated_data)
        return Response(PublishingSettingsSerializer(updated).data)


class PreviewView(APIView):
    @extend_schema(
        operation_id="publishing_preview",
        parameters=[PreviewQuerySerializer],
        responses=PreviewSerializer,
        description="The next N free slots (UTC), writing nothing.",
    )
    def get(self, request: Request, site_id: int) -> Response:
        site = site_for(request, site_id)
        query = PreviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        slots = selectors.preview_slots(
            site, count=query.validated_data["count"], now=query.validated_data.get("now")
        )
        body = {
            "slots": slots,
            "timezone": site.timezone,
            "scheduling_mode": selectors.settings_of(site).scheduling_mode,
        }
        return Response(PreviewSerializer(body).data)


class ScheduleView(APIView):
    @extend_schema(
        operation_id="publishing_schedule", request=None, responses=ScheduleResultSerializer
    )
    def post(self, request: Request, site_id: int) -> Response:
        site = site_for(request, site_id, write=True)
        report = services.content_schedule(site=site)
        return Response(
            ScheduleResultSerializer(
                {"scheduled": report.scheduled, "unscheduled": report.unscheduled}
            ).data
        )


class QueueView(APIView):
    @extend_schema(operation_id="publishing_queue", responses=QueueSerializer)
    def get(self, request: Request, site_id: int) -> Response:
        site = site_for(request, site_id)
        return Response(QueueSerializer(selectors.publishing_queue(site)).data)


def _content_for(request: Request, content_id: int) -> Content:
    require_editor(request)
    content = (
        Content.objects.select_related("site")
        .filter(pk=content_id, site__account_id=account_id_of(request))
        .first()
    )
    if content is None:
        raise NotFound("No such content.")
    return content


class UnscheduleView(APIView):
    @extend_schema(
        operation_id="content_unschedule",
        request=None,
        responses={200: PublishStateSerializer, 409: CONFLICT},
        description="Take scheduled content out of the schedule (back to review); its slot "
        "goes to the next item.",
    )
    def post(self, request: Request, content_id: int) -> Response:
        content = services.content_unschedule(content=_content_for(request, content_id))
        return Response(PublishStateSerializer(content).data)


class PublishRetryView(APIView):
    @extend_schema(
        operation_id="content_publish_retry",
        request=None,
        responses={200: PublishStateSerializer, 409: CONFLICT},
        description="Schedule content whose publishing failed again, due at once.",
    )
    def post(self, request: Request, content_id: int) -> Response:
        content = services.content_publish_retry(content=_content_for(request, content_id))
        return Response(PublishStateSerializer(content).data)


class InternalLinkSerializer(serializers.Serializer[Any]):
    content_id = serializers.IntegerField()
    anchor = serializers.CharField(help_text="The target's primary keyword (or its title).")
    url = serializers.CharField(help_text="The target's published URL.")


class InternalLinksSerializer(serializers.Serializer[Any]):
    outgoing = InternalLinkSerializer(
        many=True, help_text="The links of its Related reading block, in order."
    )
    incoming = InternalLinkSerializer(many=True, help_text="Published articles linking to it.")
    update_pending = serializers.BooleanField(
        help_text="Its published copy waits for an update of its links (the publish tick)."
    )
    update_attempts = serializers.IntegerField()
    update_error = serializers.CharField(
        allow_blank=True, help_text="Why the last update failed; kept when Inkline gave up."
    )
    next_update_at = serializers.DateTimeField(allow_null=True)
    html = serializers.CharField(
        allow_blank=True,
        help_text="The stored HTML with its Related reading block, as published (the static "
        "site links the same articles by their paths).",
    )


class InternalLinksView(APIView):
    @extend_schema(
        operation_id="content_internal_links",
        responses=InternalLinksSerializer,
        description="The internal links of an article within its cluster, and the state of "
        "the update of its published copy.",
    )
    def get(self, request: Request, content_id: int) -> Response:
        content = (
            Content.objects.filter(pk=content_id, site__account_id=account_id_of(request)).first()
            if is_id(content_id)
            else None
        )
        if content is None:
            raise NotFound("No such content.")
        return Response(InternalLinksSerializer(links.internal_links_of(content)).data)


# --- review decisions (approval places the article in the schedule) ---------------------
TRANSITION_REFUSED = OpenApiResponse(
    response=ERROR, description="Not allowed from the content's status (`invalid_transition`)"
)


class RejectIn(Input):
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True)


class ContentApproveView(APIView):
    @extend_schema(
        request=None,
        responses={200: ContentOut, 409: TRANSITION_REFUSED},
        summary="Approve an article (review or rejected → approved)",
    )
    def post(self, request: Request, content_id: int) -> Response:
        content = content_of(request, content_id)
        require_editor(request)
        return content_answer(request, services.content_approve(content=content, by="user"))


class ContentRejectView(APIView):
    @extend_schema(
        request=RejectIn,
        responses={200: ContentOut, 409: TRANSITION_REFUSED},
        summary="Reject an article (review or approved → rejected); frees its slot",
    )
    def post(self, request: Request, content_id: int) -> Response:
        content = content_of(request, content_id)
        require_editor(request)
        data = RejectIn(data=request.data)
        data.is_valid(raise_exception=True)
        reason = data.validated_data.get("reason", "")
        return content_answer(request, services.content_reject(content=content, reason=reason))


# --- refreshes: approval pushes the revision to the publisher in place --------------------------
class RevisionApproveView(APIView):
    @extend_schema(
        request=None,
        responses={200: RevisionDetailOut, 409: TRANSITION_REFUSED},
        summary="Approve a refresh in review: the published article is updated in place",
    )
    def post(self, request: Request, revision_id: int) -> Response:
        revision = revision_of(request, revision_id)
        require_editor(request)
        by = request.user.get_username()
        return revision_answer(request, refresh.revision_approve_push(revision=revision, by=by))


class RevisionRejectView(APIView):
    @extend_schema(
        request=RejectIn,
        responses={200: RevisionDetailOut, 409: TRANSITION_REFUSED},
        summary="Reject a refresh in review: the published article stays as it is",
    )
    def post(self, request: Request, revision_id: int) -> Response:
        revision = revision_of(request, revision_id)
        require_editor(request)
        data = RejectIn(data=request.data)
        data.is_valid(raise_exception=True)
        rejected = revision_reject(
            revision=revision,
            by=request.user.get_username(),
            now=clock.now(),
            reason=data.validated_data.get("reason", ""),
        )
        return revision_answer(request, rejected)


# --- the publisher's connection check ---------------------------------------------------------
class PublisherCheckProblemOut(serializers.Serializer[Any]):
    code = serializers.CharField(
        help_text='e.g. "config", "unreachable", "no_rest_api", "application_passwords_off", '
        '"credentials", "authorization_header", "cannot_publish", "cannot_upload", '
        '"cannot_create_categories", "output_not_writable"'
    )
    message = serializers.CharField(help_text="What is wrong, naming the site or directory")
    fix = serializers.CharField(help_text="What to do about it")
    blocking = serializers.BooleanField(
        help_text="Publishing fails until it is fixed; false: it works, with less (e.g. an "
        "Author account uses existing categories only)"
    )


class PublisherCanOut(serializers.Serializer[Any]):
    publish_posts = serializers.BooleanField()
    upload_files = serializers.BooleanField()
    create_categories = serializers.BooleanField(
        help_text="false: articles get the categories that exist; missing ones are named"
    )


class PublisherCheckOut(serializers.Serializer[Any]):
    ok = serializers.BooleanField(
        help_text="Articles can be published: no problem in `problems` is blocking"
    )
    publisher = serializers.CharField(
        help_text='The site\'s publisher: "wordpress", "static" or "none"'
    )
    target = serializers.CharField(
        allow_blank=True,
        help_text="The WordPress address asked, or the static publisher's output directory",
    )
    rest_root = serializers.CharField(
        allow_null=True,
        help_text="WordPress: the REST API root found (`…/wp-json/`, or "
        "`…/index.php?rest_route=/` with plain permalinks); null: none found",
    )
    permalinks = serializers.ChoiceField(
        choices=["pretty", "plain"], allow_null=True, help_text="WordPress's permalink kind"
    )
    user = serializers.CharField(
        allow_null=True, help_text="WordPress: the account the credentials logged in as"
    )
    roles = serializers.ListField(child=serializers.CharField(), help_text="Its roles")
    can = PublisherCanOut(
        allow_null=True, help_text="WordPress: what the account may do; null: not known"
    )
    problems = PublisherCheckProblemOut(many=True)
    checked_at = serializers.DateTimeField()


def publisher_check_out(document: dict[str, Any]) -> dict[str, Any]:
    return dict(PublisherCheckOut(document).data)


class PublisherCheckView(APIView):
    @extend_schema(
        responses={
            200: OpenApiResponse(PublisherCheckOut, description="What publishing can do"),
            404: OpenApiResponse(ERROR, description="Unknown or another account's site"),
        },
        summary="Check the publisher: can articles be published",
        description="Asks the site's publisher now, storing nothing. WordPress: finds the "
        "REST API (pretty or plain permalinks), logs in with the username and application "
        "password (telling a wrong password from an Authorization header the web server "
        "drops) and compares the account's capabilities with what publishing needs "
        "(publish posts, upload files; creating categories is optional). Markdown files: "
        "the output directory is writable. Each problem comes with a fix. Any member may "
        "call it.",
    )
    def get(self, request: Request, site_id: int) -> Response:
        site = site_for(request, site_id)
        return Response(publisher_check_out(publisher_check(site)))


urlpatterns: list[URLPattern] = [
    path("sites/<id:site_id>/publishing/settings/", SettingsView.as_view()),
    path("sites/<id:site_id>/publishing/preview/", PreviewView.as_view()),
    path("sites/<id:site_id>/publishing/schedule/", ScheduleView.as_view()),
    path("sites/<id:site_id>/publishing/queue/", QueueView.as_view()),
    path("sites/<id:site_id>/publisher/check/", PublisherCheckView.as_view()),
    path("content/<id:content_id>/approve/", ContentApproveView.as_view(), name="content-approve"),
    path("content/<id:content_id>/reject/", ContentRejectView.as_view(), name="content-reject"),
    path("content/<id:content_id>/unschedule/", UnscheduleView.as_view()),
    path("content/<id:content_id>/publish-retry/", PublishRetryView.as_view()),
    path("content/<id:content_id>/internal-links/", InternalLinksView.as_view()),
    path("revisions/<id:revision_id>/approve/", RevisionApproveView.as_view()),
    path("revisions/<id:revision_id>/reject/", RevisionRejectView.as_view()),
]
