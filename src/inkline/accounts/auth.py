"""The login backend: Django's `ModelBackend`, with the user's membership read in the same
query as the user (every page needs the role and account)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class MemberBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        """`ModelBackend.get_user` with `select_related("membership")`."""
        user_model = get_user_model()
        try:
            user = user_model._default_manager.select_related("membership").get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
