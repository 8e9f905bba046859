"""Generated images, served to whom may see them: the files of published articles to anyone
(they are on the live site anyway), every other file only to members of the owning account,
signed in by session or API token. Anyone else gets the same 404 as for a file that does not
exist, so a draft's image cannot be found by walking the predictable names.

The URL is the file's storage URL (`MEDIA_URL` + name, what `image.file.url` gives the API
and the pages). The name, `images/<yyyy>/<mm>/<site>-<image>.<ext>` (`image_file_store`,
Django's storage may add `_<random>` before the extension), carries the image's id: the
view reads that one row by primary key and serves its file only if the row names exactly
this path. No path from the request ever reaches the file system, so `..` and the like
can only miss.
"""

from __future__ import annotations

import mimetypes
import re
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponseNotModified
from django.http.response import HttpResponseBase
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import http_date
from django.views.decorators.http import require_safe
from django.views.static import was_modified_since
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from inkline.core.api import MAX_ID
from inkline.writer.models import Content, Image

_NAME = re.compile(
    r"^images/\d{4}/\d{2}/(?P<site>\d{1,19})-(?P<image>\d{1,19})(?:_[A-Za-z0-9]{1,16})?"
    r"\.[a-z0-9]{1,8}$"
)
# What a generated image may be served as; any other type goes as a download, never rendered
# on this origin (an SVG could carry script).
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif", "image/avif"})
PUBLIC_MAX_AGE = 24 * 3600


def _account_of(request: HttpRequest) -> int | None:
    """The account of the caller (session, else `Authorization: Token …`), or None."""
    user: Any = getattr(request, "user", None) or AnonymousUser()
    if not user.is_authenticated:
        try:
            found = TokenAuthentication().authenticate(request)  # type: ignore[arg-type]
        except exceptions.AuthenticationFailed:
            found = None
        if found is None:
            return None
        user = found[0]
    membership = getattr(user, "membership", None)
    return membership.account_id if membership is not None else None


def _not_found() -> Http404:
    return Http404("No such file.")


@require_safe
def image_file(request: HttpRequest, path: str) -> HttpResponseBase:
    """`GET /media/<path>`: the image file, or 404 (see the module docstring)."""
    match = _NAME.match(path)
    if match is None or not 0 < int(match["image"]) <= MAX_ID:
        raise _not_found()
    row = (
        Image.objects.filter(pk=int(match["image"]), site_id=int(match["site"]))
        .values("file", "site__account_id", "content__status")
        .first()
    )
    if row is None or row["file"] != path:
        raise _not_found()
    public = row["content__status"] == Content.Status.PUBLISHED
    if not public and _account_of(request) != row["site__account_id"]:
        raise _not_found()

    try:
        modified = default_storage.get_modified_time(path)
    except OSError:
        raise _not_found() from None
    stamp = int(modified.timestamp())
    if was_modified_since(request.META.get("HTTP_IF_MODIFIED_SINCE"), stamp):
        try:
            handle = default_storage.open(path, "rb")
        except OSError:
            raise _not_found() from None
        content_type = mimetypes.guess_type(path)[0] or ""
        download = content_type not in IMAGE_TYPES
        response: HttpResponseBase = FileResponse(
            handle,
            content_type="application/octet-stream" if download else content_type,
            as_attachment=download,
        )
    else:
        response = HttpResponseNotModified()
    response["Last-Modified"] = http_date(stamp)
    response["X-Content-Type-Options"] = "nosniff"
    if public:
        patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
    else:
        # Members only: no shared cache keeps it, and the browser asks again each time (a 304
        # once the caller is known to be a member), so a sign-out ends access.
        patch_cache_control(response, private=True, no_cache=True)
        patch_vary_headers(response, ("Cookie", "Authorization"))
    return response
