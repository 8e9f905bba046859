"""The Celery app. The broker only wakes workers; the database is the queue of record."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inkline.settings")

app = Celery("inkline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The beat's periodic tasks (run exactly one beat). Due times live in the database, so each
# tick only looks at what is due. An entry runs every INKLINE_TICK_SECONDS unless it sets its
# own "schedule"; add one entry per app tick.
BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "automation-tick": {"task": "inkline.automation.tick"},
    "automation-refresh": {"task": "inkline.automation.refresh_tick"},
    "publishing-schedule": {"task": "inkline.publishing.schedule_approved"},
    "publishing-publish": {"task": "inkline.publishing.publish_due"},
    "billing-sweep-holds": {"task": "inkline.billing.sweep_holds"},
    "planner-imports": {"task": "inkline.planner.imports_tick"},
    "notices-deliver": {"task": "inkline.notices.deliver_due"},
}


@app.on_after_configure.connect
def _beat_schedule(sender: Celery, source: Any, **_: Any) -> None:
    every = float(settings.INKLINE_TICK_SECONDS)
    source.beat_schedule = {
        name: {"schedule": every, **entry} for name, entry in BEAT_SCHEDULE.items()
    }
