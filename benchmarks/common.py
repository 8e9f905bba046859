"""Shared set-up for benchmark scripts: a throwaway data dir and a migrated database, and the
machine-readable line each script prints per headline figure (collected by `run_all.py`)."""

from __future__ import annotations

import json
import os
import platform
import tempfile


def setup_django(*, data_dir: str | None = None) -> str:
    """Point Inkline at a fresh data dir (SQLite unless DATABASE_URL is set) and migrate."""
    data_dir = data_dir or tempfile.mkdtemp(prefix="inkline-bench-")
    os.environ["INKLINE_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inkline.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    return data_dir


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


# The prefix of a figure's machine-readable line; `run_all.py` collects these into the table.
REPORT_PREFIX = "BENCH "


def report(figure: str, goal: str, result: str) -> None:
    """Print one headline figure as a machine-readable line: what was measured, its goal
    ("report" when there is none) and the result, flushed so the runner sees it at once."""
    line = json.dumps({"figure": figure, "goal": goal, "result": result}, ensure_ascii=False)
    print(REPORT_PREFIX + line, flush=True)


def verdict(met: bool) -> str:
    return "meets" if met else "misses"
