"""API plumbing shared by every app: pagination and the one mapping of domain errors.

REST_FRAMEWORK settings name classes in this module, and DRF resolves them while
`rest_framework.views` is being imported: so this module must never import
`rest_framework.views` (or `generics`, `viewsets`) at the top. View base classes live in
`inkline.core.views`.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions, serializers
from rest_framework.fields import empty
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from inkline.core.errors import ApplicationError

MAX_ID = 2**63 - 1  # the largest primary key any database here stores
MAX_INT = 2**31 - 1  # the largest value of a 32-bit column (PostgreSQL's `integer`)
MAX_PAGE = MAX_INT
_WHOLE = re.compile(r"[0-9]{1,20}")


def is_id(value: int) -> bool:
    """Whether `value` can be a primary key (a larger number overflows the database driver)."""
    return 0 < value <= MAX_ID


def query_int(request: Request, name: str, *, low: int, high: int, default: int) -> int:
    """The whole number `name` of the query string, from `low` to `high`, or `default` when
    absent; anything else is 400 naming the parameter."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not _WHOLE.fullmatch(raw) or not low <= int(raw) <= high:
        raise exceptions.ValidationError({name: [f"Must be a whole number from {low} to {high}."]})
    return int(raw)


class Pagination(PageNumberPagination):
    """`?page=` (from 1; past the last page is 404) and `?page_size=` (1 to 1000, default 50),
    both strict: any other value is 400 naming the parameter, as the schema says."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000
    last_page_strings = ()

    def get_page_size(self, request: Request) -> int:
        return query_int(
            request, "page_size", low=1, high=self.max_page_size, default=self.page_size
        )

    def get_page_number(self, request: Request, paginator: Any) -> int:
        return query_int(request, "page", low=1, high=MAX_PAGE, default=1)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        bounds = {
            "page": {"minimum": 1, "maximum": MAX_PAGE},
            "page_size": {"minimum": 1, "maximum": self.max_page_size, "default": self.page_size},
        }
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "too_large"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, ApplicationError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):  # Django's limit, e.g. a multipart form field
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    return drf_exception_handler(exc, context)


class RequiredBooleanField(serializers.BooleanField):
    """A boolean the body must carry, form-encoded too. DRF reads a boolean missing from
    form data as false (an unticked HTML checkbox); an API body that leaves it out has
    said nothing, which for a required field is 400 naming it, as in JSON."""

    default_empty_html = empty
