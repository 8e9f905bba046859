"""The seed's UI checklist in a real browser, against `inkline web` and a real worker.

The tests of this module run in order on one site: create it, import keywords, check the
dashboard against the database, run with a per-run limit, read the run detail, pause and
resume, cancel. Each takes a screenshot (test-artifacts/screens/)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Live, shot
from tests.factories import COFFEE

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The database's own answer to "what does each stage have pending" (see DESIGN.md).
PENDING_SQL = {
    1: "SELECT COUNT(*) FROM planner_keyword WHERE site_id=? AND status='new' AND attempts<3",
    2: "SELECT COUNT(*) FROM planner_cluster WHERE site_id=? AND status='new' AND attempts<3",
    3: "SELECT COUNT(*) FROM planner_contentidea WHERE site_id=? AND status='new' AND attempts<3",
    4: "SELECT COUNT(*) FROM writer_writingtask WHERE site_id=? AND status='queued' AND attempts<3",
    5: "SELECT COUNT(*) FROM writer_content WHERE site_id=? AND status='review'"
    " AND prompts_extracted=0 AND attempts<3",
    6: "SELECT COUNT(*) FROM writer_image WHERE site_id=? AND status='pending' AND attempts<3",
    7: "SELECT COUNT(*) FROM writer_content c WHERE site_id=? AND status='review'"
    " AND prompts_extracted=1 AND held_reason='' AND NOT EXISTS (SELECT 1 FROM writer_image i"
    " WHERE i.content_id=c.id AND i.status='pending')",
}
BAD_LINES = {3: "keyword is empty", 6: "volume must be a whole number", 9: "difficulty"}

state: dict[str, Any] = {}


def csv_with_bad_lines() -> bytes:
    rows = ["keyword,volume,difficulty"]
    good = iter(COFFEE)
    for line in range(2, len(COFFEE) + 2 + len(BAD_LINES)):
        if line == 3:
            rows.append(",10,5")
        elif line == 6:
            rows.append("moka pot,lots,5")
        elif line == 9:
            rows.append("turkish coffee,10,500")
        else:
            rows.append(f"{next(good)},{line * 10},{line}")
    return ("\n".join(rows) + "\n").encode()


def latest_run(live: Live) -> dict[str, Any]:
    row = live.one(
        "SELECT run_id, status, progress_percent, stage_results, stopped_reason, lease_owner"
        " FROM automation_automationrun WHERE site_id=? ORDER BY id DESC LIMIT 1",
        state["site_id"],
    )
    assert isinstance(row, dict)
    return row


def test_create_a_site_with_the_timezone_picker(page: Any, live: Live) -> None:
    expect(page.get_by_text("Your account has no site yet")).to_be_visible()
    shot(page, "00-welcome")
    page.get_by_role("link", name="Create your first site").click()
    page.get_by_role("button", name="Create site").click()
    expect(page.locator("#id_name_error")).to_have_text("This field is required.")
    page.get_by_label("Name").fill("Coffee Blog")
    page.get_by_label("URL").fill("https://coffee.example.com")
    page.get_by_label("Timezone").select_option("Europe/London")
    shot(page, "01-site-form")
    page.get_by_role("button", name="Create site").click()
    expect(page.get_by_role("heading", name="Automation")).to_be_visible()
    match = re.search(r"/sites/(\d+)/$", page.url)
    assert match, page.url
    state["site_id"] = int(match.group(1))
    assert live.one("SELECT timezone FROM accounts_site WHERE id=?", state["site_id"]) == (
        "Europe/London"
    )
    expect(page.locator(".switcher summary")).to_have_text("Coffee Blog")


def test_a_csv_with_bad_lines_imports_nothing_and_lists_them_then_the_fixed_file_imports(
    page: Any, live: Live
) -> None:
    page.get_by_role("link", name="Keywords", exact=True).first.click()
    page.get_by_label("CSV file").set_input_files(
        {"name": "coffee.csv", "mimeType": "text/csv", "buffer": csv_with_bad_lines()}
    )
    page.get_by_role("button", name="Import").click()
    report = page.locator("#import-report")
    expect(report).to_contain_text(f"Nothing imported: {len(BAD_LINES)} lines with errors")
    rows = report.locator("tbody tr")
    expect(rows).to_have_count(len(BAD_LINES))
    for i, (line, problem) in enumerate(BAD_LINES.items()):
        expect(rows.nth(i)).to_contain_text(str(line))
        expect(rows.nth(i)).to_contain_text(problem)
    assert live.one("SELECT COUNT(*) FROM planner_keyword WHERE site_id=?", state["site_id"]) == 0
    shot(page, "02-keywords-import-errors")
    fixed = b"".join(
        line + b"\n"
        for n, line in enumerate(csv_with_bad_lines().splitlines(), start=1)
        if n not in BAD_LINES
    )
    page.get_by_label("CSV file").set_input_files(
        {"name": "coffee.csv", "mimeType": "text/csv", "buffer": fixed}
    )
    page.get_by_role("button", name="Import").click()
    expect(report).to_contain_text(f"{len(COFFEE)} keywords imported")
    count = live.one("SELECT COUNT(*) FROM planner_keyword WHERE site_id=?", state["site_id"])
    assert count == len(COFFEE)
    expect(page.get_by_text(f"{count} keywords", exact=True)).to_be_visible()
    shot(page, "02-keywords-import")


def dashboard_matches_database(page: Any, live: Live) -> dict[int, int]:
    shown = {}
    for stage, sql in PENDING_SQL.items():
        truth = live.one(sql, state["site_id"])
        cell = page.locator(f'.stage-card[data-stage="{stage}"] [data-pending]')
        expect(cell).to_have_text(str(truth))
        shown[stage] = truth
    return shown


def test_dashboard_metrics_match_database_counts(page: Any, live: Live) -> None:
    page.goto(f"{live.url}/sites/{state['site_id']}/")
    shown = dashboard_matches_database(page, live)
    assert shown[1] == len(COFFEE) and sum(shown.values()) == shown[1]
    tip = page.locator('.stage-card[data-stage="1"] .tip')
    assert "Keywords not yet in a cluster" in (tip.get_attribute("title") or "")
    tip.hover()
    shot(page, "03-dashboard-before-run")


def test_a_limited_run_shows_accurate_progress_and_why_it_stopped(page: Any, live: Live) -> None:
    page.get_by_role("link", name="Automation", exact=True).click()
    page.locator("#id_max_tasks_per_run").fill("3")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Automation settings saved.")).to_be_visible()
    expect(page.locator("#id_max_tasks_per_run")).to_have_value("3")
    shot(page, "04-automation-settings")

    page.get_by_role("link", name="Dashboard").click()
    page.get_by_role("button", name="Run now").click()
    bar = page.locator("#live [role=progressbar]")
    samples: list[int] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        shown = int(bar.get_attribute("aria-valuenow") or 0)
        run = latest_run(live)
        # The page shows a value the database had: never ahead of it, never going back.
        assert shown <= run["progress_percent"], (shown, run)
        samples.append(shown)
        if run["status"] == "completed":
            break
        page.wait_for_timeout(150)
    assert samples == sorted(samples), samples
    assert any(0 < s < 100 for s in samples), samples
    expect(bar).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#live .pct")).to_have_text("100%")
    reason = page.locator("#live [data-stopped-reason]")
    expect(reason).to_contain_text("per-run limit of 3")
    dashboard_matches_database(page, live)
    shot(page, "05-dashboard-after-limited-run")


def test_run_detail_shows_stage_results_and_the_reason(page: Any, live: Live) -> None:
    run = latest_run(live)
    page.locator("#live .run-head").get_by_role("link", name=run["run_id"]).click()
    expect(page.locator("section.stopped")).to_contain_text("per-run limit of 3")
    import json

    results = json.loads(run["stage_results"])
    for stage, result in results.items():
        row = page.locator(f'#stage-results tr[data-stage="{stage}"]')
        for col, key in (("processed", "processed"), ("created", "created"),
                         ("failed", "failed"), ("credits", "credits_used")):  # fmt: skip
            expect(row.locator(f'[data-col="{col}"]')).to_have_text(str(result[key]))
    assert results["4"]["processed"] == 3
    remaining = live.one(PENDING_SQL[4], state["site_id"])
    expect(page.locator('tr[data-stage="4"] [data-col="remaining"]')).to_contain_text(
        f"{remaining} tasks"
    )
    with page.expect_download() as download:
        page.get_by_role("link", name=f"Download {run['run_id']}.log").click()
    log = download.value.path().read_text()
    assert "Run completed" in log and "per-run limit of 3" in log
    shot(page, "06-run-detail")


def test_pause_and_resume_from_the_dashboard(page: Any, live: Live) -> None:
    page.goto(f"{live.url}/sites/{state['site_id']}/automation/")
    page.locator("#id_max_tasks_per_run").fill("0")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Automation settings saved.")).to_be_visible()
    page.get_by_role("link", name="Dashboard").click()
    page.get_by_role("button", name="Run now").click()
    expect(page.locator("#live .run-head .badge")).to_have_text("Running", timeout=30_000)
    page.get_by_role("button", name="Pause").click()
    expect(page.locator("#live .run-head .badge")).to_have_text("Paused")
    run = latest_run(live)
    live.wait_for(
        "SELECT lease_owner FROM automation_automationrun WHERE run_id=?", run["run_id"], expect=""
    )
    frozen = latest_run(live)["progress_percent"]
    assert frozen < 100
    bar = page.locator("#live [role=progressbar]")
    expect(bar).to_have_attribute("aria-valuenow", str(frozen))
    expect(page.locator("#live [data-stopped-reason]")).to_contain_text("Paused by ada")
    shot(page, "07-dashboard-paused")
    assert latest_run(live)["progress_percent"] == frozen  # the worker let go: nothing moves
    page.get_by_role("button", name="Resume").click()
    expect(page.locator("#live .run-head .badge")).to_have_text("Completed", timeout=120_000)
    expect(bar).to_have_attribute("aria-valuenow", "100")
    assert latest_run(live)["status"] == "completed"
    dashboard_matches_database(page, live)


def test_cancel_asks_to_confirm(page: Any, live: Live) -> None:
    page.get_by_role("link", name="Keywords", exact=True).first.click()
    extra = "keyword\n" + "\n".join(f"espresso tip {i}" for i in range(12)) + "\n"
    page.get_by_label("CSV file").set_input_files(
        {"name": "more.csv", "mimeType": "text/csv", "buffer": extra.encode()}
    )
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-report")).to_contain_text("12 keywords imported")
    page.get_by_role("link", name="Dashboard").click()
    page.get_by_role("button", name="Run now").click()
    expect(page.locator("#live .run-head .badge")).to_have_text(re.compile("Queued|Running"))
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Cancel").click()
    assert latest_run(live)["status"] in ("queued", "running", "completed")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#live .run-head .badge")).to_have_text("Cancelled")
    assert latest_run(live)["status"] == "cancelled"
    shot(page, "08-dashboard-cancelled")


def test_every_list_page_renders(page: Any, live: Live) -> None:
    site = state["site_id"]
    for name, path, heading in (
        ("09-clusters", f"/sites/{site}/clusters/", "Clusters"),
        ("10-ideas", f"/sites/{site}/ideas/", "Content ideas"),
        ("11-tasks", f"/sites/{site}/tasks/", "Writing tasks"),
        ("12-review", f"/sites/{site}/review/", "Review"),
    ):
        page.goto(f"{live.url}{path}")
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        shot(page, name)


def test_publishing_settings_save_and_the_preview_follows(page: Any, live: Live) -> None:
    page.goto(f"{live.url}/sites/{state['site_id']}/publishing/")
    expect(page.locator("#queue-status")).to_contain_text("scheduled │ Queue limit: 100")
    scheduled = live.one(
        "SELECT COUNT(*) FROM writer_content WHERE site_id=? AND site_status='scheduled'",
        state["site_id"],
    )
    expect(page.locator("#queue-status")).to_have_text(
        f"{scheduled} items scheduled │ Queue limit: 100"
    )
    shot(page, "13-publishing-before")
    stagger = page.locator(".mode-stagger")
    expect(stagger).to_be_hidden()
    page.get_by_label("Staggered").check()
    expect(stagger).to_be_visible()
    expect(page.locator(".mode-time_slots")).to_be_hidden()
    page.get_by_label("Start time").fill("12:00")
    page.get_by_label("End time").fill("10:00")
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri"):
        page.get_by_label(day, exact=True).uncheck()
    page.get_by_label("Sat", exact=True).check()
    page.get_by_role("button", name="Save publishing settings").click()
    expect(page.locator("#id_stagger_end_time_error")).to_have_text(
        "The end time must be after the start time."
    )
    assert live.one("SELECT scheduling_mode FROM publishing_publishingsettings WHERE site_id=?",
                    state["site_id"]) == "time_slots"  # fmt: skip
    page.get_by_label("Start time").fill("10:00")
    page.get_by_label("End time").fill("12:00")
    page.get_by_label("Interval (minutes between publications)").fill("30")
    preview = page.locator("#preview [data-preview] li")
    # Before saving, the preview already follows the form: Saturdays, every 30 minutes.
    expect(preview.first).to_contain_text("Sat")
    expect(page.locator("#preview")).not_to_contain_text(":15")  # 30, not the former 15
    page.get_by_label("Automatically approve content").uncheck()
    page.get_by_role("button", name="Save publishing settings").click()
    expect(page.get_by_text("Publishing settings saved.")).to_be_visible()
    row = live.one(
        "SELECT scheduling_mode, publish_days, stagger_interval_minutes, auto_approval_enabled"
        " FROM publishing_publishingsettings WHERE site_id=?",
        state["site_id"],
    )
    assert row == {"scheduling_mode": "stagger", "publish_days": '["sat"]',
                   "stagger_interval_minutes": 30, "auto_approval_enabled": 0}  # fmt: skip
    texts = preview.all_inner_texts()
    assert len(texts) == 10 and all(t.startswith("Sat") for t in texts), texts
    # Ten slots always hold one whole Saturday: every stagger time, and no other.
    assert sorted({t[-5:] for t in texts}) == ["10:00", "10:30", "11:00", "11:30", "12:00"]
    shot(page, "14-publishing-after")


LOADED_IMAGE = """img => new Promise(resolve => {
    const done = () => resolve(img.naturalWidth > 0);
    if (img.complete) { done(); return; }
    img.addEventListener("load", done, {once: true});
    img.addEventListener("error", () => resolve(false), {once: true});
})"""


def waiting_for_review(n: int) -> str:
    return f"{n} article{'' if n == 1 else 's'} waiting for review."


def test_review_queue_previews_articles_with_images_and_decides(page: Any, live: Live) -> None:
    page.get_by_role("link", name="Keywords", exact=True).first.click()
    extra = "keyword\n" + "\n".join(f"mortgage refinance rates {i}" for i in range(6)) + "\n"
    page.get_by_label("CSV file").set_input_files(
        {"name": "mortgage.csv", "mimeType": "text/csv", "buffer": extra.encode()}
    )
    page.get_by_role("button", name="Import").click()
    page.get_by_role("link", name="Dashboard").click()
    page.get_by_role("button", name="Run now").click()
    expect(page.locator("#live .run-head .badge")).to_have_text("Completed", timeout=120_000)
    expect(page.locator("#live [data-stopped-reason]")).to_contain_text("manual review")
    in_review = live.one(
        "SELECT COUNT(*) FROM writer_content WHERE site_id=? AND status='review'",
        state["site_id"],
    )
    assert in_review > 1
    page.get_by_role("link", name="Review").click()
    expect(page.get_by_text(waiting_for_review(in_review))).to_be_visible()
    first = page.locator("article.review-item").first
    images = first.locator(".article img")
    expect(images.first).to_be_visible()
    assert images.count() >= 2
    # The preview's images load lazily: bring the first into view, then wait
    # for its load or error event instead of reading a state still pending.
    images.first.scroll_into_view_if_needed()
    assert images.first.evaluate(LOADED_IMAGE)
    shot(page, "15-review")
    title = first.locator(".review-head h2").inner_text()
    first.get_by_role("button", name="Approve").click()
    expect(page.get_by_text(waiting_for_review(in_review - 1))).to_be_visible()
    approved_row = page.locator("#approved-list tr", has_text=title)
    expect(approved_row).to_contain_text("Sat")  # placed into a Saturday slot
    second = page.locator("article.review-item").first
    other = second.locator(".review-head h2").inner_text()
    second.get_by_text("Reject…").click()
    second.get_by_label("Reason (optional)").fill("Too close to another article")
    second.get_by_role("button", name="Reject article").click()
    expect(page.get_by_text(f"Rejected “{other}”.")).to_be_visible()
    assert (
        live.one(
            "SELECT status FROM writer_content WHERE site_id=? AND title=?", state["site_id"], other
        )
        == "rejected"
    )


def test_a_budget_that_does_not_sum_to_100_cannot_be_saved(page: Any, live: Live) -> None:
    page.locator(".sitenav").get_by_role("link", name="AI budget").click()
    shot(page, "16-budget-global")
    page.get_by_label("Custom allocation").check()

    def slide(label: str, value: int) -> None:
        page.get_by_label(label, exact=True).evaluate(
            "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); }",
            str(value),
        )

    slide("Content generation", 60)  # 15 + 10 + 60 + 5 + 30 = 120
    total = page.locator("#budget-total")
    expect(total.locator("strong")).to_have_text("120%")
    expect(total).to_have_class(re.compile("bad"))
    save = page.get_by_role("button", name="Save budget")
    expect(save).to_be_disabled()
    shot(page, "17-budget-bad-total")
    page.locator("#budget-form").evaluate("form => form.submit()")  # past the browser check
    expect(page.locator("#budget-error")).to_contain_text("they add up to 120")
    assert live.one(
        "SELECT use_global_defaults FROM billing_siteaibudgetallocation WHERE site_id=?",
        state["site_id"],
    ) in (None, 1)
    page.get_by_label("Custom allocation").check()
    for label, value in (("Clustering", 10), ("Idea generation", 10),
                         ("Content generation", 50), ("Image prompt extraction", 5),
                         ("Image generation", 25)):  # fmt: skip
        slide(label, value)
    expect(total.locator("strong")).to_have_text("100%")
    expect(save).to_be_enabled()
    save.click()
    expect(page.get_by_text("AI budget saved.")).to_be_visible()
    expect(page.locator('.legend [data-op="content_generation"]')).to_have_text("50%")
    row = live.one(
        "SELECT use_global_defaults, content_generation_percentage"
        " FROM billing_siteaibudgetallocation WHERE site_id=?",
        state["site_id"],
    )
    assert row["use_global_defaults"] == 0 and float(row["content_generation_percentage"]) == 50
    shot(page, "18-budget-custom")


def test_a_budget_stopped_run_says_so(page: Any, live: Live) -> None:
    page.get_by_role("link", name="Automation", exact=True).click()
    page.get_by_label("Credits per run").fill("20")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Automation settings saved.")).to_be_visible()
    page.locator(".sitenav").get_by_role("link", name="AI budget").click()
    expect(page.locator('#affordability tr[data-op="content_generation"]')).to_contain_text(
        "10"  # 50% of 20 credits
    )
    shot(page, "19-budget-affordability")
    page.get_by_role("link", name="Keywords", exact=True).first.click()
    extra = "keyword\n" + "\n".join(f"marathon training plan {i}" for i in range(8)) + "\n"
    page.get_by_label("CSV file").set_input_files(
        {"name": "marathon.csv", "mimeType": "text/csv", "buffer": extra.encode()}
    )
    page.get_by_role("button", name="Import").click()
    page.get_by_role("link", name="Dashboard").click()
    page.get_by_role("button", name="Run now").click()
    expect(page.locator("#live .run-head .badge")).to_have_text("Completed", timeout=120_000)
    run = latest_run(live)
    assert "budget" in run["stopped_reason"], run
    expect(page.locator("#live [data-stopped-reason]")).to_contain_text("budget")
    spent = live.one(
        "SELECT total_credits_used FROM automation_automationrun WHERE run_id=?", run["run_id"]
    )
    assert spent <= 20
    page.locator("#live .run-head").get_by_role("link", name=run["run_id"]).click()
    expect(page.locator("section.stopped")).to_contain_text("budget")
    shot(page, "20-run-detail-budget-stop")


def test_credits_page_shows_balance_usage_and_ledger(page: Any, live: Live) -> None:
    page.get_by_role("link", name="Credits").click()
    balance = live.one("SELECT credits FROM accounts_account WHERE id=?", live.account_id)
    expect(page.locator("#balance")).to_have_text(f"{balance:,}")
    assert page.locator("svg.bars rect").count() >= 1
    moves = "SELECT COUNT(*) FROM billing_credittransaction WHERE account_id=?"
    rows = live.one(f"{moves} AND amount != 0", live.account_id)
    expect(page.locator("#ledger tbody tr:not(.run-group)")).to_have_count(min(rows, 50))
    shot(page, "21-credits")
    page.get_by_role("link", name="Show holds and releases too").click()
    expect(page.locator("#ledger")).to_contain_text("Hold for")
    assert live.one(moves, live.account_id) > rows
