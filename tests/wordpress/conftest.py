"""A real WordPress (tests/wordpress/server.py) for the tests in this folder.

`wordpress_server` starts one per test session and xdist worker (only when a test asks for
it); `wordpress` hands it to a test reset to a fresh install (pretty permalinks, no posts,
media or terms, an Administrator `admin` and an Author `author`, each with an application
password) and lets publishers reach it on loopback. Skipped when php, Debian's wordpress
package or MariaDB is missing, never when CI=true.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import IN_CI
from tests.wordpress.server import RealWordPress, missing


@pytest.fixture(scope="session")
def wordpress_server() -> Iterator[RealWordPress]:
    why = missing()
    if why:
        if IN_CI:
            pytest.fail(f"a real WordPress is required in CI: {why}")
        pytest.skip(f"no real WordPress: {why}")
    with RealWordPress() as server:
        yield server


@pytest.fixture
def wordpress(wordpress_server: RealWordPress, settings: Any) -> RealWordPress:
    settings.INKLINE_ALLOW_PRIVATE_TARGETS = True  # it listens on loopback
    wordpress_server.reset()
    return wordpress_server
