"""Accounts API: token auth and sites. Input serializer → one service → output serializer."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth import authenticate
from django.core.cache import BaseCache, caches
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.urls import URLPattern, path
from django.utils.connection import ConnectionProxy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from inkline.accounts import voice as voices
from inkline.accounts.models import SECRET_CONFIG_KEYS, Publisher, Site, validate_timezone
from inkline.accounts.scoping import site_for
from inkline.accounts.selectors import site_voice
from inkline.accounts.services import brand_voice_update
from inkline.core.inputs import Input, TimezoneField
from inkline.core.openapi import ERROR
from inkline.core.parsers import FormParser, JSONParser

MAX_CONFIG_KEYS = 50
MAX_CONFIG_VALUE = 2000


# --- auth -------------------------------------------------------------------------------------
class TokenIn(Input):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


class TokenOut(serializers.Serializer[Any]):
    token = serializers.CharField()


class SharedScopedRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle counting in the `shared` cache, which every web process sees
    (the default cache is each process's own)."""

    cache = cast(BaseCache, ConnectionProxy(caches, "shared"))


class TokenView(APIView):
    """Exchange a username and password for the user's API token. Throttled: INKLINE_TOKEN_
    THROTTLE requests per client address, and wrong passwords lock the username and the
    address out (django-axes, 429 `locked_out`: see `inkline.accounts.lockout`)."""

    authentication_classes: list[Any] = []
    parser_classes = [JSONParser, FormParser]  # a form too: `curl -d username=… -d password=…`
    permission_classes = [AllowAny]
    throttle_classes = [SharedScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema(
        request=TokenIn,
        responses={
            200: TokenOut,
            429: OpenApiResponse(
                response=ERROR,
                description="Too many attempts, or too many wrong passwords for this username "
                "or from this address (`locked_out`); see Retry-After",
            ),
        },
        auth=[],
        summary="Obtain an API token",
    )
    def post(self, request: Request) -> Response:
        data = TokenIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if user is None or not user.is_active:
            raise serializers.ValidationError(
                {"non_field_errors": ["Unable to log in with these credentials."]}
            )
        token, _ = Token.objects.get_or_create(user=user)
        return Response(TokenOut({"token": token.key}).data)


# --- sites ------------------------------------------------------------------------------------
def _check_timezone(value: str) -> None:
    try:
        validate_timezone(value)
    except Exception as exc:
        raise serializers.ValidationError(str(exc.args[0])) from None


def _unstorable(text: str) -> bool:
    """NUL or lone surrogates: PostgreSQL refuses them in text and JSON."""
    return "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text)


def _check_publisher_config(value: dict[str, Any]) -> None:
    if len(value) > MAX_CONFIG_KEYS:
        raise serializers.ValidationError(f"At most {MAX_CONFIG_KEYS} keys.")
    for key, item in value.items():
        if isinstance(item, list):  # e.g. WordPress "categories": ["Guides"]
            if len(item) > MAX_CONFIG_KEYS or not all(isinstance(i, str) for i in item):
                raise serializers.ValidationError(
                    f"'{key}' may be a list of at most {MAX_CONFIG_KEYS} strings."
                )
            if any(len(i) > MAX_CONFIG_VALUE or _unstorable(i) for i in item):
                raise serializers.ValidationError(f"'{key}' has an item that cannot be stored.")
        elif not isinstance(item, str | int | float | bool) and item is not None:
            raise serializers.ValidationError(
                f"'{key}' must be a string, number, boolean or list of strings."
            )
        if isinstance(item, str) and len(item) > MAX_CONFIG_VALUE:
            raise serializers.ValidationError(f"'{key}' is longer than {MAX_CONFIG_VALUE}.")
        if key in SECRET_CONFIG_KEYS and not isinstance(item, str):
            raise serializers.ValidationError(f"'{key}' is a secret and must be a string.")
        if key.endswith("_set"):
            raise serializers.ValidationError(f"'{key}' is read-only.")
        if key == "url" and item:
            try:
                URLValidator(schemes=["http", "https"])(item)
            except DjangoValidationError:
                raise serializers.ValidationError("'url' must be an http(s) address.") from None
        if any(_unstorable(text) for text in (key, item) if isinstance(text, str)):
            raise serializers.ValidationError(f"'{key}' contains characters that cannot be stored.")


@extend_schema_field(
    {
        "type": "object",
        "maxProperties": MAX_CONFIG_KEYS,
        "additionalProperties": {
            "anyOf": [
                {"type": "string", "maxLength": MAX_CONFIG_VALUE},
                {"type": "number"},
                {"type": "boolean"},
                {
                    "type": "array",
                    "maxItems": MAX_CONFIG_KEYS,
                    "items": {"type": "string", "maxLength": MAX_CONFIG_VALUE},
                },
            ],
            "nullable": True,
        },
    }
)
class PublisherConfigField(serializers.DictField):
    """Publisher settings: at most 50 keys, each a string, number, boolean, null or list of
    strings (`_check_publisher_config` says which key is wrong)."""


class SiteIn(Input):
    name = serializers.CharField(max_length=200)
    url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    timezone = TimezoneField(required=False, validators=[_check_timezone], help_text="IANA name")
    publisher = serializers.ChoiceField(choices=Publisher.choices, required=False)
    publisher_config = PublisherConfigField(
        required=False,
        validators=[_check_publisher_config],
        help_text=(
            "Publisher settings. Secret keys (" + ", ".join(sorted(SECRET_CONFIG_KEYS)) + ") are "
            "write-only: stored encrypted, shown back as `<key>_set: true`; an empty string "
            "removes one, leaving one out keeps it."
        ),
    )


class SiteOut(serializers.ModelSerializer[Site]):
    publisher_config = serializers.SerializerMethodField()

    class Meta:
        model = Site
        fields = ["id", "name", "url", "timezone", "publisher", "publisher_config", "created_at"]
        read_only_fields = fields

    def get_publisher_config(self, site: Site) -> dict[str, Any]:
        return site.public_publisher_config()


# --- brand voice ------------------------------------------------------------------------------
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
            brand_voice_update(site=site, **changes)
        return _voice_answer(site.pk)


urlpatterns: list[URLPattern] = [
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("sites/<id:site_id>/voice/", BrandVoiceView.as_view(), name="brand-voice"),
]
