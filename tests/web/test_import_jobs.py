"""A large CSV uploaded on the keywords page becomes a background job: the page shows its
panel, polled by htmx every second until the job ends, then its counts or its bad lines."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from inkline.accounts.models import Account, Site
from inkline.automation.sites import account_create, site_create
from inkline.planner.models import Keyword, KeywordImportJob
from inkline.planner.services import import_job_execute

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client: Client, account: Account, settings: Any) -> Client:
    settings.INKLINE_IMPORT_SYNC_ROWS = 3
    client.login(username="owner", password="pw")
    return client


def upload(owner: Client, site: Site, text: str) -> Any:
    file = SimpleUploadedFile("big.csv", text.encode(), content_type="text/csv")
    return owner.post(f"/sites/{site.pk}/keywords/", {"file": file})


def test_a_large_upload_shows_the_job_polling_until_it_is_done(owner: Client, site: Site) -> None:
    answer = upload(owner, site, "keyword\nalpha\nbeta\ngamma\ndelta\nALPHA\n")
    job = KeywordImportJob.objects.get(site=site)
    assert answer.status_code == 302
    assert answer["Location"] == f"/sites/{site.pk}/keywords/?job={job.pk}"
    page = owner.get(answer["Location"]).content.decode()
    assert "Importing 5 lines in the background" in page
    panel = f'hx-get="/sites/{site.pk}/keywords/imports/{job.pk}/" hx-trigger="every 1s"'
    assert panel in page and "Waiting for a worker" in page
    assert not Keyword.objects.filter(site=site).exists()
    # The page shows the site's unfinished job without being told which.
    assert panel in owner.get(f"/sites/{site.pk}/keywords/").content.decode()

    import_job_execute(job_id=job.pk)
    done = owner.get(f"/sites/{site.pk}/keywords/imports/{job.pk}/").content.decode()
    assert "hx-trigger" not in done  # ended: the polling stops
    assert "<strong>4</strong> keywords imported" in done
    assert "<strong>1</strong> duplicate skipped" in done
    assert 'aria-valuenow="100"' in done
    assert Keyword.objects.filter(site=site).count() == 4
    # Once ended, the page no longer shows it unless asked for.
    assert "import-job" not in owner.get(f"/sites/{site.pk}/keywords/").content.decode()


def test_a_job_with_bad_lines_shows_them_and_imports_nothing(owner: Client, site: Site) -> None:
    upload(owner, site, "keyword,volume\nalpha,1\nbeta,lots\ngamma,3\n=evil,4\n")
    job = KeywordImportJob.objects.get(site=site)
    import_job_execute(job_id=job.pk)
    panel = owner.get(f"/sites/{site.pk}/keywords/imports/{job.pk}/").content.decode()
    assert "nothing was imported" in panel
    assert '<td class="num">3</td><td><code class="line-content">' in panel
    assert "</code></td><td>volume must be a whole number" in panel
    assert '<td class="num">5</td><td><code class="line-content">' in panel
    assert "</code></td><td>keyword starts with" in panel
    assert not Keyword.objects.filter(site=site).exists()


def test_another_account_cannot_see_the_job(owner: Client, site: Site) -> None:
    upload(owner, site, "keyword\na1\na2\na3\na4\n")
    job = KeywordImportJob.objects.get(site=site)
    account_create(name="Other", username="other", password="pw", credits=0)
    stranger = Client()
    stranger.login(username="other", password="pw")
    assert stranger.get(f"/sites/{site.pk}/keywords/imports/{job.pk}/").status_code == 404
    other_site = site_create(account=job.site.account, name="second")
    # Of the same account but another site: not this site's job.
    assert owner.get(f"/sites/{other_site.pk}/keywords/imports/{job.pk}/").status_code == 404
    assert (
        str(job.pk)
        not in owner.get(f"/sites/{other_site.pk}/keywords/?job={job.pk}").content.decode()
    )
