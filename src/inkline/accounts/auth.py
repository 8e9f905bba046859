"""The login backends: django-axes's lockout check first, then Django's `ModelBackend`, with the
user's membership read in the same query as the user (every page needs the role and account)."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest


class LockoutBackend(AxesStandaloneBackend):
    """django-axes's check: refuses any login of a locked-out username or client address
    (`inkline.accounts.lockout`). Every web login passes its request (the login form, the
    token endpoint, the admin); a call without one (the test client's `login()`, a shell)
    has no client to count and is left to the next backend, as django-axes's documentation
    suggests for such callers."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


class MemberBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        """`ModelBackend.get_user` with `select_related("membership")`."""
        user_model = get_user_model()
        try:
            user = user_model._default_manager.select_related("membership").get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
