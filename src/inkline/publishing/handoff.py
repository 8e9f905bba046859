"""Handing scheduled posts to WordPress: what a sync must do, decided from plain values.

With `PublishingSettings.schedule_on_wordpress`, WordPress holds each scheduled article as a
`future` post dated at its slot and publishes it itself. What Inkline wants WordPress to hold
follows from the article; what it was last seen to hold is on its
`RemoteSchedule`; `sync_action` says how to bring them in line (`schedule_sync` acts on it).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

# WordPress publishes a `future` post dated less than a minute ahead at once, so a slot this
# close is not handed over: Inkline's slot-time step publishes it (or the post already held).
HANDOFF_LEAD = dt.timedelta(minutes=2)

SyncAction = Literal["schedule", "withdraw", "none"]


def sync_action(
    *,
    status: str,
    site_status: str,
    slot: dt.datetime | None,
    held: dt.datetime | None,
    remote_id: str,
    now: dt.datetime,
) -> SyncAction:
    """What to do about one article (`status`, `site_status`, `slot`: the content's fields)
    whose post WordPress holds for `held` (None: holds none as `future`), `remote_id` the
    post's id if one exists:

    - approved and scheduled: "schedule" (create its `future` post, or move the date of the
      one held) unless it holds that date already, or the slot is too close to hand over
      (`HANDOFF_LEAD`: the slot-time step publishes it);
    - taken out of the schedule (unscheduled, rejected): "withdraw" the post if there is one;
    - being published, published or failed: "none" (the slot-time step owns it)."""
    if status == "approved" and site_status == "scheduled" and slot is not None:
        if held == slot or slot - now < HANDOFF_LEAD:
            return "none"
        return "schedule"
    if site_status == "not_published" and (remote_id or held is not None):
        return "withdraw"
    return "none"


def handoff_enabled(*, schedule_on_wordpress: bool, publisher: str) -> bool:
    return schedule_on_wordpress and publisher == "wordpress"
