"""Every /api/v1/ route: each app's `api.urlpatterns`, gathered here."""

from django.urls import URLPattern, URLResolver

from inkline.accounts import api as accounts
from inkline.automation import api as automation
from inkline.automation import retry
from inkline.billing import api as billing
from inkline.notices import api as notices
from inkline.planner import api as planner
from inkline.publishing import api as publishing
from inkline.writer import api as writer

urlpatterns: list[URLPattern | URLResolver] = [
    *accounts.urlpatterns,
    *planner.urlpatterns,
    *writer.urlpatterns,
    *automation.urlpatterns,
    *retry.urlpatterns,
    *publishing.urlpatterns,
    *billing.urlpatterns,
    *notices.urlpatterns,
]
