"""Shared set-up for benchmark scripts: a throwaway data dir and a migrated database."""

from __future__ import annotations

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
