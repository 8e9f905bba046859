"""What the pages do: forms validate next to the field, actions call the services, the
numbers shown are the database's."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client

from inkline.accounts.models import Account, Site
from inkline.automation.models import STAGE_LIMIT_FIELDS, AutomationConfig, AutomationRun
from inkline.automation.selectors import pipeline_pending
from inkline.automation.services import run_pause, run_start
from inkline.planner.models import Keyword
from inkline.web.preview import article_html
from inkline.writer.models import Content, Image
from tests.factories import add_keywords, add_tasks, only_stages, run_now
from tests.web.builders import populate

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client: Client, account: Account) -> Client:
    client.login(username="owner", password="pw")
    return client


def test_create_site_validates_next_to_the_field_then_lands_on_its_dashboard(
    owner: Client, site: Site
) -> None:
    bad = owner.post(
        "/sites/new/", {"name": "blog", "url": "not a url", "timezone": "Mars/Olympus"}
    ).content.decode()
    assert re.search(r'id_timezone_error">Select a valid choice', bad)
    assert "Enter a valid URL." in bad
    duplicate = owner.post("/sites/new/", {"name": "blog", "timezone": "UTC", "publisher": "none"})
    assert "already has a site named" in duplicate.content.decode()
    response = owner.post(
        "/sites/new/", {"name": "shop", "timezone": "Asia/Tokyo", "publisher": "static"}
    )
    created = Site.objects.get(name="shop")
    assert response["Location"] == f"/sites/{created.pk}/"
    assert created.timezone == "Asia/Tokyo"
    assert 'value="Asia/Tokyo"' in owner.get("/sites/new/").content.decode()


def test_dashboard_counts_are_the_database_counts(owner: Client, site: Site) -> None:
    populate(site, 4)
    add_keywords(site, ["one more", "and another"])
    html = owner.get(f"/sites/{site.pk}/").content.decode()
    shown = {
        int(stage): int(n)
        for stage, n in re.findall(
            r'data-stage="(\d)">.*?<strong data-pending>(\d+)</strong>', html, re.S
        )
    }
    assert shown == pipeline_pending(site.pk)
    assert shown[1] == Keyword.objects.filter(site=site, status="new").count() == 4
    assert 'data-tip="Keywords not yet in a cluster.' in html


def test_run_controls_drive_the_run_and_refusals_become_messages(owner: Client, site: Site) -> None:
    add_keywords(site)
    response = owner.post(f"/sites/{site.pk}/runs/", follow=True)
    run = AutomationRun.objects.get(site=site)
    assert f"Run {run.run_id} started." in response.content.decode()
    again = owner.post(f"/sites/{site.pk}/runs/", follow=True).content.decode()
    assert "already has an active run" in again
    assert AutomationRun.objects.filter(site=site).count() == 1

    owner.post(f"/runs/{run.run_id}/pause/")
    run.refresh_from_db()
    assert run.status == "paused"
    live = owner.get(f"/sites/{site.pk}/live/").content.decode()
    assert f"/runs/{run.run_id}/resume/" in live and "Paused by owner." in live
    refused = owner.post(f"/runs/{run.run_id}/pause/", follow=True, HTTP_REFERER="/")
    assert refused.status_code == 200 and "cannot become paused" in refused.content.decode()

    owner.post(f"/runs/{run.run_id}/resume/")
    run.refresh_from_db()
    assert run.status == "running"
    owner.post(f"/runs/{run.run_id}/cancel/", {"next": "https://evil.example.com/"})
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert "Run now" in owner.get(f"/sites/{site.pk}/live/").content.decode()


def test_run_detail_shows_results_reason_remaining_and_log(
    owner: Client, site: Site, provider: object
) -> None:
    add_tasks(site, 5)
    only_stages(site, 4, max_tasks_per_run=2)
    run = run_now(site, provider)
    html = owner.get(f"/runs/{run.run_id}/").content.decode()
    assert "reached its per-run limit of 2" in html
    assert re.search(r"class=\"stopped stopped-completed stopped-limited\"", html)
    assert "Why it stopped early" in html
    row = re.search(r'<tr data-stage="4">(.*?)</tr>', html, re.S)
    assert row is not None
    assert re.search(r'data-col="processed">2<', row.group(1))
    assert re.search(r'data-col="remaining">3 ', row.group(1))
    assert "Per-run limit reached" in row.group(1)
    log = owner.get(f"/runs/{run.run_id}/log/")
    assert log["Content-Disposition"] == f'attachment; filename="{run.run_id}.log"'
    assert b"per-run limit of 2" in b"".join(log.streaming_content)  # type: ignore[attr-defined]


def test_automation_settings_validate_and_save_with_the_next_run(owner: Client, site: Site) -> None:
    url = f"/sites/{site.pk}/automation/"
    form = {"frequency": "weekly", "scheduled_time": "25:00", "day_of_week": "2",
            "day_of_month": "1", "max_keywords_per_run": "-5"}  # fmt: skip
    for field in [*STAGE_LIMIT_FIELDS.values(), "max_credits_per_run"]:
        form.setdefault(field, "0")
    bad = owner.post(url, form)
    assert bad.status_code == 200
    text = bad.content.decode()
    assert "Enter a valid time." in text
    assert "greater than or equal to 0" in text
    form |= {"scheduled_time": "06:30", "max_keywords_per_run": "50", "is_enabled": "on",
             "stage_1_enabled": "on", "stage_4_enabled": "on"}  # fmt: skip
    with time_machine.travel(dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC), tick=False):
        assert owner.post(url, form).status_code == 302
    config = AutomationConfig.objects.get(site=site)
    assert (config.frequency, config.day_of_week, config.max_keywords_per_run) == ("weekly", 2, 50)
    assert config.stage_1_enabled and not config.stage_2_enabled
    assert config.next_run_at == dt.datetime(2026, 3, 4, 6, 30, tzinfo=dt.UTC)
    page = owner.get(url).content.decode()
    assert "Wed 4 Mar 2026, 06:30" in page
    dashboard = owner.get(f"/sites/{site.pk}/").content.decode()
    assert re.search(r"Next scheduled run: <strong data-next-run>Wed 4 Mar 2026, 06:30", dashboard)


def test_limits_panel_shows_pending_runs_needed_and_tips(owner: Client, site: Site) -> None:
    add_keywords(site)  # 24 pending
    only_stages(site, 1, 2, 3, 4, 5, 6, 7, max_keywords_per_run=10)
    html = owner.get(f"/sites/{site.pk}/automation/").content.decode()
    row = re.search(r'class="limit-row" data-stage="1">(.*?)</div>\s*</div>?', html, re.S)
    assert row is not None
    assert "Current pending: <strong>24</strong>" in html
    assert "Will take ~3 runs to process all" in html
    assert "daily publish target (3 a day)" in html
    assert "0 of 100 queue places are taken" in html


CSV = (
    "keyword,volume,difficulty,intent\n"
    "cold brew ratio,1200,30,informational\n"
    ",10,1,\n"
    "french press,abc,10,\n"
    "aeropress recipe,500,150,\n"
    "Cold  Brew Ratio,5,5,\n"
    "moka pot,90,20,commercial\n"
)


def test_csv_import_is_all_or_nothing_and_lists_bad_lines(owner: Client, site: Site) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("kw.csv", CSV.encode(), content_type="text/csv")
    html = owner.post(f"/sites/{site.pk}/keywords/", {"file": upload}).content.decode()
    assert not Keyword.objects.filter(site=site).exists()
    assert "Nothing imported: 3 lines have errors." in html
    lines = re.findall(
        r'<tr><td class="num">(\d+)</td><td><code class="line-content">[^<]*</code></td>'
        r"<td>([^<]+)</td></tr>",
        html,
    )
    assert [int(n) for n, _ in lines] == [3, 4, 5]
    assert "keyword is empty" in lines[0][1] and "volume must be a whole number" in lines[1][1]
    good = "".join(line + "\n" for n, line in enumerate(CSV.splitlines(), 1) if n not in (3, 4, 5))
    upload = SimpleUploadedFile("kw.csv", good.encode(), content_type="text/csv")
    html = owner.post(f"/sites/{site.pk}/keywords/", {"file": upload}).content.decode()
    assert "Imported 2 keywords; 1 duplicate skipped." in html
    assert sorted(Keyword.objects.filter(site=site).values_list("phrase", flat=True)) == [
        "cold brew ratio",
        "moka pot",
    ]
    no_column = SimpleUploadedFile("kw.csv", b"phrase\nx\n", content_type="text/csv")
    bad = owner.post(f"/sites/{site.pk}/keywords/", {"file": no_column}).content.decode()
    assert 'id_file_error">The header row has no &#x27;keyword&#x27; column' in bad
    missing = owner.post(f"/sites/{site.pk}/keywords/", {}).content.decode()
    assert "This field is required." in missing


def test_keyword_filters(owner: Client, site: Site) -> None:
    populate(site, 6)
    url = f"/sites/{site.pk}/keywords/"
    clustered = owner.get(url, {"status": "clustered"}).content.decode()
    assert "3 keywords" in clustered
    one = Keyword.objects.filter(site=site, cluster__isnull=False).first()
    assert one is not None and one.cluster is not None
    by_cluster = owner.get(url, {"cluster": one.cluster.pk}).content.decode()
    assert "1 keyword<" in by_cluster and one.phrase in by_cluster
    wrong = owner.get(url, {"status": "bogus"}).content.decode()
    assert "Select a valid choice" in wrong and "6 keywords" in wrong


def test_review_approve_and_reject(owner: Client, site: Site) -> None:
    populate(site, 2)
    first, second = Content.objects.filter(site=site, status="review").order_by("id")
    html = owner.get(f"/sites/{site.pk}/review/").content.decode()
    assert "Review 0" in html and "Image not generated yet" in html
    assert "The queue is full (limit 100)." in html  # an approved item's reason
    owner.post(f"/content/{first.pk}/approve/")
    owner.post(f"/content/{second.pk}/reject/", {"reason": "Off topic"})
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status, second.last_error) == ("approved", "rejected", "Off topic")
    again = owner.post(f"/content/{second.pk}/reject/", follow=True, HTTP_REFERER="/")
    assert "cannot go from rejected to rejected" in again.content.decode()


def test_article_preview_places_images_after_their_headings(site: Site) -> None:
    populate(site, 1)
    content = Content.objects.get(site=site, status="review")
    featured, inline = content.images.order_by("kind")  # featured first
    assert featured.kind == Image.Kind.FEATURED
    featured.file.name = "images/cup.png"
    html = str(article_html(content.html, [featured, inline]))
    assert html.index('<img src="/media/images/cup.png" alt="A cup"') < html.index("Intro.")
    assert html.index("One</h2>") < html.index("Image not generated yet") < html.index("Two</h2>")


def test_viewer_run_paused_before_shows_resume_only_for_editors(owner: Client, site: Site) -> None:
    add_keywords(site)
    run = run_pause(run=run_start(site=site, wake=False))
    live = owner.get(f"/sites/{site.pk}/live/").content.decode()
    assert "Resume" in live and f"/runs/{run.run_id}/pause/" not in live


PUBLISHING = {
    "scheduling_mode": "time_slots",
    "publish_days": ["mon", "wed"],
    "publish_time_slots": ["14:00", "09:00", ""],
    "stagger_start_time": "09:00",
    "stagger_end_time": "18:00",
    "stagger_interval_minutes": "15",
    "daily_publish_target": "3",
    "weekly_publish_target": "15",
    "monthly_publish_target": "50",
    "queue_limit": "100",
    "internal_links_max": "5",
}


def test_publishing_settings_validate_save_and_preview(owner: Client, site: Site) -> None:
    from inkline.publishing.models import PublishingSettings

    url = f"/sites/{site.pk}/publishing/"
    twice = owner.post(url, PUBLISHING | {"publish_time_slots": ["09:00", "09:00"]})
    assert "09:00 is listed twice" in twice.content.decode()
    backwards = owner.post(url, PUBLISHING | {"stagger_end_time": "08:00", "queue_limit": "0"})
    text = backwards.content.decode()
    assert "The end time must be after the start time." in text
    assert "At least 1." in text or "greater than or equal to 1" in text
    assert PublishingSettings.objects.get(site=site).publish_time_slots == [
        "09:00",
        "14:00",
        "18:00",
    ]
    too_many = owner.post(url, PUBLISHING | {"internal_links_max": "21"}).content.decode()
    assert "less than or equal to 20" in too_many
    assert PublishingSettings.objects.get(site=site).internal_links_max == 3
    assert owner.post(url, PUBLISHING).status_code == 302
    saved = PublishingSettings.objects.get(site=site)
    assert (saved.publish_days, saved.publish_time_slots) == (["mon", "wed"], ["09:00", "14:00"])
    assert saved.internal_links_max == 5
    with time_machine.travel(dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC), tick=False):
        page = owner.get(url).content.decode()
        preview = owner.get(f"{url}preview/", PUBLISHING | {"publish_days": ["sat"]})
    assert "Mon 2 Mar, 14:00" in page and "Wed 4 Mar, 09:00" in page
    assert "Sat 7 Mar, 09:00" in preview.content.decode()
    assert PublishingSettings.objects.get(site=site).publish_days == ["mon", "wed"]


def test_publishing_settings_hand_scheduled_posts_to_wordpress(owner: Client, site: Site) -> None:
    from inkline.publishing.models import PublishingSettings

    url = f"/sites/{site.pk}/publishing/"
    assert "Hand scheduled posts to WordPress" in owner.get(url).content.decode()
    assert owner.post(url, PUBLISHING | {"schedule_on_wordpress": "on"}).status_code == 302
    assert PublishingSettings.objects.get(site=site).schedule_on_wordpress is True
    assert owner.post(url, PUBLISHING).status_code == 302  # an unticked box turns it off
    assert PublishingSettings.objects.get(site=site).schedule_on_wordpress is False


def test_budget_must_sum_to_100_when_custom(owner: Client, site: Site) -> None:
    from inkline.billing.models import SiteAIBudgetAllocation

    url = f"/sites/{site.pk}/ai-budget/"
    shares = {"clustering_percentage": "15", "idea_generation_percentage": "10",
              "content_generation_percentage": "60", "image_prompt_extraction_percentage": "5",
              "image_generation_percentage": "30"}  # fmt: skip
    bad = owner.post(url, {"use_global_defaults": "false", **shares}).content.decode()
    assert "they add up to 120" in bad
    assert not SiteAIBudgetAllocation.objects.filter(site=site, use_global_defaults=False).exists()
    shares["content_generation_percentage"] = "40"
    assert owner.post(url, {"use_global_defaults": "false", **shares}).status_code == 302
    allocation = SiteAIBudgetAllocation.objects.get(site=site)
    assert not allocation.use_global_defaults and allocation.content_generation_percentage == 40
    AutomationConfig.objects.filter(site=site).update(max_credits_per_run=100)
    page = owner.get(url).content.decode()
    assert re.search(r'data-op="content_generation">.*?<td class="num">40</td>', page, re.S)
    assert "<path d=" in page  # the pie is drawn
    back_to_global = {"use_global_defaults": "true", **shares, "clustering_percentage": "90"}
    assert owner.post(url, back_to_global).status_code == 302
    allocation.refresh_from_db()
    assert allocation.use_global_defaults and allocation.clustering_percentage == 15


def test_credits_page_balance_chart_and_ledger(
    owner: Client, site: Site, account: Account, provider: object
) -> None:
    add_tasks(site, 2)
    only_stages(site, 4)
    run = run_now(site, provider)
    account.refresh_from_db()
    html = owner.get("/credits/").content.decode()
    assert f'<strong id="balance">{account.credits:,}</strong>' in html
    assert "<rect" in html and "Content generation <strong>" in html
    assert f"/runs/{run.run_id}/" in html and "Opening balance" in html


def test_review_shows_why_an_article_is_held(owner: Client, site: Site) -> None:
    populate(site, 1)
    Content.objects.filter(site=site, status="review").update(
        held_reason="SEO score 55 is below the site's threshold of 70.", seo_score=55
    )
    html = owner.get(f"/sites/{site.pk}/review/").content.decode()
    assert "Held for a person to decide: SEO score 55 is below" in html
    assert "SEO score 55/100" in html
