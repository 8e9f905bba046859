"""Login lockouts (django-axes, configured in settings): the client address they count by and
the answer to a refused login.

django-axes counts wrong passwords in the shared cache, per username and per client address,
whatever the way in (the login form, `POST /api/v1/auth/token/`, the admin), and refuses a
login once either passes the limit. Its middleware then replaces the view's answer with
`lockout_response`: 429 JSON under /api/, the login form with the message elsewhere.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.response import TemplateResponse


def client_address(request: HttpRequest) -> str:
    """The client's address: the connecting one, or behind INKLINE_TRUSTED_PROXIES proxies the
    one the outermost of them saw (X-Forwarded-For), as DRF's throttles read it."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies = settings.INKLINE_TRUSTED_PROXIES
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return remote


def lockout_message() -> str:
    seconds = settings.INKLINE_LOGIN_LOCKOUT_SECONDS
    wait = f"{seconds // 60} minutes" if seconds % 60 == 0 and seconds > 60 else f"{seconds} s"
    return f"Too many failed login attempts. Try again in {wait}."


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """429 with Retry-After: `{"detail", "code": "locked_out"}` for the API, else the page
    that was answered (the login form) with the message in place of its errors."""
    message = lockout_message()
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message, "code": "locked_out"}, status=429)
    elif (
        isinstance(original_response, TemplateResponse)
        and original_response.context_data
        and isinstance(original_response.template_name, str | list | tuple)
    ):
        context = dict(original_response.context_data)
        form = context.get("form")
        if form is not None and hasattr(form, "errors"):
            # The form's own error ("enter a correct username and password") would be untrue
            # when the password was right: the lockout is the reason.
            form.errors[NON_FIELD_ERRORS] = form.error_class([message], error_class="nonfield")
        response = render(request, original_response.template_name, context, status=429)
    else:
        response = HttpResponse(message, status=429, content_type="text/plain")
    response["Retry-After"] = str(settings.INKLINE_LOGIN_LOCKOUT_SECONDS)
    return response
