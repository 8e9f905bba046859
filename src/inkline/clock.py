"""The one place the engine reads the time. Always aware, always UTC."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()
