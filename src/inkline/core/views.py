"""API view bases (scoped to the caller's account in `inkline.accounts.scoping`) and the
JSON answers to requests no view takes.

Kept apart from `inkline.core.api`, which REST_FRAMEWORK settings import while DRF's views
module is still loading.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import page_not_found
from rest_framework import generics, serializers


class ScopedListView(generics.ListAPIView):
    """A paginated list scoped to the caller's account, filtered by `filter_serializer_class`.

    The filter serializer validates the query string (bad values are 400 naming the
    parameter); each validated value filters the queryset by the field's `source`.
    Subclasses implement `scoped_queryset()`; ordering is `ordering` (oldest first).
    """

    filter_serializer_class: type[serializers.Serializer[Any]] | None = None
    ordering: tuple[str, ...] = ("id",)

    def scoped_queryset(self) -> QuerySet[Any]:
        raise NotImplementedError

    def filters(self) -> dict[str, Any]:
        if self.filter_serializer_class is None:
            return {}
        query = self.filter_serializer_class(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return {k: v for k, v in query.validated_data.items() if v is not None}

    def get_queryset(self) -> QuerySet[Any]:
        return self.scoped_queryset().filter(**self.filters()).order_by(*self.ordering)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 for a URL no route matches: JSON under /api/ (clients parse every answer), the
    usual page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """400 for a request Django refuses before any view (e.g. too many form fields): JSON
    under /api/, the usual page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Bad request.", "code": "bad_request"}, status=400)
    return django_bad_request(request, exception)
