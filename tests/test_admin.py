"""Every model has a working admin page, and secrets never show there."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from inkline.accounts.models import Site

pytestmark = pytest.mark.django_db

INKLINE_APPS = ("accounts", "planner", "writer", "billing", "automation", "publishing")


def test_every_inkline_model_is_registered() -> None:
    models = [m for label in INKLINE_APPS for m in apps.get_app_config(label).get_models()]
    assert len(models) >= 16
    missing = [m.__name__ for m in models if m not in admin.site._registry]
    assert missing == []


def test_changelists_render_and_hide_publisher_secrets(site: Site) -> None:
    site.set_publisher_config({"username": "bot", "application_password": "s3cret-pass"})
    site.save()
    get_user_model().objects.create_superuser("root", "r@example.com", "pw")
    client = Client()
    client.login(username="root", password="pw")
    for label in INKLINE_APPS:
        for model in apps.get_app_config(label).get_models():
            url = reverse(f"admin:{label}_{model._meta.model_name}_changelist")
            response = client.get(url)
            assert response.status_code == 200, url
            assert b"s3cret-pass" not in response.content
    change = client.get(reverse("admin:accounts_site_change", args=[site.pk]))
    assert change.status_code == 200
    assert b"s3cret-pass" not in change.content
    assert site.secrets()["application_password"] == "s3cret-pass"
    assert "s3cret-pass" not in site.publisher_secrets
