"""gunicorn's hooks for `inkline web` (its settings are on the command line, `commands.cmd_web`)."""

from __future__ import annotations

import gc
from typing import Any


def post_worker_init(worker: Any) -> None:
    """The application is loaded and lives as long as the worker: frozen out of the garbage
    collector, which then scans it neither in every collection nor in the last one at exit
    (seconds of every stop on a loaded machine, where all must exit within 10 s of SIGTERM)."""
    gc.collect()
    gc.freeze()
