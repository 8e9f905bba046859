"""The `<id:…>` path converter: a primary key in a URL, 1 to MAX_ID.

Django's `<int:…>` takes any run of digits, and a number past the database's 64-bit range
then overflows the driver (a 500). An id out of range matches no route here, so the answer is
the API's JSON 404, as for any unknown object. Registered when the core app is loaded (its
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


ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}

register_converter(IdConverter, "id")
