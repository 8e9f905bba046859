"""OpenAPI post-processing: the error answers every endpoint can give, declared once; and
the field shapes drf-spectacular cannot infer (HH:MM times, blank URLs, bounded instants,
lists without repeats, decimal steps).

Views declare their own success bodies and domain conflicts (409); the answers the framework
gives everywhere (400 bad input, 401 no credentials, 403 role refused, 404 unknown or foreign
object, or a page past the end, 413 a body over its limit, 414 a URL over 4000 characters,
415 a body that is not JSON) are added here, so no endpoint's schema can forget them.
"""

from __future__ import annotations

import zoneinfo
from decimal import Decimal
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiSerializerFieldExtension

from inkline.core.inputs import INSTANT_PATTERN, decimal_pattern
from inkline.core.middleware import MAX_URL_LENGTH

ERROR = {
    "type": "object",
    "description": "A refusal: `detail` in words, `code` machine-readable, sometimes more keys.",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "required": ["detail"],
    "additionalProperties": True,
}
VALIDATION_ERROR = {
    "type": "object",
    "description": 'Bad input, DRF style: each field maps to its messages, e.g. {"timezone": '
    "[\"'Mars/Base' is not an IANA time zone name.\"]}.",
    "additionalProperties": {},
}
METHODS = {"get", "post", "put", "patch", "delete"}
TOO_LARGE = (
    f"The body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes "
    "(the keyword import: INKLINE_IMPORT_MAX_BYTES)"
)
TOO_LONG = f"The URL (path and query string) is longer than {MAX_URL_LENGTH} characters"
UNSUPPORTED = "The body is not one of the content types listed (JSON, unless stated)"
HOUR_MINUTE = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
NO_NUL = r"^[^\x00]*$"


class HourMinuteField(OpenApiSerializerFieldExtension):
    """A TimeField formatted "%H:%M" (local times of day in API.md) is a pattern, not the
    OpenAPI `time` format (which wants seconds)."""

    target_class = "rest_framework.fields.TimeField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if getattr(self.target, "format", None) == "%H:%M":
            schema.pop("format", None)
            schema.update(pattern=HOUR_MINUTE, example="09:00")
        return dict(schema)


class InstantFieldSchema(OpenApiSerializerFieldExtension):
    """An instant from 1970 to 2199: a date-time whose year the pattern bounds."""

    target_class = "inkline.core.inputs.InstantField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        return {**schema, "pattern": INSTANT_PATTERN}


class TimezoneFieldSchema(OpenApiSerializerFieldExtension):
    """The IANA names this server knows (its tz database), inline: no component, no
    description listing them again."""

    target_class = "inkline.core.inputs.TimezoneField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        return {"type": "string", "enum": sorted(zoneinfo.available_timezones())}


class UniqueListFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "inkline.core.inputs.UniqueListField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        return {**schema, "uniqueItems": True}


class DecimalFieldSchema(OpenApiSerializerFieldExtension):
    """A decimal as a JSON number steps by its last decimal place (`multipleOf`) and stays
    within its digits; as a string, its pattern has a sign only if it may be negative."""

    target_class = "rest_framework.fields.DecimalField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        field = self.target
        schema = dict(auto_schema._map_serializer_field(field, direction, bypass_extensions=True))
        places = field.decimal_places
        if schema.get("type") == "string":
            if direction == "request":
                schema["pattern"] = decimal_pattern(field)
            return schema
        if places is not None and direction == "request":
            schema["multipleOf"] = float(Decimal(1).scaleb(-places))
            if field.max_digits is not None and "maximum" not in schema:
                top = Decimal(10) ** (field.max_digits - places) - Decimal(1).scaleb(-places)
                schema["maximum"] = float(top)
                schema.setdefault("minimum", -float(top))
        for bound in ("minimum", "maximum"):
            if bound in schema:
                schema[bound] = float(schema[bound])
        return schema


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _answer(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def is_public(operation: dict[str, Any]) -> bool:
    """An operation callable without credentials (e.g. the token endpoint): drf-spectacular
    lists no security requirement for it, or an empty one."""
    security = operation.get("security")
    return not security or {} in security


def _blankable_urls(schemas: dict[str, Any]) -> None:
    """URL columns are blank until set: a read-only URL is "a URI or ''" (written ones
    already say so when they allow blank)."""
    for component in schemas.values():
        for prop in component.get("properties", {}).values():
            if prop.get("readOnly") and prop.get("format") == "uri":
                del prop["format"]
                prop["anyOf"] = [{"format": "uri"}, {"maxLength": 0}]


def _no_nul(node: dict[str, Any]) -> None:
    """Text the API reads cannot contain NUL (DRF refuses it; PostgreSQL cannot store it): a
    string without its own pattern, format or enum says so."""
    if node.get("type") == "string" and not {"pattern", "format", "enum"} & set(node):
        node["pattern"] = NO_NUL
    for child in node.get("properties", {}).values():
        _no_nul(child)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            _no_nul(node[key])
    for key in ("allOf", "anyOf", "oneOf"):
        for child in node.get(key, []):
            _no_nul(child)


def add_error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    _blankable_urls(schemas)
    for name, component in schemas.items():
        if name.endswith("Request"):  # COMPONENT_SPLIT_REQUEST: read by the API only
            _no_nul(component)
    schemas.setdefault("Error", ERROR)
    schemas.setdefault("ValidationError", VALIDATION_ERROR)
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            query = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
            for parameter in operation.get("parameters", []):
                _no_nul(parameter.get("schema", {}))
            if "requestBody" in operation or query:
                responses.setdefault("400", _answer("ValidationError", "Bad input"))
            if not is_public(operation):
                responses.setdefault("401", _answer("Error", "No or invalid credentials"))
                responses.setdefault("403", _answer("Error", "The caller's role may not do this"))
            if "{" in path or "page" in query:
                responses.setdefault("404", _answer("Error", "Unknown or another account's"))
            if "requestBody" in operation:
                responses.setdefault("413", _answer("Error", TOO_LARGE))
                responses.setdefault("415", _answer("Error", UNSUPPORTED))
            responses.setdefault("414", _answer("Error", TOO_LONG))
    return result
