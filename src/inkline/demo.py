"""The demo: an account with credits, a user, a site and a realistic keyword list (once)."""

from __future__ import annotations

import json
import secrets
from importlib import resources
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from inkline.accounts.models import Site
from inkline.automation.sites import account_create, site_create
from inkline.planner.services import keywords_import_csv

DEMO_USERNAME = "demo"
DEMO_SITE = "demo"
DEMO_CREDITS = 100_000


def demo_keywords_csv() -> bytes:
    return resources.files("inkline.planner").joinpath("data/demo_keywords.csv").read_bytes()


def ensure_demo() -> dict[str, Any]:
    """Create the demo once; later calls return the same login. The generated password is
    kept in the data directory (readable by its owner only) so it can be shown again."""
    credentials = settings.DATA_DIR / "demo_credentials.json"
    user = get_user_model().objects.filter(username=DEMO_USERNAME).first()
    if user is None:
        password = secrets.token_urlsafe(9)
        account, _ = account_create(
            name="Demo Coffee Co.",
            username=DEMO_USERNAME,
            password=password,
            credits=DEMO_CREDITS,
        )
        site = site_create(
            account=account,
            name=DEMO_SITE,
            url="https://coffee.example.com",
            timezone="Europe/London",
            publisher="static",
        )
        keywords_import_csv(site=site, data=demo_keywords_csv())
        credentials.write_text(json.dumps({"password": password}))
        credentials.chmod(0o600)
        user = get_user_model().objects.get(username=DEMO_USERNAME)
    account_id = user.membership.account_id
    site = Site.objects.get(account_id=account_id, name=DEMO_SITE)
    password = (
        json.loads(credentials.read_text())["password"] if credentials.exists() else "(unknown)"
    )
    token, _ = Token.objects.get_or_create(user=user)
    return {
        "username": DEMO_USERNAME,
        "password": password,
        "token": token.key,
        "account_id": account_id,
        "site_id": site.pk,
    }
