"""`inkline check-ai [SITE] [--json]`: what the AI endpoint can do, as a table or JSON; exit 0
when it can generate text, 1 when it cannot, 2 for bad usage (an unknown SITE)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from inkline import cli
from inkline.accounts.models import Site
from inkline.ai import registry
from inkline.automation.models import AutomationConfig
from tests.ai.fake_check import BASE_URL, UNREACHABLE, FakeCheckProvider

KEYS = {
    "ok", "provider", "base_url", "reachable", "auth", "model", "structured_output", "images",
    "problems", "checked_at",
}  # fmt: skip


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeCheckProvider:
    provider = FakeCheckProvider()
    monkeypatch.setattr(registry, "get_provider", lambda name=None: provider)
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps at the terminal's width
    return provider


@pytest.mark.django_db
def test_without_a_site_the_local_provider_is_checked_and_nothing_is_recorded(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["check-ai", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert set(answer) == KEYS
    assert answer["ok"] is True and answer["provider"] == "local"
    assert answer["structured_output"] == "json_schema" and answer["images"] is True
    assert AutomationConfig.objects.get(site=site).ai_check == {}


@pytest.mark.django_db
def test_with_a_site_the_check_is_recorded_for_it(
    site: Site, fake: FakeCheckProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["check-ai", str(site.pk), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["structured_output"] == "json_object" and answer["images"] is False
    stored = AutomationConfig.objects.get(site=site).ai_check
    assert stored["structured_output"] == "json_object"
    assert stored["model"] == answer["model"] == "gemma-3-270m-it [q4]"

    # by name too, as the other commands take SITE
    fake.answer = UNREACHABLE
    assert cli.main(["check-ai", site.name, "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["ok"] is False
    assert AutomationConfig.objects.get(site=site).ai_check["reachable"] is False


@pytest.mark.django_db
def test_the_table_says_what_the_endpoint_can_do_and_how_to_fix_problems(
    site: Site, fake: FakeCheckProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["check-ai", site.name]) == 0
    out = capsys.readouterr().out
    lines = {line.split(None, 1)[0]: line for line in out.splitlines() if line.strip()}
    assert BASE_URL in lines["endpoint"]
    assert "json_object" in out and "JSON mode" in out
    assert "gemma-3-270m-it [q4]" in out  # brackets are text, not rich markup
    assert lines["images"].split() == ["images", "no"]
    assert lines["reachable"].split() == ["reachable", "yes"]
    assert "no_images:" in out and "fix: Turn stage 6 off" in out
    assert "OK: runs can use this endpoint. Recorded for site blog" in out

    fake.answer = UNREACHABLE
    assert cli.main(["check-ai"]) == 1
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines()]
    assert ["reachable", "no"] in rows and ["model", "served", "none"] in rows
    assert ["structured", "output", "none", "worked"] in rows
    assert "unreachable: Nothing answers at" in out
    assert "<script>alert(1)</script>" in out  # printed as given, nothing swallowed
    assert "fix: Start the server or correct OPENAI_BASE_URL." in out
    assert "Not usable" in out and "Recorded" not in out


@pytest.mark.django_db
def test_an_unknown_site_is_bad_usage(
    site: Site, fake: FakeCheckProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["check-ai", "no-such-site"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: inkline check-ai")
    assert "no site with id or name 'no-such-site'" in err
    assert fake.calls == 0


@pytest.mark.slow
@pytest.mark.sqlite_only
def test_the_installed_command_in_a_fresh_data_dir(tmp_path: Path) -> None:
    """A real process: the local provider answers; a provider name that does not exist is a
    configuration problem (exit 1), not a crash."""

    def inkline(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        environ: dict[str, Any] = {**os.environ, "INKLINE_DATA_DIR": str(tmp_path), **env}
        environ.pop("DATABASE_URL", None)
        return subprocess.run(
            [sys.executable, "-m", "inkline.cli", *args],
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert inkline("init", "--demo").returncode == 0
    ok = inkline("check-ai", "demo", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["model"] == "local-1"
    broken = inkline("check-ai", "--json", INKLINE_AI_PROVIDER="gpt")
    assert broken.returncode == 1, broken.stderr
    assert [p["code"] for p in json.loads(broken.stdout)["problems"]] == ["config"]
    usage = inkline("check-ai", "nowhere")
    assert usage.returncode == 2 and "usage: inkline check-ai" in usage.stderr
