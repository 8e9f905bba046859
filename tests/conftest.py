"""Shared fixtures. Tests needing PostgreSQL, Redis or Chromium skip without them, never
when CI=true. Settings: tests/settings.py (a fast password hasher, a data dir per worker)."""

from __future__ import annotations

import importlib
import os
import shutil
import socket
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.apps import AppConfig
from django.apps import apps as django_apps
from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import post_migrate

from inkline.accounts.models import Account, Site
from inkline.accounts.services import account_create, site_create
from inkline.ai.local import LocalProvider

IN_CI = os.environ.get("CI") == "true"
REPO = Path(__file__).resolve().parents[1]
default_costs = importlib.import_module("inkline.billing.migrations.0002_default_costs")


def _seed_default_costs(sender: AppConfig, **kwargs: Any) -> None:
    default_costs.seed(kwargs.get("apps") or django_apps, None)  # flush sends no `apps`


# A transactional test ends with a flush, which also empties the credit costs the billing data
# migration seeds. The flush sends post_migrate (Django recreates content types on it): seeding
# the costs there too gives every later test the migrated database, in whatever order an xdist
# worker runs the test files.
post_migrate.connect(
    _seed_default_costs, sender=django_apps.get_app_config("billing"), dispatch_uid="tests-costs"
)


def pytest_configure(config: pytest.Config) -> None:
    """The processes the tests start inherit DJANGO_SETTINGS_MODULE=tests.settings: let them
    import the `tests` package whatever their working directory."""
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def require(service: str) -> None:
    """Skip unless `service` is available; in CI a missing service is a failure."""
    available = {
        "postgres": lambda: _port_open(5432),
        "redis": lambda: _port_open(6379),
        "chromium": lambda: shutil.which("chromium") is not None,
    }[service]()
    if not available:
        if IN_CI:
            pytest.fail(f"{service} is required in CI but is not available")
        pytest.skip(f"{service} is not available")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make test` runs the suite twice, on SQLite then on PostgreSQL. A test marked
    `postgres_only` or `sqlite_only` belongs to one pass and is deselected (not skipped) in
    the other, so it runs exactly once.

    pytest-xdist's schedulers find tests by node id: of tests sharing one, only the first
    would run (under `--dist loadfile`), so a shared id stops the run."""
    shared = [nodeid for nodeid, n in Counter(item.nodeid for item in items).items() if n > 1]
    if shared:
        raise pytest.UsageError(f"tests sharing a node id: {shared[:5]}")
    on_postgres = "postgresql" in settings.DATABASES["default"]["ENGINE"]
    other = "sqlite_only" if on_postgres else "postgres_only"
    dropped = [item for item in items if item.get_closest_marker(other)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not item.get_closest_marker(other)]


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Each test starts with an empty cache: ids are reused after a rollback, so an answer
    cached by an earlier test could otherwise be taken for this test's."""
    cache.clear()


@pytest.fixture
def account(db: Any) -> Account:
    account, _ = account_create(name="Acme", username="owner", password="pw", credits=100_000)
    return account


@pytest.fixture
def site(account: Account) -> Site:
    return site_create(account=account, name="blog", url="https://blog.example.com")


@pytest.fixture
def provider() -> LocalProvider:
    return LocalProvider()
