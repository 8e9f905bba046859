"""Input serializers that accept exactly what the OpenAPI schema documents.

DRF is lenient: `0` is false, `"12"` and `12.0` are 12, `123` is the string "123", and an empty
query parameter (`?status=`) counts as absent. The schema (and so every client generated from
it) says otherwise, and schemathesis checks that schema-violating input is refused. `StrictInput`
checks, before DRF's own validation, that each value has the documented JSON type (or, in a
query string, the documented spelling) and answers 400 naming the field otherwise.

Also here: the few fields whose bounds DRF cannot state itself (an instant within a sane range,
a list without repeats, a decimal read from a JSON number).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.http import QueryDict
from rest_framework import serializers
from rest_framework.settings import api_settings

from inkline.core.api import MAX_ID

INTEGER_TEXT = re.compile(r"-?[0-9]{1,20}")
# The instants the API accepts (e.g. the publishing preview's `now`): arithmetic on them never
# leaves Python's datetime range, and the schema's pattern says the same (`INSTANT_PATTERN`).
MIN_INSTANT = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MAX_INSTANT = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
INSTANT_PATTERN = r"^(19[7-9][0-9]|2[01][0-9][0-9])-"


def decimal_pattern(field: serializers.DecimalField) -> str:
    """The spelling of a decimal sent as a string: digits, optionally a point and up to
    `decimal_places` more, a sign only when negative values are allowed."""
    places = field.decimal_places or 0
    whole = (field.max_digits or 20) - places
    sign = "-?" if field.min_value is None or field.min_value < 0 else ""
    fraction = rf"(\.[0-9]{{1,{places}}})?" if places else ""
    return rf"^{sign}[0-9]{{1,{whole}}}{fraction}$"


def _as_string(field: serializers.DecimalField) -> bool:
    return bool(getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING))


def _kind(field: serializers.Field[Any, Any, Any, Any]) -> tuple[tuple[type, ...], str] | None:
    """The JSON types `field` takes and their name in a message; None: anything."""
    if isinstance(field, serializers.BooleanField):
        return (bool,), "true or false"
    if isinstance(field, serializers.IntegerField):
        return (int,), "a whole number"
    if isinstance(field, serializers.DecimalField) and _as_string(field):
        return (str,), "a decimal number as a string"
    if isinstance(field, serializers.FloatField | serializers.DecimalField):
        return (int, float), "a number"
    if isinstance(field, serializers.ChoiceField):
        keys = list(field.choices)
        if keys and all(isinstance(k, int) and not isinstance(k, bool) for k in keys):
            return (int,), "a whole number"
        if keys and all(isinstance(k, str) for k in keys):
            return (str,), "a string"
        return None
    if isinstance(field, serializers.CharField | serializers.DateTimeField | serializers.TimeField):
        return (str,), "a string"
    if isinstance(field, serializers.DateField):
        return (str,), "a string"
    if isinstance(field, serializers.ListField | serializers.ListSerializer):
        return (list,), "a list"
    if isinstance(field, serializers.DictField | serializers.Serializer):
        return (dict,), "an object"
    return None


def json_type_errors(field: serializers.Field[Any, Any, Any, Any], value: Any) -> Any:
    """DRF-style errors for a JSON `value` of the wrong type for `field` (None when fine),
    descending into lists, objects and nested serializers."""
    if value is None or getattr(field, "read_only", False):
        return None
    kind = _kind(field)
    if kind is not None:
        types, name = kind
        wrong_bool = isinstance(value, bool) and bool not in types
        if wrong_bool or not isinstance(value, types):
            return [f"Must be {name}."]
        max_length = getattr(field, "max_length", None)
        if isinstance(value, str) and max_length is not None and len(value) > max_length:
            # DRF measures after trimming whitespace; the schema's maxLength counts it all.
            return [f"Ensure this field has no more than {max_length} characters."]
        if (
            isinstance(field, serializers.DecimalField)
            and isinstance(value, str)
            and not re.fullmatch(decimal_pattern(field), value)
        ):
            places = field.decimal_places
            return [f'Must be {name}, e.g. "1.5", with at most {places} decimals.']
    if isinstance(field, serializers.ListField | serializers.ListSerializer):
        child = field.child
        if child is None:
            return None
        found = {i: e for i, item in enumerate(value) if (e := json_type_errors(child, item))}
        return found or None
    if isinstance(field, serializers.DictField):
        found = {k: e for k, item in value.items() if (e := json_type_errors(field.child, item))}
        return found or None
    if isinstance(field, serializers.Serializer):
        return strict_errors(field.fields, value) or None
    return None


def query_errors(field: serializers.Field[Any, Any, Any, Any], value: str) -> list[str] | None:
    """Errors for a query-string `value` DRF would otherwise read loosely (or skip, if blank)."""
    if value == "":
        return ["May not be blank: leave the parameter out instead."]
    is_integer = isinstance(field, serializers.IntegerField) or (
        isinstance(field, serializers.ChoiceField) and _kind(field) == ((int,), "a whole number")
    )
    if is_integer and not INTEGER_TEXT.fullmatch(value):
        return ["Must be a whole number."]
    return None


def strict_errors(fields: Mapping[str, Any], data: Any) -> dict[str, Any]:
    """Per-field errors of `data` (a JSON object or a query string) against `fields`."""
    errors: dict[str, Any] = {}
    if isinstance(data, QueryDict):
        for name, field in fields.items():
            if name in data and not field.read_only:
                found = query_errors(field, str(data[name]))
                if found:
                    errors[name] = found
    elif isinstance(data, Mapping):
        for name, field in fields.items():
            if name in data:
                found = json_type_errors(field, data[name])
                if found:
                    errors[name] = found
    return errors


# No docstrings on these two bases: drf-spectacular would show them as the description of
# every serializer built on them.
class StrictInputMixin:
    # For an input serializer (plain or model): values of the wrong JSON type, and blank or
    # misspelled query parameters, are 400 naming the field, as the schema says.
    fields: Any

    def to_internal_value(self, data: Any) -> Any:
        errors = strict_errors(self.fields, data)
        if errors:
            raise serializers.ValidationError(errors)
        return super().to_internal_value(data)  # type: ignore[misc]


class Input(StrictInputMixin, serializers.Serializer[Any]):
    # The base of the API's input serializers (bodies and query strings).
    pass


class IdField(serializers.IntegerField):
    """A primary key in a body or query string: 1 to MAX_ID (a larger number overflows the
    database driver)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class TimezoneField(serializers.CharField):
    """An IANA time zone name; the schema lists them (`enum`), the view's validator says
    which name was wrong."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)


class InstantField(serializers.DateTimeField):
    """An ISO 8601 instant from 1970 to 2199 (UTC): dates near the ends of Python's range
    overflow in any arithmetic, and the conversion to UTC itself can overflow."""

    def to_internal_value(self, value: Any) -> dt.datetime:
        try:
            instant = super().to_internal_value(value)
        except OverflowError:
            instant = None
        if instant is None or not MIN_INSTANT <= instant < MAX_INSTANT:
            raise serializers.ValidationError("Must be an instant from 1970 to 2199.")
        return instant


class UniqueListField(serializers.ListField):
    """A list in which no item appears twice (the schema says `uniqueItems`)."""

    default_error_messages = {"not_unique": "Each item may appear once."}

    def to_internal_value(self, data: Any) -> list[Any]:
        items = super().to_internal_value(data)
        if len({repr(item) for item in items}) != len(items):
            self.fail("not_unique")
        return items


class NumberDecimalField(serializers.DecimalField):
    """A decimal read from a JSON number (the schema says `number`, with `multipleOf`). A float
    that is the nearest binary value to an allowed decimal (0.1 + 0.2) reads as that decimal."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("coerce_to_string", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, float) and self.decimal_places is not None:
            rounded = round(data, self.decimal_places)
            if abs(rounded - data) < 1e-9:
                data = Decimal(str(rounded))
        return super().to_internal_value(data)
