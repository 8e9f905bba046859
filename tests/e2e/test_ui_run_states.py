"""The run pages tell the truth at every moment, in a browser (issue 20, "honest states"):

- a run's page follows the run by itself while it works, with the time it has left;
- a run cancelled in the middle of a stage ends that stage as "Cancelled" with its event, and
  its figures, once it settled, are final and equal the database;
- the bar moves with the time the run takes: it no longer shows five stages of seven (71%)
  while the images, most of the run's time, are still to make;
- "Run … started." and "≈ N credits next run" do not outlive what they say.

The module works on a site of its own (created here), against the session's live server and
worker (`conftest.live`)."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Live, shot
from tests.factories import COFFEE

pytestmark = [pytest.mark.browser, pytest.mark.slow]

state: dict[str, Any] = {}


def run_row(live: Live) -> dict[str, Any]:
    row = live.one(
        "SELECT run_id, status, progress_percent, current_stage, stage_plan, stage_results,"
        " total_credits_used, lease_owner FROM automation_automationrun WHERE site_id=?"
        " ORDER BY id DESC LIMIT 1",
        state["site_id"],
    )
    assert isinstance(row, dict)
    row["stage_plan"] = json.loads(row["stage_plan"])
    row["stage_results"] = json.loads(row["stage_results"])
    return row


def import_keywords(page: Any, live: Live, phrases: list[str]) -> None:
    page.goto(f"{live.url}/sites/{state['site_id']}/keywords/")
    csv = "keyword\n" + "\n".join(phrases) + "\n"
    page.get_by_label("CSV file").set_input_files(
        {"name": "k.csv", "mimeType": "text/csv", "buffer": csv.encode()}
    )
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-report")).to_contain_text(f"{len(phrases)} keywords imported")


def wait_until(live: Live, check: Any, *, timeout: float = 120) -> dict[str, Any]:
    """Poll the site's newest run in the database until `check(run)` holds (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = run_row(live)
        if check(run):
            return run
        time.sleep(0.1)
    raise AssertionError(f"still {run_row(live)}")


def test_a_site_of_its_own(page: Any, live: Live) -> None:
    page.goto(f"{live.url}/sites/new/")
    page.get_by_label("Name").fill("Run States")
    page.get_by_label("URL").fill("https://states.example.com")
    page.get_by_role("button", name="Create site").click()
    match = re.search(r"/sites/(\d+)/$", page.url)
    assert match, page.url
    state["site_id"] = int(match.group(1))
    import_keywords(page, live, COFFEE)


