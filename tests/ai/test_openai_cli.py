"""`inkline run demo --wait` end to end with INKLINE_AI_PROVIDER=openai, a real process talking
to the local fake OpenAI server over HTTP, configured by environment variables only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ai.fake_openai import API_KEY, CHAT_MODEL, EMBEDDINGS_MODEL, IMAGE_MODEL, FakeOpenAI

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # on the embedded default database

LIMITS = (
    "import django,os;os.environ.setdefault('DJANGO_SETTINGS_MODULE','inkline.settings');"
    "django.setup();from inkline.automation.models import AutomationConfig;"
    "AutomationConfig.objects.filter(site__name='demo').update("
    "max_keywords_per_run=12, max_clusters_per_run=1, max_ideas_per_run=1)"
)


def test_run_demo_wait_completes_with_the_openai_provider(tmp_path: Path) -> None:
    with FakeOpenAI() as server:
        env = {
            **os.environ,
            "INKLINE_DATA_DIR": str(tmp_path),
            "INKLINE_AI_PROVIDER": "openai",
            "OPENAI_API_KEY": API_KEY,
            "OPENAI_BASE_URL": server.base_url,
            "INKLINE_OPENAI_MODEL": CHAT_MODEL,
            "INKLINE_OPENAI_IMAGE_MODEL": IMAGE_MODEL,
            "INKLINE_OPENAI_EMBEDDINGS_MODEL": EMBEDDINGS_MODEL,
            "INKLINE_AI_CONCURRENCY": "3",
        }
        env.pop("DATABASE_URL", None)  # the embedded default

        def inkline(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "inkline.cli", *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )

        assert inkline("init", "--demo").returncode == 0
        subprocess.run([sys.executable, "-c", LIMITS], env=env, check=True, timeout=60)
        result = inkline("run", "demo", "--wait", "--json")

    assert result.returncode == 0, result.stderr
    run = json.loads(result.stdout)
    assert run["status"] == "completed", run["error_message"]
    assert run["progress_percent"] == 100
    results = run["stage_results"]
    assert results["1"]["processed"] == 12
    assert results["2"]["processed"] == 1
    assert results["4"]["created"] == len(server.chat_requests("article")) == 1
    assert results["6"]["processed"] == len(server.image_requests()) > 0
    assert results["7"]["processed"] == 1
    assert run["total_credits_used"] > 0
    assert {r.schema for r in server.chat_requests()} == {
        "cluster_name",
        "content_ideas",
        "article",
        "image_prompts",
    }
    assert server.embedding_requests()  # stage 1 grouped on the endpoint's embeddings
    assert all(r.authorization == f"Bearer {API_KEY}" for r in server.requests)
    assert server.max_in_flight <= 3
