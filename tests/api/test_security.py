"""Auth and hardening: tokens, throttling, 401 vs 403, CSRF on session requests,
`check --deploy` clean in production settings."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token

from inkline.accounts.models import Site
from tests.api.conftest import World, client

pytestmark = pytest.mark.django_db


def test_the_token_endpoint_answers_the_users_token(world: World) -> None:
    api = client()
    response = api.post("/api/v1/auth/token/", {"username": "alpha", "password": "pw"})
    assert response.status_code == 200
    assert response.json() == {"token": world.owner}
    assert client(response.json()["token"]).get("/api/v1/sites/").status_code == 200
    wrong = api.post("/api/v1/auth/token/", {"username": "alpha", "password": "nope"})
    assert wrong.status_code == 400
    assert "non_field_errors" in wrong.json()
    missing = api.post("/api/v1/auth/token/", {"username": "alpha"}, format="json")
    assert missing.status_code == 400
    assert list(missing.json()) == ["password"]


def test_the_token_endpoint_is_throttled(world: World, settings: Any) -> None:
    """Every request counts, right passwords too (wrong ones also lock out sooner:
    tests/api/test_login_lockout.py)."""
    rate = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["token"].split("/")[0])
    api = client()
    answers = [
        api.post("/api/v1/auth/token/", {"username": "alpha", "password": "pw"}).status_code
        for _ in range(rate + 1)
    ]
    assert answers[:rate] == [200] * rate
    assert answers[rate] == 429
    refused = api.post("/api/v1/auth/token/", {"username": "alpha", "password": "pw"})
    assert refused.status_code == 429
    assert "Retry-After" in refused


def test_401_without_credentials_and_403_for_a_user_of_no_account(world: World) -> None:
    anonymous = client().get("/api/v1/sites/")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == "Token"
    loner = get_user_model().objects.create_user(username="loner", password="pw")
    response = client(Token.objects.create(user=loner).key).get("/api/v1/sites/")
    assert response.status_code == 403


def test_session_requests_need_the_csrf_token(world: World) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(get_user_model().objects.get(username="alpha"))
    assert browser.get("/api/v1/sites/").status_code == 200  # safe methods need none
    refused = browser.post("/api/v1/sites/", {"name": "csrf"}, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert not Site.objects.filter(name="csrf").exists()

    secret = secrets.token_hex(16)  # 32 characters, the form Django keeps in the cookie
    browser.cookies["csrftoken"] = secret
    accepted = browser.post(
        "/api/v1/sites/",
        {"name": "csrf"},
        content_type="application/json",
        headers={"X-CSRFToken": secret},
    )
    assert accepted.status_code == 201
    # Token clients are not browsers: no CSRF token needed.
    assert client(world.owner).post("/api/v1/sites/", {"name": "t"}, format="json").status_code == (
        201
    )


def test_schema_and_docs_are_served(world: World) -> None:
    schema = client().get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/sites/{site_id}/keywords/import/" in paths
    assert "401" in paths["/api/v1/sites/"]["get"]["responses"]
    docs = client().get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
    assert client().get("/api/v1/no-such-thing/").json()["code"] == "not_found"


@pytest.mark.sqlite_only  # checks the settings, the same whatever the database
def test_check_deploy_is_clean_in_production(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "INKLINE_PRODUCTION": "true",
        "INKLINE_SECRET_KEY": secrets.token_urlsafe(64),
        "INKLINE_DATA_DIR": str(tmp_path),
        "INKLINE_ALLOWED_HOSTS": "inkline.example.com",
        "INKLINE_DEBUG": "false",
    }
    result = subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
        env={**env, "DJANGO_SETTINGS_MODULE": "inkline.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    weak = subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
        env={**env, "DJANGO_SETTINGS_MODULE": "inkline.settings", "INKLINE_SECRET_KEY": "short"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert weak.returncode != 0  # the check is real: a weak secret fails it
    assert "SECRET_KEY" in weak.stdout + weak.stderr


def test_every_ui_form_that_posts_carries_the_csrf_token(world: World) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(get_user_model().objects.get(username="alpha"))
    site, run = world.site.pk, world.run.run_id
    pages = [
        "/",
        "/sites/new/",
        f"/sites/{site}/",
        f"/sites/{site}/keywords/",
        f"/sites/{site}/review/",
        f"/sites/{site}/publishing/",
        f"/sites/{site}/ai-budget/",
        f"/runs/{run}/",
        "/credits/",
    ]
    forms = 0
    for page in pages:
        response = browser.get(page, follow=True)
        assert response.status_code == 200, page
        for form in re.findall(r"<form\b[^>]*>.*?</form>", response.content.decode(), re.S | re.I):
            if re.search(r'method=["\']?post', form, re.I):
                forms += 1
                assert 'name="csrfmiddlewaretoken"' in form, (page, form[:200])
    assert forms >= 3
