"""This process is shutting down: slices in progress stop between items.

`inkline worker` calls `shutdown_request` from Celery's shutdown signal (SIGTERM, SIGINT).
From then on a slice starts no new item (`shutdown_requested`), gives the AI calls already in
flight until `shutdown_deadline` to finish and commits them, abandons the rest (their holds go
back, their items stay pending), releases the run's lease and hands the run back to the queue,
so the next worker takes it at once.

Plain module globals, no lock: the request is made from a signal handler, which must not wait
for a lock the interrupted thread may hold; reading a float is atomic.
"""

from __future__ import annotations

import time

_deadline: float | None = None


def shutdown_request(*, grace: float) -> None:
    """Ask every slice of this process to stop; calls in flight get `grace` seconds. A
    second request (a second signal) keeps the first deadline."""
    global _deadline
    if _deadline is None:
        _deadline = time.monotonic() + max(0.0, grace)


def shutdown_requested() -> bool:
    return _deadline is not None


def shutdown_deadline() -> float | None:
    """time.monotonic() after which calls still in flight are abandoned (None: no shutdown)."""
    return _deadline


def shutdown_reset() -> None:
    """Forget the request (tests; a process never resumes once it was asked to stop)."""
    global _deadline
    _deadline = None
