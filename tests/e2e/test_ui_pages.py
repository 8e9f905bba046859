"""Issue 20's page bugs in a real browser, each failing on the code before its fix: the
publishing preview names the refused fields, markup-only keywords are refused, a budget with
decimals adds up, and the credits and automation pages read right."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import subprocess
import sys
import zoneinfo
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Live, logged_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

state: dict[str, Any] = {}


@pytest.fixture(scope="module")
def page(browser: Any, live: Live) -> Iterator[Any]:
    """A logged-in tab on a site of its own (other browser modules may have made sites)."""
    with logged_in(browser, live) as tab:
        tab.goto(f"{live.url}/sites/new/")
        tab.get_by_label("Name").fill("Pages Blog")
        tab.get_by_label("Timezone").select_option("Europe/Paris")
        tab.get_by_role("button", name="Create site").click()
        match = re.search(r"/sites/(\d+)/$", tab.url)
        assert match, tab.url
        state["site_id"] = int(match.group(1))
        yield tab


def site_url(live: Live, path: str = "") -> str:
    return f"{live.url}/sites/{state['site_id']}/{path}"


def test_a_refused_publishing_save_names_the_fields_it_refused(page: Any, live: Live) -> None:
    """Bug 2: staggered 12:00–09:00 with a queue limit of 0 was refused, and the preview
    blamed the publish days (five were ticked); the live preview said "Fix the highlighted
    fields" with nothing highlighted."""
    page.goto(site_url(live, "publishing/"))
    page.get_by_label("Staggered").check()
    page.get_by_label("Start time").fill("12:00")
    page.get_by_label("End time").fill("09:00")
    page.get_by_label("Queue limit").fill("0")
    page.get_by_label("Queue limit").dispatch_event("change")
    preview = page.locator("#preview")
    # The live preview, before saving: the two fields by name, and highlighted.
    expect(preview.locator("[data-problems]")).to_be_visible()
    expect(preview).to_contain_text("End time")
    expect(preview).to_contain_text("Queue limit")
    expect(preview).not_to_contain_text("publish day")
    expect(page.locator("#stagger_end_time-field")).to_have_class(re.compile("has-error"))
    expect(page.locator("#queue_limit-field")).to_have_class(re.compile("has-error"))
    expect(page.locator("#publish_days-field")).not_to_have_class(re.compile("has-error"))
    page.get_by_role("button", name="Save publishing settings").click()
    expect(page.locator("#id_stagger_end_time_error")).to_be_visible()
    expect(page.locator("#id_queue_limit_error")).to_be_visible()
    expect(preview).to_contain_text("End time")
    expect(preview).to_contain_text("Queue limit")
    expect(preview).not_to_contain_text("publish day")
    highlighted = page.locator("#publishing-form .field.has-error")
    expect(highlighted).to_have_count(2)
    shot(page, "pages-01-publishing-refused")
    # Fixing one field leaves the other named and highlighted; fixing both brings slots.
    page.get_by_label("End time").fill("18:00")
    page.get_by_label("End time").dispatch_event("change")
    expect(preview).not_to_contain_text("End time")
    expect(page.locator("#stagger_end_time-field")).not_to_have_class(re.compile("has-error"))
    expect(page.locator("#queue_limit-field")).to_have_class(re.compile("has-error"))
    page.get_by_label("Queue limit").fill("50")
    page.get_by_label("Queue limit").dispatch_event("change")
    expect(preview.locator("[data-preview] li")).to_have_count(10)
    expect(highlighted).to_have_count(0)
    # No day at all: the preview says so (and only then).
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri"):
        page.get_by_label(day, exact=True).uncheck()
    expect(preview.locator("[data-no-slot]")).to_contain_text("no publish days")
    assert live.one(
        "SELECT queue_limit FROM publishing_publishingsettings WHERE site_id=?", state["site_id"]
    ) in (None, 100)


