"""The test suite's settings (tests/settings.py) differ from Inkline's only for the tests."""

from __future__ import annotations

from pathlib import Path

from django.conf import global_settings, settings

import inkline.settings as production


def test_only_the_tests_hash_passwords_fast() -> None:
    assert settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Inkline keeps Django's default list, PBKDF2 first.
    assert not hasattr(production, "PASSWORD_HASHERS")
    assert global_settings.PASSWORD_HASHERS[0].endswith(".PBKDF2PasswordHasher")


def test_each_xdist_worker_has_its_own_data_directory(worker_id: str) -> None:
    """`worker_id` is xdist's: gw0, gw1, … or "master" without -n."""
    data_dir = Path(settings.DATA_DIR)
    if worker_id != "master":
        assert data_dir.name == worker_id
    assert Path(settings.MEDIA_ROOT).parent == Path(settings.BROKER_DIR).parent == data_dir
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        assert Path(database["TEST"]["NAME"]).parent == data_dir
