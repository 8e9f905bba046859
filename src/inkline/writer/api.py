"""Writer API: tasks, content and images of a site; content detail and review decisions."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inkline.accounts import voice as voices
from inkline.accounts.scoping import SiteListView, account_objects, site_for
from inkline.accounts.selectors import site_voice
from inkline.core.api import is_id
from inkline.core.inputs import IdField, Input
from inkline.writer import quality, selectors
from inkline.writer.diff import revision_diff
from inkline.writer.models import Content, ContentRevision, Image, SeoSettings, WritingTask


class TaskOut(serializers.ModelSerializer[WritingTask]):
    idea = serializers.IntegerField(source="idea_id")
    cluster = serializers.IntegerField(source="cluster_id", allow_null=True)

    class Meta:
        model = WritingTask
        fields = [
            "id",
            "idea",
            "cluster",
            "title",
            "primary_keyword",
            "status",
            "attempts",
            "last_error",
            "created_at",
        ]
        read_only_fields = fields


class TaskFilter(Input):
    status = serializers.ChoiceField(choices=WritingTask.Status.choices, required=False)


@extend_schema(parameters=[TaskFilter], summary="A site's writing tasks")
class TaskListView(SiteListView):
    model = WritingTask
    serializer_class = TaskOut
    filter_serializer_class = TaskFilter


class ImageOut(serializers.ModelSerializer[Image]):
    content = serializers.IntegerField(source="content_id")
    url = serializers.SerializerMethodField()

    class Meta:
        model = Image
        fields = [
            "id",
            "content",
            "kind",
            "position",
            "alt_text",
            "prompt",
            "status",
            "url",
            "width",
            "height",
        ]
        read_only_fields = fields

    def get_url(self, image: Image) -> str | None:
        """Where the generated file is served (absolute when the request is known)."""
        if not image.file:
            return None
        request = self.context.get("request")
        return request.build_absolute_uri(image.file.url) if request else image.file.url


class ContentImageOut(ImageOut):
    class Meta(ImageOut.Meta):
        fields = ["id", "kind", "position", "alt_text", "url"]
        read_only_fields = fields


class ImageFilter(Input):
    status = serializers.ChoiceField(choices=Image.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=Image.Kind.choices, required=False)
    content = IdField(source="content_id", required=False)


@extend_schema(parameters=[ImageFilter], summary="A site's images")
class ImageListView(SiteListView):
    model = Image
    serializer_class = ImageOut
    filter_serializer_class = ImageFilter


class ContentListOut(serializers.ModelSerializer[Content]):
    class Meta:
        model = Content
        fields = [
            "id",
            "title",
            "slug",
            "word_count",
            "status",
            "site_status",
            "scheduled_publish_at",
            "published_at",
            "published_url",
            "seo_score",
            "held_reason",
            "created_at",
        ]
        read_only_fields = fields


class SeoCheckOut(serializers.Serializer[Any]):
    """One SEO check of an article (writer.seo): what failed is explained in `message`."""

    check = serializers.CharField()
    passed = serializers.BooleanField()
    message = serializers.CharField()


class ContentOut(serializers.ModelSerializer[Content]):
    site = serializers.IntegerField(source="site_id")
    images = ContentImageOut(many=True)
    seo_report = SeoCheckOut(many=True, read_only=True)
    provenance = serializers.DictField(
        read_only=True,
        help_text="How it was written: `provider`, `model` (as the endpoint answered), "
        "`prompt_version`, `prompt_tokens`, `completion_tokens`, and `brand_voice` (the "
        "site's voice settings sent with the prompt) when the site had one set.",
    )

    class Meta:
        model = Content
        fields = [
            "id",
            "site",
            "title",
            "html",
            "meta_description",
            "slug",
            "primary_keyword",
            "word_count",
            "status",
            "site_status",
            "approved_at",
            "scheduled_publish_at",
            "unscheduled_reason",
            "published_at",
            "published_url",
            "modified_at",
            "publish_error",
            "seo_score",
            "seo_report",
            "held_reason",
            "images",
            "provenance",
            "created_at",
        ]
        read_only_fields = fields


class ContentFilter(Input):
    status = serializers.ChoiceField(choices=Content.Status.choices, required=False)
    site_status = serializers.ChoiceField(choices=Content.SiteStatus.choices, required=False)


@extend_schema(parameters=[ContentFilter], summary="A site's content")
class ContentListView(SiteListView):
    model = Content
    serializer_class = ContentListOut
    filter_serializer_class = ContentFilter


def content_of(request: Request, content_id: int) -> Content:
    if not is_id(content_id):
        raise NotFound("No such content.")
    queryset = account_objects(request, Content).prefetch_related("images")
    return get_object_or_404(queryset, pk=content_id)


def content_answer(request: Request, content: Content) -> Response:
    return Response(ContentOut(content_of(request, content.pk), context={"request": request}).data)


class ContentDetailView(APIView):
    @extend_schema(responses={200: ContentOut}, summary="An article with its images")
    def get(self, request: Request, content_id: int) -> Response:
        return content_answer(request, content_of(request, content_id))


class SeoSettingsSerializer(Input):
    approval_threshold = serializers.IntegerField(
        min_value=0,
        max_value=100,
        help_text="Stage 7 approves automatically only articles whose SEO score is at least "
        "this (0–100, default 70); the rest stay in review with the reason. Changing it sends "
        "held articles back to stage 7, to be judged against the new threshold.",
    )
    min_words = serializers.IntegerField(
        min_value=0,
        max_value=SeoSettings.MAX_MIN_WORDS,
        help_text="Minimum words per article (0–10000, default 0: no minimum). Stage 4 asks "
        "the AI for at least this many words; a shorter article is asked again once, then "
        "its task fails with the reason. It applies to articles written from now on.",
    )


def _seo_settings(site_id: int) -> Response:
    body = {
        "approval_threshold": quality.seo_threshold(site_id=site_id),
        "min_words": quality.site_min_words(site_id=site_id),
    }
    return Response(SeoSettingsSerializer(body).data)


class SeoSettingsView(APIView):
    @extend_schema(
        operation_id="seo_settings_retrieve",
        responses=SeoSettingsSerializer,
        summary="A site's SEO settings: approval threshold, minimum words per article",
    )
    def get(self, request: Request, site_id: int) -> Response:
        return _seo_settings(site_for(request, site_id).pk)

    @extend_schema(
        operation_id="seo_settings_update",
        request=SeoSettingsSerializer(partial=True),
        responses=SeoSettingsSerializer,
        summary="Change a site's SEO settings (owners and editors); only the fields sent",
    )
    def patch(self, request: Request, site_id: int) -> Response:
        site = site_for(request, site_id, write=True)
        data = SeoSettingsSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        if data.validated_data:
            quality.seo_settings_update(site=site, **data.validated_data)
        return _seo_settings(site.pk)


def _words(what: str) -> serializers.ListField:
    return serializers.ListField(
        # Blank items are dropped (`voices.clean_words`), not refused.
        child=serializers.CharField(max_length=voices.WORD_MAX, allow_blank=True),
        max_length=voices.WORDS_MAX,
        required=False,
        help_text=f"{what} At most {voices.WORDS_MAX} words or phrases of at most "
        f"{voices.WORD_MAX} characters; blanks and repeats (ignoring case) are dropped.",
    )


class BrandVoiceSerializer(Input):
    voice = serializers.CharField(
        max_length=voices.VOICE_MAX,
        allow_blank=True,
        required=False,
        help_text="How the site's articles sound, in the site's own words (free text).",
    )
    audience = serializers.CharField(
        max_length=voices.AUDIENCE_MAX,
        allow_blank=True,
        required=False,
        help_text="Who reads the site.",
    )
    words_to_use = _words("Words and phrases the writing prompt asks for (not checked).")
    words_to_avoid = _words(
        "Words and phrases never to use: the writing prompt forbids them, the local provider "
        "leaves them out, and an article containing one (whole words, ignoring case; title, "
        "meta description or body) fails the SEO gate's `avoided_words` check, which holds it "
        "in review whatever its score."
    )
    reading_ease = serializers.IntegerField(
        min_value=0,
        max_value=100,
        allow_null=True,
        required=False,
        help_text="The Flesch reading ease the SEO check `reading_level` asks for (0–100); "
        f"null: the default, {voices.DEFAULT_READING_EASE}.",
    )
    point_of_view = serializers.ChoiceField(
        choices=["", *voices.POINTS_OF_VIEW],
        allow_blank=True,
        required=False,
        help_text="we (first person), you (second person), they (third person), or empty: "
        "no preference.",
    )
    example = serializers.CharField(
        max_length=voices.EXAMPLE_MAX,
        allow_blank=True,
        required=False,
        help_text="A paragraph written in the site's voice, for the model to match.",
    )


def _voice_answer(site_id: int) -> Response:
    return Response(BrandVoiceSerializer(site_voice(site_id).as_dict(every=True)).data)


class BrandVoiceView(APIView):
    @extend_schema(
        operation_id="brand_voice_retrieve",
        responses=BrandVoiceSerializer,
        summary="A site's brand voice",
    )
    def get(self, request: Request, site_id: int) -> Response:
        return _voice_answer(site_for(request, site_id).pk)

    @extend_schema(
        operation_id="brand_voice_replace",
        request=BrandVoiceSerializer,
        responses=BrandVoiceSerializer,
        summary="Replace a site's brand voice (owners and editors); fields left out are reset",
    )
    def put(self, request: Request, site_id: int) -> Response:
        return self._change(request, site_id, partial=False)

    @extend_schema(
        operation_id="brand_voice_update",
        request=BrandVoiceSerializer(partial=True),
        responses=BrandVoiceSerializer,
        summary="Change a site's brand voice (owners and editors); only the fields sent",
    )
    def patch(self, request: Request, site_id: int) -> Response:
        return self._change(request, site_id, partial=True)

    def _change(self, request: Request, site_id: int, *, partial: bool) -> Response:
        site = site_for(request, site_id, write=True)
        data = BrandVoiceSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        if not partial:
            changes = {**voices.Voice().as_dict(every=True), **changes}
        if changes:
            quality.brand_voice_change(site=site, **changes)
        return _voice_answer(site.pk)


# --- refreshes of published articles (revisions) ---------------------------------------------
class RevisionOut(serializers.ModelSerializer[ContentRevision]):
    """One refresh of a published article: a row of its revision history."""

    content = serializers.IntegerField(source="content_id")
    site = serializers.IntegerField(source="site_id")
    run = serializers.IntegerField(source="run_pk", allow_null=True)

    class Meta:
        model = ContentRevision
        fields = [
            "id",
            "content",
            "site",
            "number",
            "status",
            "trigger_type",
            "reason",
            "requested_by",
            "run",
            "title",
            "word_count",
            "seo_score",
            "credits_used",
            "attempts",
            "last_error",
            "written_at",
            "decided_by",
            "decided_at",
            "rejected_reason",
            "published_at",
            "created_at",
        ]
        read_only_fields = fields


class DiffBlockOut(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=["same", "added", "removed", "changed"])
    tag = serializers.CharField(help_text='The block\'s element: "p", "h2", "li" …')
    html = serializers.CharField(help_text="Its text, escaped; changed words in <ins>/<del>")


class DiffOut(serializers.Serializer[Any]):
    added = serializers.IntegerField(help_text="Words added")
    removed = serializers.IntegerField(help_text="Words removed")
    blocks = DiffBlockOut(many=True)


class RevisionDetailOut(RevisionOut):
    seo_report = SeoCheckOut(many=True, read_only=True)
    diff = serializers.SerializerMethodField()

    class Meta(RevisionOut.Meta):
        fields = [
            *RevisionOut.Meta.fields,
            "html",
            "meta_description",
            "seo_report",
            "base_title",
            "base_html",
            "base_meta_description",
            "diff",
        ]
        read_only_fields = fields

    @extend_schema_field(DiffOut)
    def get_diff(self, revision: ContentRevision) -> dict[str, Any]:
        """From the live version it was written against to the revision."""
        diff = revision_diff(revision)
        return DiffOut(diff).data


def revision_of(request: Request, revision_id: int) -> ContentRevision:
    if not is_id(revision_id):
        raise NotFound("No such revision.")
    return get_object_or_404(account_objects(request, ContentRevision), pk=revision_id)


def revision_answer(request: Request, revision: ContentRevision) -> Response:
    return Response(RevisionDetailOut(revision_of(request, revision.pk)).data)


class RevisionDetailView(APIView):
    @extend_schema(
        responses={200: RevisionDetailOut},
        summary="A refresh of a published article, with its diff from the live version",
    )
    def get(self, request: Request, revision_id: int) -> Response:
        return revision_answer(request, revision_of(request, revision_id))


class ContentRevisionsView(APIView):
    @extend_schema(
        responses={200: RevisionOut(many=True)},
        summary="An article's refreshes, newest first: its revision history",
    )
    def get(self, request: Request, content_id: int) -> Response:
        content = content_of(request, content_id)
        rows = selectors.revisions_of(content_id=content.pk)
        return Response(RevisionOut(rows, many=True).data)


urlpatterns: list[URLPattern] = [
    path("sites/<id:site_id>/seo-settings/", SeoSettingsView.as_view(), name="seo-settings"),
    path("sites/<id:site_id>/voice/", BrandVoiceView.as_view(), name="brand-voice"),
    path("sites/<id:site_id>/tasks/", TaskListView.as_view(), name="task-list"),
    path("sites/<id:site_id>/content/", ContentListView.as_view(), name="content-list"),
    path("sites/<id:site_id>/images/", ImageListView.as_view(), name="image-list"),
    path("content/<id:content_id>/", ContentDetailView.as_view(), name="content-detail"),
    path(
        "content/<id:content_id>/revisions/",
        ContentRevisionsView.as_view(),
        name="content-revisions",
    ),
    path("revisions/<id:revision_id>/", RevisionDetailView.as_view(), name="revision-detail"),
]
