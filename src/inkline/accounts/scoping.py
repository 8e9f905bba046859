"""Tenancy and roles for the API: the one place API views resolve what a caller may touch.
Every object a view touches is scoped to the caller's account."""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from rest_framework import exceptions
from rest_framework.request import Request

from inkline.accounts.models import Membership, Role, Site
from inkline.accounts.selectors import account_site
from inkline.core.api import is_id
from inkline.core.views import ScopedListView


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


class AccountListView(ScopedListView):
    """Rows of `model` whose `account_path` (e.g. `site__account`) is the caller's account."""

    model: type[Model]
    account_path = "account"

    def scoped_queryset(self) -> QuerySet[Any]:
        return self.model._default_manager.filter(
            **{self.account_path: account_id_of(self.request)}
        )


class SiteListView(ScopedListView):
    """Rows of `model` belonging to the caller's site `site_id` (another account's site: 404)."""

    model: type[Model]

    def scoped_queryset(self) -> QuerySet[Any]:
        site = site_for(self.request, self.kwargs["site_id"])
        return self.model._default_manager.filter(site=site)


def account_objects(request: Any, model: type[Model], path: str = "site__account") -> QuerySet[Any]:
    """`model` rows of the caller's account, for detail views (`get_object_or_404` on it)."""
    return model._default_manager.filter(**{path: account_id_of(request)})
