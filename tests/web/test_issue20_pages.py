"""Issue 20's page fixes, at the HTTP level (the browser tests are in tests/e2e)."""

from __future__ import annotations

import pytest
from django.test import Client

from inkline.accounts.models import Account, Site
from tests.web.test_actions import PUBLISHING

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client: Client, account: Account) -> Client:
    client.login(username="owner", password="pw")
    return client


def preview_of(html: str) -> str:
    return html.split('id="preview"', 1)[1].split("</section>", 1)[0]


def test_a_refused_save_previews_the_refused_fields_not_the_days(owner: Client, site: Site) -> None:
    url = f"/sites/{site.pk}/publishing/"
    bad = PUBLISHING | {
        "scheduling_mode": "stagger",
        "publish_days": ["mon", "tue", "wed", "thu", "fri"],
        "stagger_start_time": "12:00",
        "stagger_end_time": "09:00",
        "queue_limit": "0",
    }
    preview = preview_of(owner.post(url, bad).content.decode())
    assert "publish day" not in preview
    assert 'data-field="stagger_end_time"' in preview and "End time" in preview
    assert 'data-field="queue_limit"' in preview and "Queue limit" in preview
    live = owner.get(f"{url}preview/", bad).content.decode()
    assert "publish day" not in live and 'data-field="queue_limit"' in live
    no_days = owner.get(f"{url}preview/", PUBLISHING | {"publish_days": []}).content.decode()
    assert "no publish days are selected" in no_days


def test_an_empty_chart_has_no_scale_and_a_round_top_otherwise() -> None:
    import datetime as dt

    from inkline.web.charts import nice_ceiling, stacked_bars

    days = [dt.date(2026, 3, 1) + dt.timedelta(days=n) for n in range(3)]
    empty = stacked_bars(days, {}, {})
    assert empty.empty and empty.gridlines == [] and empty.bars == []
    chart = stacked_bars(days, {days[0]: {"clustering": 3}}, {})
    assert [value for _, value in chart.gridlines] == [5]
    chart = stacked_bars(days, {days[1]: {"clustering": 1234}}, {})
    assert [value for _, value in chart.gridlines] == [1000, 2000]
    assert [nice_ceiling(n) for n in (0, 1, 3, 7, 11, 60, 2001)] == [0, 1, 5, 10, 20, 100, 5000]


def test_credits_ledger_filters_by_site_and_run_and_groups_by_run(
    owner: Client, site: Site, account: Account, provider: object
) -> None:
    from inkline.accounts.models import Account as AccountModel
    from tests.factories import add_tasks, only_stages, run_now

    add_tasks(site, 1)
    only_stages(site, 4)
    run = run_now(site, provider)
    html = owner.get("/credits/", {"run": run.run_id}).content.decode()
    assert f'class="run-group" data-run="{run.run_id}"' in html
    assert "Opening balance" not in html  # not in that run
    everything = owner.get("/credits/").content.decode()
    assert "Opening balance" in everything and "Not in a run" in everything
    other = AccountModel.objects.create(name="Other")
    foreign = Site.objects.create(account=other, name="theirs")
    refused = owner.get("/credits/", {"site": foreign.pk, "run": "run_nope"}).content.decode()
    assert "No run run_nope in this account." in refused
    by_site = owner.get("/credits/", {"site": site.pk}).content.decode()
    assert f'value="{site.pk}" selected' in by_site
    assert "Opening balance" not in by_site  # the opening balance belongs to no site