def test_banner_and_next_run_estimates_do_not_outlive_what_they_say(page: Any, live: Live) -> None:
    """A whole run from the dashboard: the bar moves with the time the run takes, "Run …
    started." goes when the run ends, and the next-run estimates hide while it runs."""
    page.goto(f"{live.url}/sites/{state['site_id']}/")
    estimates = page.get_by_text(re.compile(r"credits next run"))
    expect(estimates.first).to_be_visible()
    page.get_by_role("button", name="Run now").click()
    run_id = run_row(live)["run_id"]
    banner = page.locator(".messages").get_by_text(f"Run {run_id} started.")
    expect(banner).to_be_visible()
    expect(page.locator("#live .run-head .badge")).to_have_text("Running", timeout=60_000)
    expect(estimates).to_have_count(0)  # nothing about "the next run" while this one runs
    bar = page.locator("#live [role=progressbar]")
    samples: list[tuple[int, int, int, int]] = []  # (shown, stage, done in stage, planned)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        shown = int(bar.get_attribute("aria-valuenow") or 0)
        run = run_row(live)
        stage = run["current_stage"]
        result = run["stage_results"].get(str(stage), {})
        done = result.get("processed", 0) + result.get("failed", 0)
        samples.append((shown, stage, done, run["stage_plan"].get(str(stage), 0)))
        if run["status"] != "running":
            break
        page.wait_for_timeout(100)
    assert run_row(live)["status"] == "completed"
    shown_values = [s[0] for s in samples]
    assert shown_values == sorted(shown_values), samples
    # The images (stage 6: four for each article, one call each) take most of the run: when
    # they start, the bar is well short of the 5 stages of 7 (71%) it showed before.
    early_images = [s for s in samples if s[1] == 6 and s[3] and s[2] <= s[3] // 4]
    assert early_images, samples
    assert all(s[0] < 65 for s in early_images), early_images
    expect(bar).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#live .run-head .badge")).to_have_text("Completed")
    expect(banner).to_have_count(0)  # the run ended: "started" no longer describes it
    shot(page, "20-run-ended-no-stale-banner")


# Keywords of topics far from coffee, so that they make clusters of their own and the run
# writes enough articles for a cancel to land in the middle of a stage.
DISHES = ["sourdough", "kimchi", "ramen", "tofu", "quinoa", "paella", "risotto", "gnocchi",
          "falafel", "hummus", "tempeh", "miso soup", "pho", "bibimbap", "tiramisu"]  # fmt: skip
ANGLES = ["recipe", "history", "nutrition facts", "for beginners", "vegan version", "at home",
          "mistakes to avoid", "best pan for", "how to store", "calories in"]  # fmt: skip
LONG_STAGES = (4, 5, 6)  # one AI call per item


def test_a_run_page_follows_the_run_and_a_cancel_ends_its_stage(page: Any, live: Live) -> None:
    """The run's page updates itself while the run works (with the time it has left); a
    cancel in the middle of a stage ends it as "Cancelled" with its event, and the figures
    shown once the run settled are final and equal the database."""
    import_keywords(page, live, [f"{dish} {angle}" for dish in DISHES for angle in ANGLES])
    contents_sql = "SELECT COUNT(*) FROM writer_content WHERE site_id=?"
    contents_before = live.one(contents_sql, state["site_id"])
    page.goto(f"{live.url}/sites/{state['site_id']}/")
    page.get_by_role("button", name="Run now").click()

    def mid_stage(r: dict[str, Any]) -> bool:
        stage = r["current_stage"]
        done = r["stage_results"].get(str(stage), {}).get("processed", 0)
        return stage in LONG_STAGES and 1 <= done <= r["stage_plan"].get(str(stage), 0) - 20

    run = wait_until(live, mid_stage)
    page.goto(f"{live.url}/runs/{run['run_id']}/")
    stage = run["current_stage"]
    row = page.locator(f'#stage-results tr[data-stage="{stage}"]')
    processed = row.locator('[data-col="processed"]')
    first = processed.inner_text()
    expect(processed).not_to_have_text(first)  # the page follows the run: no reload
    expect(row.locator('[data-col="status"]')).to_have_text("In progress")
    expect(page.locator("#run-live [data-time-left]")).to_contain_text(re.compile(r"left$"))
    shot(page, "21-run-detail-live")

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#run-live").get_by_role("button", name="Cancel").click()
    badge = page.locator("#run-live h1 .badge")
    expect(badge).to_have_text(re.compile("Cancelling…|Cancelled"))
    assert run_row(live)["current_stage"] == stage  # cancelled in the middle of the stage
    expect(badge).to_have_text("Cancelled")
    settled = wait_until(live, lambda r: r["lease_owner"] == "")
    result = settled["stage_results"][str(stage)]
    assert result["status"] == "cancelled"
    expect(row.locator('[data-col="status"]')).to_have_text("Cancelled")
    # "… is cancelling: the AI calls in flight finish …" no longer holds: it went.
    expect(page.locator(".messages").get_by_text("is cancelling")).to_have_count(0)
    for col, key in (("processed", "processed"), ("created", "created"),
                     ("failed", "failed"), ("credits", "credits_used")):  # fmt: skip
        expect(row.locator(f'[data-col="{col}"]')).to_have_text(str(result[key]))
    expect(page.locator("#run-live .timeline")).to_contain_text(
        f"cancelled: {result['processed']} processed"
    )
    expect(page.locator("#run-live .pct")).to_have_text(f"{settled['progress_percent']}%")
    expect(page.locator("#run-live")).not_to_have_attribute("hx-get", re.compile(".*"))
    # What the page shows is what the database holds: the articles written, the credits.
    written = settled["stage_results"]["4"]["created"]
    assert live.one(contents_sql, state["site_id"]) - contents_before == written
    captured = live.one(
        "SELECT -SUM(amount) FROM billing_credittransaction t JOIN automation_automationrun r"
        " ON r.id = t.run_id WHERE r.run_id=? AND t.kind='capture'",
        run["run_id"],
    )
    assert captured == settled["total_credits_used"]
    expect(page.locator("#run-live dl.facts").first).to_contain_text(
        f"Credits used{settled['total_credits_used']}"
    )
    assert run_row(live) == settled  # settled: nothing is written afterwards
    shot(page, "22-run-detail-cancelled")
