"""The `inkline` command as a user runs it: a real process on a fresh data dir."""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from inkline import commands
from inkline.accounts.models import Site
from inkline.ai.local import LocalProvider
from inkline.ai.types import AIError, ArticleIn, ArticleResult
from inkline.automation import engine
from inkline.automation.models import AutomationRun
from inkline.automation.services import run_cancel
from tests.factories import add_tasks, only_stages

# The commands run on the embedded default database whatever the pass: they run once, in the
# SQLite pass.
pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]


def inkline(
    data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INKLINE_DATA_DIR": str(data_dir), **(env or {})}
    env.pop("DATABASE_URL", None)  # the embedded default
    return subprocess.run(
        [sys.executable, "-m", "inkline.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def demo_init(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A data dir after `init --demo --json`, and what that printed."""
    data_dir = tmp_path_factory.mktemp("cli")
    result = inkline(data_dir, "init", "--demo", "--json")
    assert result.returncode == 0, result.stderr
    return data_dir, json.loads(result.stdout)


@pytest.fixture(scope="module")
def demo_dir(demo_init: tuple[Path, dict[str, Any]]) -> Path:
    return demo_init[0]


def test_init_demo_is_idempotent_and_prints_the_login(
    demo_init: tuple[Path, dict[str, Any]],
) -> None:
    demo_dir, first = demo_init  # on a fresh data dir
    second = json.loads(inkline(demo_dir, "init", "--demo", "--json").stdout)
    assert first == second
    assert set(first) == {"username", "password", "token", "account_id", "site_id", "url"}
    assert first["username"] == "demo" and len(first["password"]) >= 8
    assert first["url"].startswith("http://")


def test_status_json_counts_the_demo_keywords(demo_dir: Path) -> None:
    result = inkline(demo_dir, "status", "demo", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert [s["stage"] for s in summary["stages"]] == [1, 2, 3, 4, 5, 6, 7]
    csv_rows = (
        Path(__file__).resolve().parents[1] / "src/inkline/planner/data/demo_keywords.csv"
    ).read_text()
    assert summary["stages"][0]["pending"] == len(csv_rows.strip().splitlines()) - 1
    assert summary["active_run"] is None


def make_shop(tmp_path: Path) -> None:
    """A fresh data dir with account "Shop" and its site "shop" with 4 keywords."""
    assert inkline(tmp_path, "init").returncode == 0
    created = inkline(
        tmp_path, "create-account", "Shop", "--username", "u1", "--password", "pw",
        "--credits", "50000", "--json",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["username"] == "u1"
    # a site and keywords, through the product's own code
    script = (
        "import django,os;os.environ.setdefault('DJANGO_SETTINGS_MODULE','inkline.settings');"
        "django.setup();from inkline.accounts.models import Account;"
        "from inkline.automation.sites import site_create;"
        "site_create(account=Account.objects.get(name='Shop'), name='shop')"
    )
    env = {**os.environ, "INKLINE_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=120)
    csv = tmp_path / "k.csv"
    csv.write_text(
        "keyword,volume\ncold brew ratio,100\nhow to make cold brew,90\n"
        "best french press,80\nfrench press ratio,70\n"
    )
    imported = inkline(tmp_path, "import-keywords", "shop", str(csv), "--json")
    assert imported.returncode == 0, imported.stderr
    report = json.loads(imported.stdout)
    assert report["created"] == 4 and report["errors"] == []


def test_run_wait_takes_a_site_from_keywords_to_approved_articles(tmp_path: Path) -> None:
    make_shop(tmp_path)
    result = inkline(tmp_path, "run", "shop", "--wait", "--json")
    assert result.returncode == 0, result.stderr
    run = json.loads(result.stdout)
    assert run["status"] == "completed" and run["outcome"] == "completed"
    assert run["progress_percent"] == 100
    assert run["stage_results"]["1"]["processed"] == 4
    assert run["stage_results"]["7"]["processed"] == run["stage_results"]["4"]["created"] > 0
    assert all(v == 0 for v in run["items_remaining"].values())

    pretty = inkline(tmp_path, "run", "shop", "--wait")
    assert pretty.returncode == 0
    assert "completed" in pretty.stdout and "Stopped reason" in pretty.stdout


def test_run_wait_against_a_dead_endpoint_exits_1_naming_it(tmp_path: Path) -> None:
    """The `openai` provider at an address where nothing listens: the run is `failed` within
    30 s, its reason names the endpoint, nothing is charged, and the exit status is 1."""
    make_shop(tmp_path)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = f"http://127.0.0.1:{port}/v1"
    env = {
        "INKLINE_AI_PROVIDER": "openai",
        "OPENAI_BASE_URL": dead,
        "OPENAI_API_KEY": "sk-test",
        "INKLINE_OPENAI_MAX_RETRIES": "0",
        "INKLINE_OPENAI_TIMEOUT": "5",
    }
    started = time.monotonic()
    result = inkline(tmp_path, "run", "shop", "--wait", "--json", env=env)
    assert time.monotonic() - started < 30
    assert result.returncode == 1, result.stderr
    run = json.loads(result.stdout)
    assert run["status"] == run["outcome"] == "failed"
    assert dead in run["stopped_reason"]
    assert run["total_credits_used"] == 0
    assert run["items_remaining"]["stage_1"] == 4  # nothing left the pending set

    pretty = inkline(tmp_path, "run", "shop", "--wait", env=env)
    assert pretty.returncode == 1
    assert "failed" in pretty.stdout and dead in pretty.stdout.replace("\n", "")


def test_bad_usage_exits_2_with_a_usage_line(demo_dir: Path) -> None:
    unknown_site = inkline(demo_dir, "status", "no-such-site")
    assert unknown_site.returncode == 2
    assert "usage: inkline status" in unknown_site.stderr
    assert "no site" in unknown_site.stderr
    no_args = inkline(demo_dir, "run")
    assert no_args.returncode == 2 and "usage:" in no_args.stderr
    missing_file = inkline(demo_dir, "import-keywords", "demo", "nope.csv")
    assert missing_file.returncode == 2 and "no such file" in missing_file.stderr


def test_a_second_run_while_one_is_active_is_refused_with_exit_1(demo_dir: Path) -> None:
    first = inkline(demo_dir, "run", "demo", "--json")  # queued; no worker is running here
    assert first.returncode == 0, first.stderr
    run_id = json.loads(first.stdout)["run_id"]
    second = inkline(demo_dir, "run", "demo", "--json")
    assert second.returncode == 1
    refusal = json.loads(second.stdout)
    assert refusal["code"] == "run_active" and refusal["run_id"] == run_id


def test_the_worker_preloads_the_stages_libraries_before_forking(tmp_path: Path) -> None:
    """`inkline worker` loads the provider's libraries and textstat's dictionary in the parent
    (its pool's children inherit them) without opening a database connection there."""
    probe = (
        "import sys, django; django.setup()\n"
        "from django.db import connection\n"
        "from textstat.backend.utils._get_cmudict import get_cmudict\n"
        "from inkline.commands import preload_for_workers\n"
        "assert 'sklearn' not in sys.modules and get_cmudict.cache_info().currsize == 0\n"
        "preload_for_workers()\n"
        "print('sklearn' in sys.modules, get_cmudict.cache_info().currsize,"
        " connection.connection is None)\n"
    )
    env = {**os.environ, "INKLINE_DATA_DIR": str(tmp_path), "INKLINE_AI_PROVIDER": "local"}
    env["DJANGO_SETTINGS_MODULE"] = "inkline.settings"
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "1", "True"]


# --- `run --wait` exit status, in process ------------------------------------------------------
class FirstTaskUnusable(LocalProvider):
    def write_content(self, brief: ArticleIn) -> ArticleResult:
        if brief.title.endswith(" 0"):
            raise AIError("article: invalid answer, also after one re-ask")
        return super().write_content(brief)


def run_wait(site: Site, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = commands.cmd_run(argparse.Namespace(site=site.name, wait=True, json=True))
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.django_db
def test_run_wait_exits_0_only_for_a_clean_completion(
    site: Site, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    add_tasks(site, 2)
    only_stages(site, 4)
    monkeypatch.setattr(engine, "get_provider", FirstTaskUnusable)
    code, run = run_wait(site, capsys)
    assert (code, run["status"], run["outcome"]) == (1, "completed", "completed_with_failures")
    assert run["stage_results"]["4"]["failed_items"][0]["label"] == "task 'Coffee guide 0'"
    assert run["stopped_reason"].startswith("Completed with 1 failure")

    code, run = run_wait(site, capsys)  # the failed task is taken again, and fails again
    assert (code, run["status"], run["outcome"]) == (1, "failed", "failed")
    assert run["stopped_reason"].startswith("Nothing was done: 1 failure")

    monkeypatch.setattr(engine, "get_provider", LocalProvider)
    code, run = run_wait(site, capsys)
    assert (code, run["status"], run["outcome"]) == (0, "completed", "completed")


@pytest.mark.django_db
def test_run_wait_exits_1_for_a_cancelled_run(
    site: Site, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    add_tasks(site, 2)
    only_stages(site, 4)
    real = engine.run_to_end

    def cancelled_first(*, run_id: str, **kwargs: Any) -> AutomationRun:
        run_cancel(run=AutomationRun.objects.get(run_id=run_id), by="test")
        return real(run_id=run_id, **kwargs)

    monkeypatch.setattr(commands.engine, "run_to_end", cancelled_first)
    code, run = run_wait(site, capsys)
    assert (code, run["status"], run["outcome"]) == (1, "cancelled", "cancelled")


def test_create_account_takes_the_owners_email_for_notices(tmp_path: Path) -> None:
    """`--email` is where the owner's email notices go; a malformed one is a usage error."""
    assert inkline(tmp_path, "init").returncode == 0
    bad = inkline(
        tmp_path, "create-account", "Mail", "--username", "m0", "--password", "pw",
        "--email", "not-an-address",
    )  # fmt: skip
    assert bad.returncode == 2 and "usage:" in bad.stderr and "--email" in bad.stderr
    refused = inkline(
        tmp_path, "create-account", "Mail", "--username", "m0", "--password", "pw",
        "--email", "a@b@c",
    )  # fmt: skip
    assert refused.returncode == 1 and "valid email" in refused.stderr
    made = inkline(
        tmp_path, "create-account", "Mail", "--username", "m1", "--password", "pw",
        "--email", "owner@example.com", "--json",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    script = (
        "import django,os;os.environ.setdefault('DJANGO_SETTINGS_MODULE','inkline.settings');"
        "django.setup();from django.contrib.auth import get_user_model;"
        "print(get_user_model().objects.get(username='m1').email)"
    )
    env = {**os.environ, "INKLINE_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, check=True, timeout=120, capture_output=True
    )
    assert out.stdout.decode().strip() == "owner@example.com"
