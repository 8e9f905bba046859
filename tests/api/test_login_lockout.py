"""Wrong passwords lock the username and the client address out (django-axes, counting in the
shared cache): the 10th wrong password in a row answers 429, and so does everything after it,
the right password included, until the lockout time has passed. The same counts hold for the
token endpoint and the login form, and across processes (tests/integration/test_lockout.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core.cache import caches
from django.test import Client, RequestFactory

from inkline.accounts.lockout import client_address
from inkline.accounts.models import Account
from tests.api.conftest import client

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.UTC)
TOKEN = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def _no_counts(db: Any) -> None:
    caches["shared"].clear()


def token(username: str, password: str, address: str = "127.0.0.1") -> Any:
    return client().post(TOKEN, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_the_tenth_wrong_password_locks_out_even_the_right_one(
    account: Account, settings: Any
) -> None:
    assert settings.INKLINE_LOGIN_FAILURE_LIMIT == 10
    with time_machine.travel(START, tick=False) as traveller:
        answers = [token("owner", f"guess-{n}").status_code for n in range(9)]
        assert answers == [400] * 9
        tenth = token("owner", "guess-9")
        assert tenth.status_code == 429
        assert tenth.json()["code"] == "locked_out"
        assert tenth["Retry-After"] == str(settings.INKLINE_LOGIN_LOCKOUT_SECONDS)
        eleventh = token("owner", "pw")
        assert eleventh.status_code == 429
        assert "token" not in eleventh.json()

        traveller.shift(settings.INKLINE_LOGIN_LOCKOUT_SECONDS - 1)
        assert token("owner", "pw").status_code == 429  # and the wait starts again
        traveller.shift(settings.INKLINE_LOGIN_LOCKOUT_SECONDS + 1)
        allowed = token("owner", "pw")
        assert allowed.status_code == 200
        assert allowed.json()["token"]


def test_the_username_is_locked_from_every_address_and_the_address_for_every_username(
    account: Account,
) -> None:
    with time_machine.travel(START, tick=False):
        for n in range(10):  # one username, ten addresses
            token("owner", "wrong", address=f"10.0.0.{n + 1}")
        assert token("owner", "pw", address="10.9.9.9").status_code == 429
        assert token("someone", "wrong", address="10.9.9.9").status_code == 400

        for n in range(10):  # one address, ten usernames
            token(f"user{n}", "wrong", address="10.1.1.1")
        assert token("someone", "wrong", address="10.1.1.1").status_code == 429
        assert token("someone", "wrong", address="10.2.2.2").status_code == 400


def test_a_forwarded_for_header_does_not_hide_the_address(account: Account) -> None:
    with time_machine.travel(START, tick=False):
        for n in range(10):
            client().post(
                TOKEN,
                {"username": f"user{n}", "password": "wrong"},
                HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
            )
        assert token("owner", "pw").status_code == 429


def test_behind_trusted_proxies_the_address_is_the_one_they_forwarded(settings: Any) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1")
    request.META["HTTP_X_FORWARDED_FOR"] = "6.6.6.6, 203.0.113.7"
    settings.INKLINE_TRUSTED_PROXIES = 0
    assert client_address(request) == "10.0.0.1"
    settings.INKLINE_TRUSTED_PROXIES = 1
    assert client_address(request) == "203.0.113.7"
    settings.INKLINE_TRUSTED_PROXIES = 2
    assert client_address(request) == "6.6.6.6"


def test_the_login_form_says_so_and_logs_in_once_the_lockout_is_over(
    account: Account, settings: Any
) -> None:
    browser = Client()
    with time_machine.travel(START, tick=False) as traveller:
        for _ in range(9):
            answer = browser.post("/login/", {"username": "owner", "password": "wrong"})
            assert answer.status_code == 200
            assert b"correct username and password" in answer.content
        locked = browser.post("/login/", {"username": "owner", "password": "wrong"})
        assert locked.status_code == 429
        assert b"Too many failed login attempts" in locked.content
        assert b'name="password"' in locked.content  # still the form
        right = browser.post("/login/", {"username": "owner", "password": "pw"})
        assert right.status_code == 429
        assert b"Too many failed login attempts" in right.content
        assert "sessionid" not in browser.cookies
        assert browser.get("/")["Location"].startswith("/login/")

        traveller.shift(settings.INKLINE_LOGIN_LOCKOUT_SECONDS + 1)
        welcome = browser.post("/login/", {"username": "owner", "password": "pw"})
        assert welcome.status_code == 302
        assert "sessionid" in browser.cookies
        home = browser.get("/")
        assert home.status_code == 200  # the welcome page, not the login form
        assert b'name="password"' not in home.content


def test_the_form_and_the_token_endpoint_count_together(account: Account) -> None:
    browser = Client()
    with time_machine.travel(START, tick=False):
        for _ in range(5):
            browser.post("/login/", {"username": "owner", "password": "wrong"})
        for _ in range(5):
            token("owner", "wrong")
        assert token("owner", "pw").status_code == 429
        assert browser.post("/login/", {"username": "owner", "password": "pw"}).status_code == 429
