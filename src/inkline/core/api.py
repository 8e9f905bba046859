"""API plumbing shared by every app: pagination and the one mapping of domain errors.

REST_FRAMEWORK settings name classes in this module, and DRF resolves them while
`rest_framework.views` is being imported: so this module must never import
`rest_framework.views` (or `generics`, `viewsets`) at the top. View base classes live in
`inkline.core.views`.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, serializers
from rest_framework.fields import empty
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from inkline.core.errors import ApplicationError


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "too_large"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, ApplicationError):
        return Response(exc.as_dict(), status=exc.status_code)
    return drf_exception_handler(exc, context)


class RequiredBooleanField(serializers.BooleanField):
    """A boolean the body must carry, form-encoded too. DRF reads a boolean missing from
    form data as false (an unticked HTML checkbox); an API body that leaves it out has
    said nothing, which for a required field is 400 naming it, as in JSON."""

    default_empty_html = empty


MAX_ID = 2**63 - 1  # the largest primary key any database here stores


def is_id(value: int) -> bool:
    """Whether `value` can be a primary key (a larger number overflows the database driver)."""
    return 0 < value <= MAX_ID
