"""Authentication that loads a user's membership with the user: every page and API call
needs the role and account, so they come in the same query instead of a second one. Both
reads run on every request and are prepared (`inkline.core.prepared`)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from inkline.core.prepared import PreparedRead

_USER = PreparedRead(
    lambda pk: get_user_model()._default_manager.select_related("membership").filter(pk=pk)[:1],
    int,
)
_TOKEN = PreparedRead(
    lambda key: Token.objects.select_related("user__membership").filter(key=key)[:1], str
)


class MemberBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        user = _USER.first(user_id) if isinstance(user_id, int) else None
        return user if user is not None and self.user_can_authenticate(user) else None


class MemberTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        token = _TOKEN.first(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return token.user, token
