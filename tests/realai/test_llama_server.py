"""Inkline against a real llama.cpp `llama-server` (Gemma 3 270M, a weak base model).

These tests assert the engine's truth, not the model's prose: whatever the model answers, a
small run ends in an honest state (every item it took done, or failed with a reason; the exit
code of `inkline run --wait` saying so), the credits charged equal the tokens the server
reported, and provenance names the model the server answered with. A recording proxy between
Inkline and the server sees every request and answer; it also caps each request's output
(`CALL_MAX_TOKENS`) so a call takes seconds, not minutes, and it can refuse `json_schema` as
llama-cpp-python's server does.

The server samples greedily (`--temp 0`), so a run takes the same path each time on one
machine. The fixture: tests/realai/conftest.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx2
import pytest
from django.db.models import Sum
from django.test import override_settings

from inkline.accounts.models import Account, Site
from inkline.ai.local import LocalProvider
from inkline.ai.openai_provider import OpenAIProvider
from inkline.ai.registry import reset_providers
from inkline.ai.types import AIError, ArticleIn
from inkline.automation.models import AutomationRun
from inkline.billing.models import CreditCostConfig, CreditTransaction
from inkline.cli import main as inkline
from inkline.planner.models import Cluster, ContentIdea, Keyword
from inkline.writer.models import Content, Image, WritingTask
from inkline.writer.services import ArticleDraft, ImagePromptDraft
from inkline.writer.services.content import content_create_from_draft
from inkline.writer.services.images import image_prompts_store
from tests.factories import add_tasks, configure
from tests.realai.conftest import LlamaServer
from tests.realai.recorder import RecordingProxy

# One pass of `make test` is enough for a real server's minutes: the embedded database's.
pytestmark = [pytest.mark.realai, pytest.mark.slow, pytest.mark.sqlite_only]

# Output tokens a call may use, whatever Inkline asks: enough for a bounded clustering or a
# set of image prompts, far too little for a looping model to cost minutes.
CALL_MAX_TOKENS = 256
# The model name a user types; llama-server serves its one model whatever the name asked.
CONFIGURED_MODEL = "gemma3"


@pytest.fixture
def proxy(llama_server: LlamaServer) -> Iterator[RecordingProxy]:
    with RecordingProxy(llama_server.base_url, max_tokens=CALL_MAX_TOKENS) as recording:
        yield recording


def provider_for(base_url: str, **options: Any) -> OpenAIProvider:
    settings: dict[str, Any] = {
        "model": CONFIGURED_MODEL,
        "image_model": "none",
        "base_url": base_url,
        "timeout": 180.0,
        "max_retries": 1,
    }
    return OpenAIProvider(**(settings | options))


# --- the seam itself: what llama-server does, which the provider relies on ------------------
def test_llama_server_answers_as_its_model_reports_usage_and_honours_json_schema(
    llama_server: LlamaServer,
) -> None:
    schema = {
        "type": "object",
        "properties": {"colour": {"type": "string", "maxLength": 20}},
        "required": ["colour"],
        "additionalProperties": False,
    }
    messages = [
        {"role": "system", "content": "Answer in JSON."},
        {"role": "user", "content": "Name a colour."},
    ]
    formats = {
        "json_schema": {"type": "json_schema", "json_schema": {"name": "c", "schema": schema}},
        "json_object": {"type": "json_object", "schema": schema},
    }
    url = llama_server.base_url + "/chat/completions"
    for name, response_format in formats.items():
        answer = httpx2.post(
            url,
            json={
                "model": "any-name-at-all",
                "messages": messages,
                "response_format": response_format,
                "max_tokens": 24,
            },
            timeout=120,
        )
        assert answer.status_code == 200, (name, answer.text)
        body = answer.json()
        assert body["model"] == llama_server.model, name  # not the name asked for
        usage = body["usage"]
        assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0, name
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        if body["choices"][0]["finish_reason"] == "stop":  # the grammar held the schema
            assert set(json.loads(body["choices"][0]["message"]["content"])) == {"colour"}

    # Gemma's template wants user and assistant turns to alternate: a re-ask sent as a second
    # user message in a row is refused, one after the model's answer is taken.
    twice = httpx2.post(
        url,
        json={"messages": [*messages, {"role": "user", "content": "Again."}], "max_tokens": 4},
        timeout=120,
    )
    assert twice.status_code == 400 and "alternate" in twice.text
    alternating = [*messages, {"role": "assistant", "content": "{}"}, messages[1]]
    answered = httpx2.post(url, json={"messages": alternating, "max_tokens": 4}, timeout=120)
    assert answered.status_code == 200, answered.text

    models = httpx2.get(llama_server.base_url + "/models", timeout=30).json()
    assert [m["id"] for m in models["data"]] == [llama_server.model]


# --- the connection check -------------------------------------------------------------------
def test_check_says_what_the_real_server_can_do(
    llama_server: LlamaServer, proxy: RecordingProxy
) -> None:
    check = provider_for(proxy.base_url).check()

    assert check.reachable and check.auth, check.as_dict()
    assert check.model == llama_server.model  # the model it answered with
    assert check.structured_output == "json_schema"
    assert check.ok, check.as_dict()
    # llama-server has no images endpoint: said, but text generation still works
    assert check.images is False
    assert any("image" in p.code for p in check.problems), check.as_dict()
    assert check.base_url == proxy.base_url
    assert all(e.max_tokens is not None for e in proxy.chats()), "a check call without a bound"


def test_a_json_object_only_server_works_through_the_fallback(
    llama_server: LlamaServer,
) -> None:
    """llama-cpp-python's server refuses `json_schema` with a 500 but honours `json_object`
    with a schema: the check finds that mode, and the calls use it."""
    with RecordingProxy(
        llama_server.base_url, max_tokens=CALL_MAX_TOKENS, json_object_only=True
    ) as proxy:
        provider = provider_for(proxy.base_url)
        check = provider.check()
        assert check.structured_output == "json_object", check.as_dict()
        assert check.ok, check.as_dict()

        checked = len(proxy.chats())
        article = LocalProvider().write_content(_brief("How to make cold brew")).article
        try:
            provider.extract_image_prompts(article.title, article.html)
        except AIError as exc:  # the model may answer badly: an item failure, not the endpoint's
            assert not exc.endpoint, str(exc)
        calls = proxy.chats()[checked:]
        assert calls and all(e.operation == "image_prompt_extraction" for e in calls)
        assert all(e.format_type == "json_object" and e.status == 200 for e in calls), [
            (e.format_type, e.status) for e in calls
        ]
        assert all(e.body["response_format"].get("schema") for e in calls)


# --- a small run through the real engine ----------------------------------------------------
def _brief(title: str) -> ArticleIn:
    return ArticleIn(
        title=title,
        primary_keyword=title.lower(),
        target_keywords=(title.lower(),),
        content_type="how_to",
        outline=("What it is", "What you need", "Step by step", "Common mistakes"),
    )


def _seed(site: Site) -> dict[str, Any]:
    """One pending item for each AI stage, whatever the earlier stages manage, and an article
    in review whose images are still to be made (stage 6 is off: the server has no images)."""
    local = LocalProvider()
    keywords = [
        Keyword.objects.create(site=site, phrase=p)
        for p in ("how to make cold brew", "cold brew ratio")
    ]
    cluster = Cluster.objects.create(site=site, name="French press")
    for phrase in ("how to use a french press", "french press grind size"):
        Keyword.objects.create(
            site=site, phrase=phrase, cluster=cluster, status=Keyword.Status.CLUSTERED
        )
    judged, extracted, written = add_tasks(site, 3)
    contents = []
    for task in (judged, extracted):
        article = local.write_content(_brief(task.title)).article
        contents.append(
            content_create_from_draft(
                site_id=site.pk,
                task=task,
                draft=ArticleDraft(
                    title=article.title,
                    html=article.html,
                    meta_description=article.meta_description,
                    slug=article.slug,
                ),
                provenance={"provider": "local"},
            )
        )
    found = local.extract_image_prompts(contents[0].title, contents[0].html)
    image_prompts_store(
        site_id=site.pk,
        content_id=contents[0].pk,
        prompts=[
            ImagePromptDraft(kind=p.kind, position=p.position, prompt=p.prompt, alt_text=p.alt_text)
            for p in found.prompts
        ],
        provenance={"provider": "local"},
    )
    return {
        "keywords": keywords,
        "cluster": cluster,
        "task": written,
        "to_extract": contents[1],
        "to_judge": contents[0],
    }


def _charge_by_tokens() -> None:
    """One credit per token for every operation: the charges must equal the reported usage."""
    CreditCostConfig.objects.update(unit="1k_tokens", cost_per_unit=Decimal(1000))


def _run_wait(site: Site, proxy: RecordingProxy, capsys: pytest.CaptureFixture[str]) -> Any:
    reset_providers()
    with override_settings(
        INKLINE_AI_PROVIDER="openai",
        OPENAI_BASE_URL=proxy.base_url,
        OPENAI_API_KEY="",
        INKLINE_OPENAI_MODEL=CONFIGURED_MODEL,
        INKLINE_OPENAI_TIMEOUT=180.0,
        INKLINE_OPENAI_MAX_RETRIES=1,
        INKLINE_AI_CONCURRENCY=1,
    ):
        capsys.readouterr()
        code = inkline(["run", str(site.pk), "--wait", "--json"])
    reset_providers()
    printed = json.loads(capsys.readouterr().out)
    return code, printed


def test_a_small_run_against_llama_server_ends_truthfully(
    site: Site,
    account: Account,
    llama_server: LlamaServer,
    proxy: RecordingProxy,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seeded = _seed(site)
    _charge_by_tokens()
    configure(
        site,
        stage_6_enabled=False,
        max_keywords_per_run=2,
        max_clusters_per_run=1,
        max_ideas_per_run=1,
        max_tasks_per_run=1,
        max_content_per_run=1,
        max_approvals_per_run=2,
    )
    started = time.monotonic()
    code, printed = _run_wait(site, proxy, capsys)
    seconds = time.monotonic() - started

    run = AutomationRun.objects.get(run_id=printed["run_id"])
    results = run.stage_results
    calls = [e for e in proxy.chats() if e.operation]
    failed = sum(int(r.get("failed", 0)) for r in results.values())
    # Each finding is collected, so one run reports every truth it breaks at once.
    wrong: list[str] = []

    def expect(condition: bool, message: str) -> None:
        if not condition:
            wrong.append(message)

    # --- the outcome, and what `inkline run --wait` says about it
    expect(run.status in ("completed", "failed"), f"run ended {run.status}")
    clean = run.status == "completed" and failed == 0
    expect(
        code == (0 if clean else 1),
        f"`inkline run --wait` exited {code} for a {run.status} run with {failed} failures",
    )
    if failed:
        expect(
            str(failed) in run.stopped_reason and "fail" in run.stopped_reason.lower(),
            f"{failed} failures not counted in the stopped reason: {run.stopped_reason!r}",
        )
    processed = sum(int(r.get("processed", 0)) for r in results.values())
    if failed and not processed:
        expect(run.status == "failed", f"nothing done, {failed} failures, yet {run.status}")
    # An endpoint failure (none is expected from a healthy local server) stops the run naming
    # the endpoint and leaves the items it did not finish untouched.
    endpoint = proxy.base_url.split("//")[1].split("/")[0]
    endpoint_stop = run.status == "failed" and endpoint in run.stopped_reason
    expect(printed["status"] == run.status, "the printed run is not the stored one")

    # --- every item the run took: done, or failed with its reason, tried once
    def item(label: str, done: bool, row: Any) -> None:
        expect(
            done or bool(row.last_error) or endpoint_stop,
            f"{label}: neither done nor failed with a reason",
        )
        expect(row.attempts <= 1, f"{label}: tried {row.attempts} times in one run")

    for keyword in seeded["keywords"]:
        keyword.refresh_from_db()
        item(f"keyword '{keyword.phrase}'", keyword.status == Keyword.Status.CLUSTERED, keyword)
    cluster = Cluster.objects.get(pk=seeded["cluster"].pk)
    item("cluster 'French press'", cluster.status == Cluster.Status.IDEAS, cluster)
    task = WritingTask.objects.get(pk=seeded["task"].pk)
    item(f"task '{task.title}'", task.status == WritingTask.Status.DONE, task)
    extracted = Content.objects.get(pk=seeded["to_extract"].pk)
    item(f"article '{extracted.title}' (prompts)", extracted.prompts_extracted, extracted)
    judged = Content.objects.get(pk=seeded["to_judge"].pk)
    expect(
        judged.status == Content.Status.APPROVED or bool(judged.held_reason),
        f"stage 6 off: article '{judged.title}' left {judged.status} with no held reason",
    )
    # the stage counts agree with the rows
    counted = {
        "1": sum(
            1 for k in seeded["keywords"] if k.status != Keyword.Status.CLUSTERED and k.last_error
        ),
        "2": int(cluster.status != Cluster.Status.IDEAS and bool(cluster.last_error)),
        "4": int(task.status != WritingTask.Status.DONE and bool(task.last_error)),
        "5": int(not extracted.prompts_extracted and bool(extracted.last_error)),
    }
    for stage, expected in counted.items():
        got = int(results.get(stage, {}).get("failed", 0))
        expect(got == expected, f"stage {stage} says {got} failed, the rows {expected}")

    # --- credits: exactly the tokens the server reported, for every call made
    for operation in {e.operation for e in calls}:
        reported = sum(e.total_tokens for e in calls if e.operation == operation)
        charged = -(
            CreditTransaction.objects.filter(run=run, operation_type=operation).aggregate(
                s=Sum("amount")
            )["s"]
            or 0
        )
        expect(
            charged == reported,
            f"{operation}: charged {charged} credits for {reported} reported tokens",
        )
    reported_total = sum(e.total_tokens for e in calls)
    expect(
        run.total_credits_used == reported_total,
        f"run used {run.total_credits_used} credits, server reported {reported_total} tokens",
    )
    account.refresh_from_db()
    ledger = CreditTransaction.objects.filter(account=account).aggregate(s=Sum("amount"))["s"]
    expect(account.credits == ledger == 100_000 - run.total_credits_used, "ledger out of step")
    expect(account.credits_held == 0, f"{account.credits_held} credits still held")

    # --- provenance: the model the server answered with, not the one configured
    served = {e.answer.get("model") for e in calls if e.status == 200}
    expect(served <= {llama_server.model}, f"the server answered as {served}")
    stored: list[Any] = [
        *Cluster.objects.filter(site=site),
        *ContentIdea.objects.filter(site=site),
        *Content.objects.filter(site=site),
        *Image.objects.filter(site=site),
    ]
    for row in stored:
        if row.provenance.get("provider") == "openai":
            # Clusters are grouped on embeddings and only named by the chat model: this
            # llama-server serves no /v1/embeddings (no --embeddings), so the local encoder's.
            want = llama_server.model + ("+semantic" if isinstance(row, Cluster) else "")
            expect(
                row.provenance.get("model") == want,
                f"{type(row).__name__} {row.pk}: provenance model "
                f"{row.provenance.get('model')!r}, expected {want!r}",
            )

    # --- an accepted article is an article: HTML with its H2 sections, not a stray line
    for content in Content.objects.filter(site=site):
        if content.provenance.get("provider") == "openai":
            expect(
                "<h2" in content.html.lower(),
                f"article {content.pk} accepted with {content.word_count} words and no H2: "
                f"{content.html[:80]!r}",
            )

    # --- bounds: every call asks for a bounded answer
    unbounded = [e.operation for e in calls if e.max_tokens is None]
    expect(not unbounded, f"calls without max_tokens: {unbounded}")

    # --- time: a stage's seconds cover its calls
    stages = {
        "1": "clustering",
        "2": "idea_generation",
        "4": "content_generation",
        "5": "image_prompt_extraction",
    }
    for stage, operation in stages.items():
        spent = sum(e.seconds for e in calls if e.operation == operation)
        recorded = float(results.get(stage, {}).get("seconds", 0))
        expect(
            recorded >= 0.9 * spent,
            f"stage {stage} records {recorded:.1f} s for {spent:.1f} s of calls",
        )

    summary = {
        "seconds": round(seconds, 1),
        "status": run.status,
        "exit": code,
        "stopped_reason": run.stopped_reason,
        "calls": [
            (e.operation, e.status, e.finish_reason, e.total_tokens, round(e.seconds, 1))
            for e in calls
        ],
        "results": results,
        "item_errors": [
            f"{type(row).__name__} {row.pk}: {row.last_error[:300]}"
            for row in (*seeded["keywords"], cluster, task, extracted, judged)
            if row.last_error
        ],
        "articles": [
            (c.pk, c.word_count, c.html[:200], c.provenance.get("model"))
            for c in Content.objects.filter(site=site, provenance__provider="openai")
        ],
    }
    assert not wrong, "\n".join([*wrong, json.dumps(summary, indent=1, default=str)])
