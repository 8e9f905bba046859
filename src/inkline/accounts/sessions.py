"""Django's database sessions, read with a prepared statement (`inkline.core.prepared`):
every page loads its session first, and the ORM would compile that read anew each time."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session

from inkline import clock
from inkline.core.prepared import PreparedRead

_SESSION = PreparedRead(lambda key: Session.objects.filter(session_key=key)[:1], str)


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self) -> Any:
        key = self.session_key
        found = _SESSION.first(key) if isinstance(key, str) else None
        if found is None or found.expire_date <= clock.now():  # expired: as if absent
            self._session_key = None
            return None
        return found
