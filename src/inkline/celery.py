"""The Celery app. The broker only wakes workers; the database is the queue of record."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inkline.settings")

app = Celery("inkline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
