"""API plumbing shared by every app: pagination and the one mapping of domain errors.

REST_FRAMEWORK settings name classes in this module, and DRF resolves them while
`rest_framework.views` is being imported: so this module must never import
`rest_framework.views` (or `generics`, `viewsets`) at the top. View base classes live in
`inkline.core.views`.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from inkline.accounts.models import Membership, Role, Site
from inkline.accounts.selectors import account_site
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


# --- tenancy and roles: the one place API views resolve what a caller may touch ----------
def membership_of(request: Request) -> Membership:
    """The caller's membership; every object a view touches is scoped to its account."""
    membership = getattr(request.user, "membership", None)
    if membership is None:
        raise exceptions.PermissionDenied("This user belongs to no account.")
    return membership


def account_id_of(request: Request) -> int:
    return membership_of(request).account_id


def require_editor(request: Request) -> None:
    """Owners and editors change things; viewers only read (403)."""
    if not membership_of(request).can_edit:
        raise exceptions.PermissionDenied("Viewers cannot change anything.")


def require_owner(request: Request) -> None:
    if membership_of(request).role != Role.OWNER:
        raise exceptions.PermissionDenied("Only the account owner can do this.")


MAX_ID = 2**63 - 1  # the largest primary key any database here stores


def is_id(value: int) -> bool:
    """Whether `value` can be a primary key (a larger number overflows the database driver)."""
    return 0 < value <= MAX_ID


def site_for(
    request: Request, site_id: int, *, write: bool = False, related: tuple[str, ...] = ()
) -> Site:
    """The caller's site `site_id`, or 404 (another account's site is never revealed);
    `related`: one-to-one relations to load with it."""
    account_id = account_id_of(request)
    site = account_site(account_id, site_id, related=related) if is_id(site_id) else None
    if site is None:
        raise exceptions.NotFound("No such site.")
    if write:
        require_editor(request)
    return site
