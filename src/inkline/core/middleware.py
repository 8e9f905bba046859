"""Refusals made before any view, for the API.

`url_length_limit`: a URL (path and query string) longer than MAX_URL_LENGTH is 414 with the
API's JSON error body. gunicorn (`inkline web`) refuses a request line over 4094 bytes with a
plain-text 414 before Django sees it; the lower limit here makes every refusal of a long URL
the same documented JSON answer, in-process and behind gunicorn.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

MAX_URL_LENGTH = 4000


def url_length_limit(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        path = request.META.get("PATH_INFO", "")
        length = len(path) + len(request.META.get("QUERY_STRING", ""))
        if path.startswith("/api/") and length > MAX_URL_LENGTH:
            return JsonResponse(
                {
                    "detail": f"The URL is longer than {MAX_URL_LENGTH} characters.",
                    "code": "uri_too_long",
                },
                status=414,
            )
        return get_response(request)

    return middleware
