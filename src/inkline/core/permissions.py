"""The default API permission, kept apart from core.api so DRF settings can import it without
importing DRF's views (which import the settings)."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request


class RolePermission(permissions.BasePermission):
    """Authenticated members read; only owners and editors use unsafe methods."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        membership = getattr(request.user, "membership", None)
        if membership is None:
            return False
        return request.method in permissions.SAFE_METHODS or membership.can_edit