def test_a_keyword_of_markup_alone_is_refused_at_import(page: Any, live: Live) -> None:
    """Bug 5: such a keyword became an idea with an empty keyword and an article titled
    ": The Basics". It is refused on its line; no markup runs on the page."""
    page.goto(site_url(live, "keywords/"))
    page.on("dialog", lambda dialog: pytest.fail(f"markup ran: {dialog.message}"))
    data = "keyword\ncold brew ratio\n<img src=x onerror=alert(1)>\nmoka pot\n"
    page.get_by_label("CSV file").set_input_files(
        {"name": "bad.csv", "mimeType": "text/csv", "buffer": data.encode()}
    )
    page.get_by_role("button", name="Import").click()
    report = page.locator("#import-report")
    expect(report).to_contain_text("Nothing imported: 1 line with errors")
    row = report.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("3")
    expect(row).to_contain_text("no letters or digits")
    assert live.one("SELECT COUNT(*) FROM planner_keyword WHERE site_id=?", state["site_id"]) == 0
    shot(page, "pages-02-keywords-markup-refused")


def test_a_budget_split_with_decimals_adds_up_and_saves(page: Any, live: Live) -> None:
    """Bug 3: 33.33/33.33/33.34/0/0 (accepted by the API) showed "Total: 99%" with Save
    disabled; the sliders moved in whole steps only."""
    page.goto(site_url(live, "ai-budget/"))
    page.get_by_label("Custom allocation").check()
    shares = {
        "Clustering": "33.33",
        "Idea generation": "33.33",
        "Content generation": "33.34",
        "Image prompt extraction": "0",
        "Image generation": "0",
    }
    for label, value in shares.items():
        page.get_by_label(label, exact=True).fill(value)
    total = page.locator("#budget-total strong")
    expect(total).to_have_text("100%")
    save = page.get_by_role("button", name="Save budget")
    expect(save).to_be_enabled()
    # The slider follows the box, and the preview pie has a slice for each non-zero share.
    slider = page.get_by_label("Clustering slider")
    assert slider.input_value() == "33.33"
    preview = page.locator("#budget-pie-preview path[d^='M']")
    expect(preview).to_have_count(3)
    # Moving a slider moves its box, to the hundredth, and the total with it.
    slider.evaluate(
        "el => { el.value = '10.5'; el.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    expect(page.get_by_label("Clustering", exact=True)).to_have_value("10.5")
    expect(total).to_have_text("77.17%")
    expect(save).to_be_disabled()
    page.get_by_label("Clustering", exact=True).fill("33.33")
    expect(total).to_have_text("100%")
    shot(page, "pages-03-budget-decimals")
    save.click()
    expect(page.get_by_text("AI budget saved.")).to_be_visible()
    row = live.one(
        "SELECT use_global_defaults, clustering_percentage, content_generation_percentage"
        " FROM billing_siteaibudgetallocation WHERE site_id=?",
        state["site_id"],
    )
    assert row["use_global_defaults"] == 0
    assert (str(row["clustering_percentage"]), str(row["content_generation_percentage"])) == (
        "33.33",
        "33.34",
    )
    expect(page.locator('.legend [data-op="content_generation"]')).to_have_text("33.34%")


KEYWORDS = [
    "cold brew ratio",
    "cold brew concentrate",
    "best cold brew maker",
    "french press ratio",
    "french press grind size",
    "how to use a french press",
]


def populate(live: Live) -> None:
    """Keywords, a finished run and its articles (approved and scheduled, or in review), so
    that every page has rows to show; once per module."""
    if state.get("populated"):
        return
    csv_path = live.data_dir / "pages-keywords.csv"
    csv_path.write_text(
        "keyword,volume,difficulty\n"
        + "".join(f"{k},{1000 + 250 * i},{10 + i}\n" for i, k in enumerate(KEYWORDS))
    )
    site = str(state["site_id"])
    live.inkline("import-keywords", site, str(csv_path))
    # A run with failed items exits 1; the pages are what is tested here.
    with contextlib.suppress(subprocess.CalledProcessError):
        live.inkline("run", site, "--wait")
    state["run_id"] = live.one(
        "SELECT run_id FROM automation_automationrun WHERE site_id=? ORDER BY id DESC LIMIT 1",
        state["site_id"],
    )
    state["article_id"] = live.one(
        "SELECT id FROM writer_content WHERE site_id=? ORDER BY id LIMIT 1", state["site_id"]
    )
    state["populated"] = True


def every_page(live: Live) -> dict[str, str]:
    """Every page of the app, by a short name (the site's pages, the account's, a run)."""
    site = state["site_id"]
    return {
        "dashboard": f"/sites/{site}/",
        "keywords": f"/sites/{site}/keywords/",
        "clusters": f"/sites/{site}/clusters/",
        "ideas": f"/sites/{site}/ideas/",
        "tasks": f"/sites/{site}/tasks/",
        "review": f"/sites/{site}/review/",
        "automation": f"/sites/{site}/automation/",
        "publishing": f"/sites/{site}/publishing/",
        "ai-budget": f"/sites/{site}/ai-budget/",
        "site-settings": f"/sites/{site}/settings/",
        "run-detail": f"/runs/{state['run_id']}/",
        "queue-week": f"/sites/{site}/publishing/week/",
        "article": f"/content/{state['article_id']}/",
        "credits": "/credits/",
        "new-site": "/sites/new/",
    }


OVERFLOW = """() => {
    const root = document.documentElement;
    const wide = [...document.querySelectorAll('body *')]
        .filter(el => el.getBoundingClientRect().right > root.clientWidth + 1)
        .filter(el => !el.closest('table.data, .scroll-x'))
        .slice(0, 5)
        .map(el => `${el.tagName}.${el.className} ${Math.round(el.getBoundingClientRect().right)}`);
    return {scroll: root.scrollWidth, client: root.clientWidth, wide};
}"""


@pytest.mark.parametrize("width", [390, 360])
def test_every_page_fits_a_phone_without_horizontal_scroll(
    browser: Any, page: Any, live: Live, width: int
) -> None:
    """Bug 4: at 390 px the page grew to ~855 px, the top bar and tabs did not wrap, "Log
    out" left the bar, limit rows and tables spilled out of their cards. Wide tables scroll
    inside their own box; the page itself never scrolls sideways."""
    populate(live)
    problems = {}

    def measure_login(tab: Any) -> None:
        measured = tab.evaluate(OVERFLOW)
        if measured["scroll"] > measured["client"]:
            problems["login"] = measured

    with logged_in(browser, live, width=width, height=844, on_login=measure_login) as phone:
        for name, path in every_page(live).items():
            phone.goto(f"{live.url}{path}")
            measured = phone.evaluate(OVERFLOW)
            if measured["scroll"] > measured["client"]:
                problems[name] = measured
            if width == 390:
                shot(phone, f"pages-390-{name}")
        assert not problems, problems
        # The top bar keeps "Log out" on screen, inside the bar.
        logout = phone.get_by_role("button", name="Log out")
        box, bar = logout.bounding_box(), phone.locator(".topbar").bounding_box()
        assert box and bar and box["x"] + box["width"] <= width
        assert bar["y"] <= box["y"] and box["y"] + box["height"] <= bar["y"] + bar["height"]
        # Help is reachable without hovering: the stages' help opens with a tap.
        phone.goto(f"{live.url}/sites/{state['site_id']}/")
        helper = phone.locator("#stage-help")
        helper.locator("summary").click()
        expect(helper).to_contain_text("Stage 1 groups them")


def test_limit_labels_credits_separators_and_the_ledger_by_run(page: Any, live: Live) -> None:
    """Bug 7 (smaller): the stage 5 and stage 7 limit inputs shared the label "Articles per
    run"; the credits page had no thousands separators and one flat ledger."""
    populate(live)
    page.goto(site_url(live, "automation/"))
    expect(page.get_by_label("Stage 5 limit: articles per run")).to_have_count(1)
    expect(page.get_by_label("Stage 7 limit: articles per run")).to_have_count(1)
    expect(page.get_by_label("Articles per run", exact=True)).to_have_count(0)
    page.get_by_label("Stage 7 limit: articles per run").fill("4")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Automation settings saved.")).to_be_visible()
    assert (
        live.one(
            "SELECT max_approvals_per_run FROM automation_automationconfig WHERE site_id=?",
            state["site_id"],
        )
        == 4
    )
    page.goto(f"{live.url}/credits/")
    balance = live.one("SELECT credits FROM accounts_account WHERE id=?", live.account_id)
    assert balance >= 1000
    expect(page.locator("#balance")).to_have_text(f"{balance:,}")
    run_id = state["run_id"]
    group = page.locator(f'#ledger tr.run-group[data-run="{run_id}"]')
    expect(group).to_have_count(1)
    expect(group).to_contain_text("Pages Blog")
    page.get_by_label("Run", exact=True).fill(run_id)
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#ledger tr.run-group")).to_have_count(1)
    charged = live.one(
        "SELECT COUNT(*) FROM billing_credittransaction c JOIN automation_automationrun r"
        " ON r.id = c.run_id WHERE r.run_id=? AND c.amount != 0",
        run_id,
    )
    expect(page.locator("#ledger tbody tr:not(.run-group)")).to_have_count(min(charged, 50))
    page.get_by_label("Site", exact=True).select_option(label="Pages Blog")
    page.get_by_label("Run", exact=True).fill("")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#ledger")).not_to_contain_text("Opening balance")
    shot(page, "pages-04-credits-by-run")


PUBLISH_AT = """
import datetime as dt, sys
import time_machine
from inkline.cli import main
with time_machine.travel(dt.datetime.fromisoformat(sys.argv[1]), tick=False):
    sys.exit(main(["publish", sys.argv[2], "--json"]))
"""


def scheduled_rows(live: Live) -> list[dict[str, Any]]:
    with contextlib.closing(live.db()) as conn:
        rows = conn.execute(
            "SELECT id, title, scheduled_publish_at FROM writer_content WHERE site_id=?"
            " AND site_status='scheduled' ORDER BY scheduled_publish_at, id",
            (state["site_id"],),
        ).fetchall()
    return [dict(row) for row in rows]


def test_new_publishing_settings_move_the_queue_previewed_then_published_on_time(
    page: Any, live: Live
) -> None:
    """Bug 6: changing the publishing settings left scheduled articles at their old slots.
    Settings change → the preview lists the moves → save → new slots, shown in the week
    view, where an article can be unscheduled → published at the new time."""
    populate(live)
    page.goto(site_url(live, "review/"))
    while len(scheduled_rows(live)) < 2 and page.locator("article.review-item").count():
        before = len(scheduled_rows(live))
        page.locator("article.review-item").first.get_by_role("button", name="Approve").click()
        live.wait_for(
            "SELECT COUNT(*) FROM writer_content WHERE site_id=? AND site_status='scheduled'",
            state["site_id"],
            expect=before + 1,
        )
    before = scheduled_rows(live)
    assert len(before) >= 2, before
    page.goto(site_url(live, "publishing/"))
    page.get_by_label("Staggered").check()
    page.get_by_label("Start time").fill("07:00")
    page.get_by_label("End time").fill("08:00")
    page.get_by_label("Interval (minutes between publications)").fill("30")
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri"):
        page.get_by_label(day, exact=True).uncheck()
    page.get_by_label("Sun", exact=True).check()
    moves = page.locator("#preview [data-moves]")
    expect(moves).to_contain_text(f"{len(before)} scheduled articles move")
    for row in before:
        expect(moves).to_contain_text(row["title"])
    assert scheduled_rows(live) == before  # a preview writes nothing
    shot(page, "pages-05-publishing-moves-preview")
    page.get_by_role("button", name="Save publishing settings").click()
    expect(page.get_by_text(f"{len(before)} scheduled articles moved")).to_be_visible()
    after = scheduled_rows(live)
    assert [r["id"] for r in after] == [r["id"] for r in before]  # the same order
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    local = [
        dt.datetime.fromisoformat(r["scheduled_publish_at"])
        .replace(tzinfo=dt.UTC)
        .astimezone(paris)
        for r in after
    ]
    assert all(
        t.strftime("%a") == "Sun" and t.strftime("%H:%M") in ("07:00", "07:30", "08:00")
        for t in local
    ), local
    # The week view of the first new slot: titles link to the articles.
    page.get_by_role("link", name="Week view").click()
    page.goto(f"{site_url(live, 'publishing/week/')}?week={local[0]:%Y-%m-%d}")
    sunday = page.locator(f'.week-day[data-date="{local[0]:%Y-%m-%d}"]')
    first = sunday.locator(f'[data-content="{after[0]["id"]}"]')
    expect(first).to_contain_text(local[0].strftime("%H:%M"))
    shot(page, "pages-06-queue-week")
    # Unschedule the last one from the week view; it goes back to review.
    last = page.locator(f'[data-content="{after[-1]["id"]}"]')
    last.get_by_role("button", name="Unschedule").click()
    expect(page.get_by_text("is out of the schedule")).to_be_visible()
    assert live.one("SELECT status FROM writer_content WHERE id=?", after[-1]["id"]) == "review"
    first.get_by_role("link").click()
    expect(page.locator("#article-title")).to_have_text(after[0]["title"])
    # Published at the new time: the real `inkline publish`, its clock at the new slot.
    due = local[0].astimezone(dt.UTC) + dt.timedelta(seconds=1)
    out = subprocess.run(
        [sys.executable, "-c", PUBLISH_AT, due.isoformat(), str(state["site_id"])],
        env=live.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    published = {row["id"]: row["outcome"] for row in json.loads(out)["items"]}
    assert published == {after[0]["id"]: "published"}, out
    row = live.one(
        "SELECT site_status, published_at FROM writer_content WHERE id=?", after[0]["id"]
    )
    assert row["site_status"] == "published"
    assert dt.datetime.fromisoformat(row["published_at"]).replace(tzinfo=dt.UTC) == due


def test_keywords_search_sort_and_an_import_report_that_shows_the_lines(
    page: Any, live: Live
) -> None:
    """Keywords: search, sort by volume, newest import first; the report shows each bad
    line's content; "1 duplicate", not "1 duplicates"."""
    populate(live)
    page.goto(site_url(live, "keywords/"))
    data = "keyword,volume\ncold brew ratio,5\nflat white recipe,70000\n"
    page.get_by_label("CSV file").set_input_files(
        {"name": "more.csv", "mimeType": "text/csv", "buffer": data.encode()}
    )
    page.get_by_role("button", name="Import").click()
    report = page.locator("#import-report")
    expect(report).to_contain_text("1 keyword imported")
    expect(report).to_contain_text("1 duplicate skipped")
    rows = page.locator("#keyword-list tbody tr")
    expect(rows.first).to_contain_text("flat white recipe")  # the newest import first
    page.get_by_label("Sort by").select_option("volume")
    page.get_by_label("Search").fill("FRENCH press")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(3)
    volumes = [
        int(v.replace(",", "")) for v in rows.locator("td.num:nth-child(2)").all_inner_texts()
    ]
    assert volumes == sorted(volumes, reverse=True), volumes
    bad = "keyword,volume\nlatte art,lots\n"
    page.get_by_label("CSV file").set_input_files(
        {"name": "bad.csv", "mimeType": "text/csv", "buffer": bad.encode()}
    )
    page.get_by_role("button", name="Import").click()
    expect(report.locator("tbody tr")).to_contain_text("latte art,lots")
    shot(page, "pages-07-keywords")
