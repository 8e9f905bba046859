"""Path converters for what URLs carry: `<id:…>`, a primary key, 1 to MAX_ID; `<key:…>`, a
public key such as a run id (up to 40 characters, no `/` and no control characters).

Django's `<int:…>` takes any run of digits, and a number past the database's 64-bit range
then overflows the driver; its `<str:…>` takes any character, and a NUL is refused by
PostgreSQL (both 500s). A value out of range matches no route here, so the answer is the
API's JSON 404, as for any unknown object. Registered when the core app is loaded (its
AppConfig module imports this one), before any URLconf is read; the schema states the bounds
(SPECTACULAR_SETTINGS["PATH_CONVERTER_OVERRIDES"]).
"""

from __future__ import annotations

from django.urls import register_converter

from inkline.core.api import MAX_ID


class IdConverter:
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 0 < number <= MAX_ID:
            raise ValueError(f"{value} is not an id")
        return number

    def to_url(self, value: int) -> str:
        return str(value)


class KeyConverter:
    regex = r"[^/\x00-\x1f\x7f]{1,40}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(IdConverter, "id")
register_converter(KeyConverter, "key")
