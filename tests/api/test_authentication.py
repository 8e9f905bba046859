"""Sessions and API tokens are Django's and DRF's own (issue 15), and their checks hold
through the pages and the API: a logged-out or expired session, an inactive user and an
unknown or inactive user's token are all refused."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from axes.backends import AxesStandaloneBackend
from django.contrib.auth import get_user_model, load_backend
from django.contrib.auth.backends import ModelBackend
from django.test import Client
from rest_framework.authtoken.models import Token

from inkline.accounts.models import Account, Site
from tests.api.conftest import client

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def test_the_session_store_and_token_authentication_are_djangos_and_drfs(settings: Any) -> None:
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"
    assert settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] == [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ]
    # django-axes's lockout check first (it authenticates no one), then Django's own backend.
    lockout, *backends = (load_backend(path) for path in settings.AUTHENTICATION_BACKENDS)
    assert isinstance(lockout, AxesStandaloneBackend) and not isinstance(lockout, ModelBackend)
    assert backends and all(isinstance(backend, ModelBackend) for backend in backends)


def _logged_in(account: Account) -> Client:
    browser = Client()
    assert browser.login(username="owner", password="pw")
    return browser


def _refused(browser: Client, site: Site) -> bool:
    response = browser.get(f"/sites/{site.pk}/")
    return response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_logged_out_session_cookie_is_refused(account: Account, site: Site) -> None:
    browser = _logged_in(account)
    key = browser.cookies["sessionid"].value
    assert browser.get(f"/sites/{site.pk}/").status_code == 200
    assert browser.post("/logout/").status_code == 302
    replay = Client()
    replay.cookies["sessionid"] = key
    assert _refused(replay, site)


def test_an_expired_session_is_refused(account: Account, site: Site, settings: Any) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        browser = _logged_in(account)
        traveller.shift(settings.SESSION_COOKIE_AGE - 60)
        assert browser.get(f"/sites/{site.pk}/").status_code == 200
        traveller.shift(61)
        assert _refused(browser, site)


def test_a_deactivated_users_session_and_token_are_refused(account: Account, site: Site) -> None:
    browser = _logged_in(account)
    token = Token.objects.get(user__username="owner").key
    assert browser.get(f"/sites/{site.pk}/").status_code == 200
    assert client(token).get("/api/v1/sites/").status_code == 200
    get_user_model().objects.filter(username="owner").update(is_active=False)
    assert _refused(browser, site)
    inactive = client(token).get("/api/v1/sites/")
    assert inactive.status_code == 401
    assert inactive.json()["detail"] == "User inactive or deleted."


def test_an_unknown_token_is_refused(account: Account) -> None:
    token = Token.objects.get(user__username="owner").key
    response = client(token[:-1] + ("0" if token[-1] != "0" else "1")).get("/api/v1/sites/")
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid token."