def test_the_preview_lists_the_moves_and_the_week_view_steers_the_queue(
    owner: Client, site: Site
) -> None:
    import datetime as dt

    import time_machine

    from inkline.publishing.services import content_schedule
    from inkline.writer.models import Content
    from tests.publishing.builders import approved, publishing

    publishing(site, publish_time_slots=["09:00"], publish_days=["mon", "tue", "wed"])
    ids = approved(site, 2)
    url = f"/sites/{site.pk}/publishing/"
    with time_machine.travel(dt.datetime(2026, 6, 1, 6, tzinfo=dt.UTC), tick=False):
        content_schedule(site=site)
        moved = PUBLISHING | {"publish_days": ["fri"], "publish_time_slots": ["10:00", "11:00"]}
        preview = owner.get(f"{url}preview/", moved).content.decode()
        assert "2 scheduled articles move" in preview
        assert (
            "Article a0</span>: <time>Mon 1 Jun, 09:00</time> → <time>Fri 5 Jun, 10:00" in preview
        )
        week = owner.get(f"{url}week/", {"week": "2026-06-03"}).content.decode()
        assert "Mon 1 Jun – Sun 7 Jun 2026" in week
        assert f'href="/content/{ids[0]}/"' in week and "Unschedule" in week
        assert owner.get(f"{url}week/", {"week": "June"}).status_code == 400
        article = owner.get(f"/content/{ids[0]}/").content.decode()
        assert "Article a0" in article and "Mon 1 Jun 2026, 09:00" in article
        response = owner.post(f"/content/{ids[0]}/unschedule/", {"next": f"{url}week/"})
        assert response.status_code == 302
        assert Content.objects.get(pk=ids[0]).status == "review"
        saved = owner.post(url, moved)
        assert saved.status_code == 302
        follow = owner.get(url).content.decode()
        assert "1 scheduled article moved to the new slots." in follow
    assert Content.objects.get(pk=ids[1]).scheduled_publish_at == dt.datetime(
        2026, 6, 5, 10, tzinfo=dt.UTC
    )


def test_keywords_search_sort_newest_first_and_the_report_shows_bad_lines(
    owner: Client, site: Site
) -> None:
    import re

    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.factories import add_keywords

    add_keywords(site, ["cold brew ratio", "moka pot guide", "cold brew maker"])
    from inkline.planner.models import Keyword

    Keyword.objects.filter(site=site, phrase="moka pot guide").update(volume=900, difficulty=5)
    Keyword.objects.filter(site=site, phrase="cold brew maker").update(volume=100, difficulty=50)
    url = f"/sites/{site.pk}/keywords/"

    def shown(**params: str) -> list[str]:
        html = owner.get(url, params).content.decode()
        body = html.split('id="keyword-list"', 1)[1]
        return re.findall(r"<tr><td>([^<]+)</td>", body)

    assert shown() == ["cold brew maker", "moka pot guide", "cold brew ratio"]  # newest first
    assert shown(sort="volume") == ["moka pot guide", "cold brew maker", "cold brew ratio"]
    assert shown(sort="difficulty") == ["moka pot guide", "cold brew maker", "cold brew ratio"]
    assert shown(q="COLD  Brew") == ["cold brew maker", "cold brew ratio"]
    assert owner.get(url, {"sort": "price"}).status_code == 200  # an unknown sort: ignored
    bad = b"keyword,volume\nespresso,10\n=cmd,5\nlatte,lots\n"
    html = owner.post(
        url, {"file": SimpleUploadedFile("k.csv", bad, content_type="text/csv")}
    ).content.decode()
    assert '<code class="line-content">=cmd,5</code>' in html
    assert '<code class="line-content">latte,lots</code>' in html
    one = b"keyword\ncold brew ratio\nflat white\n"
    html = owner.post(
        url, {"file": SimpleUploadedFile("k.csv", one, content_type="text/csv")}, follow=True
    ).content.decode()
    assert "1 duplicate skipped" in html and "1 duplicates" not in html
    assert "Imported 1 keyword; 1 duplicate skipped." in html


def test_the_free_slots_preview_counts_the_moves_as_made(owner: Client, site: Site) -> None:
    import datetime as dt

    import time_machine

    from inkline.publishing.services import content_schedule
    from tests.publishing.builders import approved, publishing

    publishing(site, publish_time_slots=["09:00"], publish_days=["mon"])
    approved(site, 1)
    with time_machine.travel(dt.datetime(2026, 6, 1, 6, tzinfo=dt.UTC), tick=False):
        content_schedule(site=site)
        moved = PUBLISHING | {"publish_days": ["fri"], "publish_time_slots": ["10:00"]}
        preview = owner.get(f"/sites/{site.pk}/publishing/preview/", moved).content.decode()
    slots = preview.split("data-preview>", 1)[1].split("</ol>", 1)[0]
    assert "Fri 5 Jun, 10:00" not in slots  # taken by the article that moves there
    assert "Fri 12 Jun, 10:00" in slots
