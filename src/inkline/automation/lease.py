"""A run's execution lease (invariant 2): one worker executes a run at a time.

A worker takes the lease with a conditional UPDATE that bumps `lease_epoch`; every write it
makes to the run afterwards is conditional on that epoch (the fencing token), so a worker
whose lease was taken over (it stalled, or was presumed dead) cannot write.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from inkline import clock
from inkline.automation.models import AutomationRun, RunStatus


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Lease:
    run_pk: int
    epoch: int
    owner: str


def lease_acquire(*, run_id: str, owner: str) -> Lease | None:
    """Take the run's lease if it is executable and the lease is free or expired."""
    now = clock.now()
    lease_seconds = settings.INKLINE_RUN_LEASE_SECONDS
    with transaction.atomic():
        run = (
            AutomationRun.objects.filter(run_id=run_id).only("pk", "lease_epoch", "status").first()
        )
        if run is None or run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
            return None
        epoch = run.lease_epoch + 1
        taken = (
            AutomationRun.objects.filter(
                pk=run.pk,
                lease_epoch=run.lease_epoch,
                status__in=[RunStatus.QUEUED, RunStatus.RUNNING],
            )
            .filter(Q(lease_owner="") | Q(lease_expires_at__lt=now))
            .update(
                lease_owner=owner,
                lease_epoch=epoch,
                lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
                heartbeat_at=now,
            )
        )
    if not taken:
        return None
    return Lease(run_pk=run.pk, epoch=epoch, owner=owner)


def lease_release(lease: Lease) -> None:
    AutomationRun.objects.filter(pk=lease.run_pk, lease_epoch=lease.epoch).update(
        lease_owner="", lease_expires_at=None
    )
