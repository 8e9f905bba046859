"""The shared cache on the database counts exactly: increments made at the same time by
threads, each on its own connection (real concurrent transactions on PostgreSQL; on the SQLite
file, IMMEDIATE transactions that queue), all take effect. Login lockouts count there."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.cache import caches
from django.db import connections

from inkline.core.cache import SharedDatabaseCache

THREADS = 8
EACH = 15


@pytest.fixture
def shared(transactional_db: None) -> Any:
    cache = caches["shared"]
    assert isinstance(cache, SharedDatabaseCache)
    cache.clear()
    yield cache
    cache.clear()  # a transactional test's flush leaves the cache table alone


def test_concurrent_increments_are_all_counted(shared: Any) -> None:
    assert shared.add("failures", 0, timeout=60)
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def body() -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(EACH):
                caches["shared"].incr("failures")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=body) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert shared.get("failures") == THREADS * EACH


def test_incr_of_a_missing_key_raises_as_djangos_does(shared: Any) -> None:
    with pytest.raises(ValueError):
        shared.incr("nothing")
    assert shared.add("n", 1)
    assert shared.incr("n", 2) == 3
