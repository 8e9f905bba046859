"""Settings for the test suite (pytest's DJANGO_SETTINGS_MODULE): Inkline's own settings with
three differences, all for the tests only.

- A fast password hasher: the tests create hundreds of users and hashing strength is not what
  they test. Production keeps Django's default (PBKDF2); tests/test_settings.py checks it.
- Under pytest-xdist, each worker gets its own data directory (`INKLINE_DATA_DIR/gw0`, …): the
  SQLite test database, media, logs, static sites, broker folders and the generated secret key
  live there, and two workers must never share one of those files.
- DRF's test client sends JSON by default (`APIClient().post(url, {...})`), as the API takes
  JSON only; a test that uploads a file says `format="multipart"`.

The processes the tests start inherit DJANGO_SETTINGS_MODULE (pytest-django exports it), so
they hash fast too; those that must run the product's own settings set it to inkline.settings.
"""

from __future__ import annotations

import os
from pathlib import Path

_worker = os.environ.get("PYTEST_XDIST_WORKER")
# Done once, in the xdist worker: a process it starts inherits both variables and keeps the
# INKLINE_DATA_DIR it was given.
if _worker and os.environ.get("INKLINE_TEST_WORKER") != _worker:
    _base = Path(os.environ.get("INKLINE_DATA_DIR") or "./var")
    os.environ["INKLINE_DATA_DIR"] = str(_base / _worker)
    os.environ["INKLINE_TEST_WORKER"] = _worker

from inkline.settings import *  # noqa: E402, F403
from inkline.settings import REST_FRAMEWORK  # noqa: E402

REST_FRAMEWORK = {**REST_FRAMEWORK, "TEST_REQUEST_DEFAULT_FORMAT": "json"}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
