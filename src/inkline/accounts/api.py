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

from inkline.accounts.models import SECRET_CONFIG_KEYS, Publisher, Site, validate_timezone
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


urlpatterns: list[URLPattern] = [
    path("auth/token/", TokenView.as_view(), name="auth-token"),
]
