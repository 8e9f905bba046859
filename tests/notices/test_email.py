"""Email notices through SMTP when the settings say so (console by default)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from inkline.accounts.models import Account
from inkline.notices.models import Delivery, EventKind
from inkline.notices.services import deliveries_send_due, event_emit
from tests.notices.smtp_server import smtp_server


@pytest.mark.django_db
def test_an_owner_gets_the_notice_through_an_smtp_server(account: Account, settings: Any) -> None:
    get_user_model().objects.filter(username="owner").update(email="owner@example.com")
    with smtp_server() as box:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", box.port
        settings.EMAIL_USE_TLS = False
        settings.DEFAULT_FROM_EMAIL = "notices@inkline.test"
        with transaction.atomic():
            event_emit(
                account_id=account.pk,
                kind=EventKind.ARTICLE_FAILED,
                payload={"site": {"id": 1, "name": "blog"}, "message": "It gave up."},
            )
        assert list(deliveries_send_due().values()) == ["delivered"]
    ((sender, to, data),) = box.messages
    assert (sender, to) == ("notices@inkline.test", ["owner@example.com"])
    assert "Subject: [Inkline] An article failed to publish: blog" in data
    assert "It gave up." in data
    assert Delivery.objects.get().status == "delivered"


@pytest.mark.django_db
def test_an_smtp_server_that_is_down_is_retried(account: Account, settings: Any) -> None:
    get_user_model().objects.filter(username="owner").update(email="owner@example.com")
    with smtp_server() as box:
        port = box.port  # closed once the block ends
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    with transaction.atomic():
        event_emit(account_id=account.pk, kind=EventKind.BUDGET_ALERT, payload={"message": "x"})
    assert list(deliveries_send_due().values()) == ["retry"]
    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and "ConnectionRefusedError" in delivery.error


@pytest.mark.sqlite_only  # the settings, the same whatever the database
@pytest.mark.parametrize(
    ("env", "backend"),
    [
        ({}, "django.core.mail.backends.console.EmailBackend"),
        ({"INKLINE_EMAIL_BACKEND": "smtp"}, "django.core.mail.backends.smtp.EmailBackend"),
        (
            {"INKLINE_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend"},
            "django.core.mail.backends.filebased.EmailBackend",
        ),
    ],
)
def test_the_email_backend_comes_from_the_environment(
    env: dict[str, str], backend: str, tmp_path: Any
) -> None:
    code = (
        "from django.conf import settings as s; "
        "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.DEFAULT_FROM_EMAIL)"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("INKLINE_EMAIL_")}
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={
            **base,
            "DJANGO_SETTINGS_MODULE": "inkline.settings",
            "INKLINE_DATA_DIR": str(tmp_path),
            "INKLINE_EMAIL_HOST": "mail.example.com",
            "INKLINE_EMAIL_PORT": "2525",
            "INKLINE_EMAIL_FROM": "ops@example.com",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.split() == [backend, "mail.example.com", "2525", "True", "ops@example.com"]
