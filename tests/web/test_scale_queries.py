"""The dashboard page and the pipeline endpoint cost a small, fixed number of queries
whatever the data size and the number of sites (issue #9, figure 5: at most 12; they make
9 and 6, counting the pending items afresh)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inkline.accounts.models import Account
from inkline.automation.sites import site_create
from tests.web.builders import populate

pytestmark = pytest.mark.django_db

# The endpoint authenticates with DRF's own TokenAuthentication (the token with its user),
# then reads the user's membership: one query more than the hand-written copy it replaced
# (issue 15).
DASHBOARD_QUERIES = 9
PIPELINE_QUERIES = 6


@pytest.mark.parametrize(("sites", "items"), [(1, 2), (20, 60)])
def test_dashboard_and_pipeline_make_a_fixed_number_of_queries(
    account: Account,
    sites: int,
    items: int,
    settings: Any,
    django_assert_max_num_queries: Any,
) -> None:
    made = [site_create(account=account, name=f"site {i}") for i in range(sites)]
    for site in made:
        populate(site, items)
    site = made[-1]
    web = Client()
    web.login(username="owner", password="pw")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user__username='owner')}")
    settings.INKLINE_PIPELINE_CACHE_SECONDS = 0  # count afresh on every request
    with django_assert_max_num_queries(DASHBOARD_QUERIES):
        assert web.get(f"/sites/{site.pk}/").status_code == 200
    with django_assert_max_num_queries(PIPELINE_QUERIES):
        assert api.get(f"/api/v1/sites/{site.pk}/automation/pipeline/").status_code == 200
