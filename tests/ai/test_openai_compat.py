"""The `openai` provider against servers that are not OpenAI (llama.cpp's llama-server,
llama-cpp-python's server, Ollama, vLLM), played by the fake server's knobs: structured-output
modes and their fallback, the model the server answers with, output bounds, the two kinds of
failure, article validation and the connection check."""

from __future__ import annotations

import datetime as dt
import json
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import openai
import pytest
import time_machine

from inkline.ai import prompts
from inkline.ai.openai_provider import (
    DEFAULT_MAX_TOKENS,
    NAME_TOKENS,
    OpenAIProvider,
    refuses_format,
)
from inkline.ai.types import AIError, ArticleIn
from tests.ai.fake_openai import (
    API_KEY,
    CHAT_MODEL,
    IMAGE_MODEL,
    FakeOpenAI,
    answer_article,
    answer_ideas,
)
from tests.ai.test_openai_provider import BRIEF, KEYWORDS, ideas_call, make

SERVED = "gemma-3-270m-it-Q4_K_M.gguf"  # what llama-server names its model, whatever was asked


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def dead_url() -> str:
    """A base URL where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def formats(fake: FakeOpenAI) -> list[str]:
    return [(r.body.get("response_format") or {}).get("type", "none") for r in fake.requests]


def system_prompt(request: Any) -> str:
    return str(request.body["messages"][0]["content"])


# --- structured-output modes, best first ------------------------------------------------------
def test_a_json_object_only_server_is_asked_in_json_object_with_the_schema() -> None:
    """llama-cpp-python's server answers 500 "Input should be 'text' or 'json_object'" to
    json_schema: asked once (not retried as a server error), then json_object + schema."""
    with FakeOpenAI(modes=("json_object",)) as fake:
        provider = make(fake, max_retries=2)
        result = ideas_call(provider)

        assert result.ideas
        assert [r.status for r in fake.requests] == [500, 200]
        assert formats(fake) == ["json_schema", "json_object"]
        sent = fake.requests[1]
        assert sent.body["response_format"] == {
            "type": "json_object",
            "schema": prompts.IDEAS.schema,
        }
        assert json.dumps(prompts.IDEAS.schema, separators=(",", ":")) in system_prompt(sent)
        assert provider.mode == "json_object"
        # only the answered request is billed: the refusal cost nothing
        assert result.usage.prompt_tokens == sent.usage["prompt_tokens"]

        fake.reset()
        assert provider.write_content(BRIEF).article.html
        assert formats(fake) == ["json_object"]  # remembered: no second refusal


def test_a_server_taking_no_response_format_gets_the_schema_in_the_prompt() -> None:
    """A server answering 400 to any response_format is asked with the schema in the system
    prompt only; a chatty answer (preamble, ```json fences) is read tolerantly."""
    with FakeOpenAI(modes=()) as fake:
        provider = make(fake)
        result = provider.write_content(BRIEF)

        assert [r.status for r in fake.requests] == [400, 400, 200]
        assert formats(fake) == ["json_schema", "json_object", "none"]
        answer = fake.requests[-1].answer
        assert answer.startswith("Here is the JSON") and "```json" in answer
        assert json.dumps(prompts.ARTICLE.schema, separators=(",", ":")) in system_prompt(
            fake.requests[-1]
        )
        assert result.article.html.count("<h2>") == len(BRIEF.outline)
        assert provider.mode == "prompt"
        assert result.usage.calls == 1


def test_a_strict_mode_refusing_string_lengths_gets_a_lean_schema() -> None:
    """OpenAI documents only `pattern` and `format` for strings in strict mode: a refusal of
    minLength/maxLength keeps json_schema, without them, and the answer is still held to
    them."""
    with FakeOpenAI(strict_subset=True) as fake:
        provider = make(fake, max_retries=2)
        assert ideas_call(provider).ideas
        assert [r.status for r in fake.requests] == [400, 200]
        assert formats(fake) == ["json_schema", "json_schema"]
        sent = fake.requests[1].body["response_format"]["json_schema"]["schema"]
        assert sent == prompts.strict_schema(prompts.IDEAS.schema)
        assert (provider.mode, provider.lean) == ("json_schema", True)

        fake.reset()

        def long_title(payload: dict[str, Any]) -> dict[str, Any]:
            answer = answer_ideas(payload)
            answer["ideas"][0]["title"] = "Cold brew " * 20
            return answer

        fake.responders["content_ideas"] = long_title
        with pytest.raises(AIError, match="ideas/0/title does not match the schema"):
            ideas_call(provider)
        assert [r.status for r in fake.requests] == [200, 200]  # lean from then on


def test_concurrent_calls_leave_a_refused_mode_once_and_all_succeed() -> None:
    with FakeOpenAI(modes=("json_object",), refuse_max_tokens=True, latency=0.05) as fake:
        provider = make(fake, max_retries=2)
        with ThreadPoolExecutor(6) as pool:
            results = list(pool.map(lambda _: ideas_call(provider), range(12)))

    assert all(r.ideas for r in results)
    assert (provider.mode, provider.token_param) == ("json_object", "max_completion_tokens")
    refused = [r for r in fake.requests if r.status in (400, 500)]
    assert 1 <= len(refused) <= 12  # only the calls in flight before the first refusals
    assert all(r.status == 400 or formats_of(r) == "json_schema" for r in refused)
    assert all(r.status == 500 or "max_tokens" in r.body for r in refused)
    assert len([r for r in fake.requests if r.status == 200]) == 12


def formats_of(request: Any) -> str:
    return str((request.body.get("response_format") or {}).get("type", "none"))


def test_a_mode_refusal_is_no_failure_but_other_errors_still_are() -> None:
    """Leaving a mode is not a retry of a failure: a 500 that says nothing about the format
    is still the endpoint's failure, whatever the mode."""
    with FakeOpenAI(modes=("json_object",)) as fake:
        provider = make(fake, max_retries=0)
        fake.inject("500", times=None)
        with pytest.raises(AIError, match="answered 500") as caught:
            ideas_call(provider)
        assert caught.value.endpoint and not caught.value.fatal
        assert provider.mode == "json_schema"  # a plain server error says nothing of modes


# --- the model the server answers with --------------------------------------------------------
def test_provenance_names_the_model_that_answered() -> None:
    with FakeOpenAI(served_model=SERVED) as fake:
        provider = make(fake)
        clusters = provider.cluster_keywords(KEYWORDS, [])
        ideas = ideas_call(provider)
        article = provider.write_content(BRIEF)
        found = provider.extract_image_prompts(BRIEF.title, article.article.html)

    assert all(r.body["model"] == CHAT_MODEL for r in fake.chat_requests())  # as configured
    # clustering names the embeddings too (the local model's grouping, here)
    assert clusters.provenance.model == f"{SERVED}+semantic"
    for result in (ideas, article, found):
        assert result.provenance.model == SERVED
        assert result.provenance.as_dict(result.usage)["model"] == SERVED


# --- output bounds ----------------------------------------------------------------------------
def test_every_chat_request_carries_its_operation_s_max_tokens(server: FakeOpenAI) -> None:
    limits = {"idea_generation": 900, "content_generation": 3000, "image_prompt_extraction": 300}
    provider = make(server, max_tokens=limits)
    ideas_call(provider)
    article = provider.write_content(BRIEF)
    provider.extract_image_prompts(BRIEF.title, article.article.html)
    provider.cluster_keywords(KEYWORDS, [])

    sent = {r.function: r.body["max_tokens"] for r in server.chat_requests()}
    assert sent == {
        "content_ideas": 900,
        "article": 3000,
        "image_prompts": 300,
        # naming a cluster: NAME_TOKENS, under the configured cap (default 8192)
        "cluster_name": min(DEFAULT_MAX_TOKENS["clustering"], NAME_TOKENS),
    }
    with pytest.raises(ValueError, match="unknown operations: writing"):
        make(server, max_tokens={"writing": 10})


def test_a_model_looping_to_the_limit_stops_there_and_fails_the_item_with_its_cost(
    server: FakeOpenAI,
) -> None:
    server.inject("loop", times=2)
    with pytest.raises(AIError, match="cut off at the output token limit") as caught:
        ideas_call(make(server, max_tokens={"idea_generation": 500}))
    first, second = server.requests
    assert first.usage["completion_tokens"] == second.usage["completion_tokens"] == 500
    assert not caught.value.endpoint
    assert caught.value.usage is not None and caught.value.usage.completion_tokens == 1000


def test_a_model_refusing_max_tokens_gets_max_completion_tokens_from_then_on() -> None:
    """OpenAI's newer models answer 400 "Unsupported parameter: 'max_tokens' ... Use
    'max_completion_tokens' instead": switched once, remembered, never counted a failure."""
    with FakeOpenAI(refuse_max_tokens=True) as fake:
        provider = make(fake, max_tokens={"idea_generation": 700})
        assert ideas_call(provider).ideas
        assert provider.write_content(BRIEF).article
        assert [r.status for r in fake.requests] == [400, 200, 200]
        assert "max_tokens" in fake.requests[0].body
        assert fake.requests[1].body["max_completion_tokens"] == 700
        assert "max_tokens" not in fake.requests[1].body
        assert provider.token_param == "max_completion_tokens"


def test_settings_set_the_bounds(server: FakeOpenAI, settings: Any) -> None:
    from inkline.ai.registry import get_provider

    settings.OPENAI_API_KEY = API_KEY
    settings.OPENAI_BASE_URL = server.base_url
    settings.INKLINE_OPENAI_MODEL = CHAT_MODEL
    settings.INKLINE_OPENAI_MAX_TOKENS_ARTICLE = 4321
    settings.INKLINE_OPENAI_MAX_TOKENS_IDEAS = 1234
    settings.INKLINE_OPENAI_CHECK_SECONDS = 42.0
    provider = get_provider("openai")
    assert isinstance(provider, OpenAIProvider)
    assert provider.check_ttl == 42.0
    provider.write_content(BRIEF)
    ideas_call(provider)
    assert [r.body["max_tokens"] for r in server.chat_requests()] == [4321, 1234]


# --- two kinds of failure ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("500", "answered 500"),
        ("429", "rate limited"),
        ("slow", "no answer from"),
        ("body", "unusable answer"),
    ],
)
def test_endpoint_failures_are_not_the_item_s(server: FakeOpenAI, fault: str, message: str) -> None:
    server.inject(fault, times=None, delay=1.0, retry_after=0.01)
    with pytest.raises(AIError, match=message) as caught:
        ideas_call(make(server, max_retries=1, timeout=0.3))
    error = caught.value
    assert error.endpoint and not error.fatal
    assert server.base_url in str(error)  # the breaker's reason names the endpoint
    assert error.usage is None  # nothing was answered, nothing billed


def test_an_unreachable_endpoint_is_an_endpoint_failure() -> None:
    url = dead_url()
    with FakeOpenAI() as fake:
        provider = make(fake, base_url=url, max_retries=0)
    with pytest.raises(AIError, match="could not reach") as caught:
        ideas_call(provider)
    assert caught.value.endpoint and not caught.value.fatal
    assert url in str(caught.value)


@pytest.mark.parametrize(
    ("options", "fault"),
    [({"api_key": "sk-wrong"}, ""), ({"model": "nope"}, ""), ({}, "403"), ({}, "quota")],
)
def test_refused_keys_models_and_accounts_are_fatal(
    server: FakeOpenAI, options: dict[str, Any], fault: str
) -> None:
    if fault:
        server.inject(fault, times=None)
    with pytest.raises(AIError) as caught:
        ideas_call(make(server, max_retries=2, **options))
    assert caught.value.fatal and caught.value.endpoint
    assert len(server.requests) == 1


def test_a_request_too_long_for_the_model_is_the_item_s_failure(server: FakeOpenAI) -> None:
    server.inject("context")
    with pytest.raises(AIError, match="exceeds the available context size") as caught:
        make(server).write_content(BRIEF)
    assert not caught.value.endpoint and not caught.value.fatal
    assert len(server.requests) == 1  # a 400 is not retried, nor re-asked


def test_other_refused_requests_are_the_endpoint_s_failure(server: FakeOpenAI) -> None:
    """Every request is made the same way: a 400 that is not about the item's content would
    refuse every item, so it must not use up their attempts."""
    del server.responders["content_ideas"]  # the fake answers 400 "unknown schema"
    with pytest.raises(AIError, match=r"refused the request \(400\)") as caught:
        ideas_call(make(server))
    assert caught.value.endpoint and not caught.value.fatal


def test_a_failure_after_an_answer_carries_the_answer_s_usage(server: FakeOpenAI) -> None:
    server.inject("invalid")  # the first answer is unusable: re-asked...
    server.inject("500", times=None)  # ...and the endpoint fails on the re-ask
    with pytest.raises(AIError, match="answered 500") as caught:
        ideas_call(make(server, max_retries=0))
    answered = server.requests[0]
    assert caught.value.endpoint
    usage = caught.value.usage
    assert usage is not None and usage.calls == 1
    assert usage.prompt_tokens == answered.usage["prompt_tokens"]
    assert usage.completion_tokens == answered.usage["completion_tokens"]


def test_ideas_repeating_a_primary_keyword_or_a_heading_are_dropped(server: FakeOpenAI) -> None:
    """A weak model repeats itself within its bounds: the first idea per primary keyword is
    kept (two articles for one query would compete), repeated headings and keywords go."""

    def repetitive(payload: dict[str, Any]) -> dict[str, Any]:
        idea = answer_ideas(payload)["ideas"][0]
        idea["outline"] = ["Steeping", "steeping ", "Serving", "Steeping"]
        idea["target_keywords"] = ["cold brew", "Cold  brew", ""]
        again = {**idea, "title": "Another take", "primary_keyword": " COLD BREW RATIO"}
        return {"ideas": [idea, again]}

    server.responders["content_ideas"] = repetitive
    (idea,) = ideas_call(make(server)).ideas
    assert idea.primary_keyword == "cold brew ratio"
    assert idea.outline == ("Steeping", "Serving")
    assert idea.target_keywords == ("cold brew",)


# --- article validation -----------------------------------------------------------------------
def test_a_short_article_is_asked_again_naming_the_minimum(server: FakeOpenAI) -> None:
    server.inject("short", schema="article")
    brief = ArticleIn(**{**BRIEF.__dict__, "min_words": 40})
    result = make(server).write_content(brief)
    first, second = server.requests
    assert first.payload["min_words"] == 40
    assert "at least 40 are required" in second.body["messages"][-1]["content"]
    assert result.usage.words >= 40
    assert result.usage.calls == 1
    assert result.usage.completion_tokens == (
        first.usage["completion_tokens"] + second.usage["completion_tokens"]
    )


@pytest.mark.parametrize(
    ("fault", "min_words", "reason"),
    [
        ("plain", 0, "plain text, not HTML"),
        ("short", 100, "has 5 words; at least 100 are required"),
    ],
)
def test_an_article_invalid_twice_fails_the_item_with_the_reason_and_its_cost(
    server: FakeOpenAI, fault: str, min_words: int, reason: str
) -> None:
    server.inject(fault, times=2)
    brief = ArticleIn(**{**BRIEF.__dict__, "min_words": min_words})
    with pytest.raises(AIError, match=reason) as caught:
        make(server).write_content(brief)
    assert not caught.value.endpoint
    usage = caught.value.usage
    assert usage is not None and usage.calls == 1
    assert usage.total_tokens == sum(
        r.usage["prompt_tokens"] + r.usage["completion_tokens"] for r in server.requests
    )


def test_the_re_ask_keeps_the_roles_alternating() -> None:
    """Gemma's chat template (llama-server) refuses two user turns in a row: the re-ask shows
    the rejected answer as the assistant's turn before saying what was wrong."""
    with FakeOpenAI(alternate_roles=True) as fake:
        fake.inject("invalid")
        assert ideas_call(make(fake)).ideas
    assert [r.status for r in fake.requests] == [200, 200]
    roles = [m["role"] for m in fake.requests[1].body["messages"]]
    assert roles == ["system", "user", "assistant", "user"]


def test_an_article_needs_h2_sections(server: FakeOpenAI) -> None:
    def one_section(payload: dict[str, Any]) -> dict[str, Any]:
        return {**answer_article(payload), "html": "<h2>All</h2><p>Cold brew is easy.</p>"}

    server.responders["article"] = one_section
    with pytest.raises(AIError, match="1 <h2> sections; at least 2 are required"):
        make(server).write_content(BRIEF)
    # an article without an outline needs none
    assert make(server).write_content(ArticleIn(**{**BRIEF.__dict__, "outline": ()})).article


# --- the connection check ---------------------------------------------------------------------
def test_the_check_of_a_healthy_endpoint_costs_nothing_and_says_what_it_can_do(
    server: FakeOpenAI,
) -> None:
    check = make(server).check()
    assert check.ok and check.as_dict()["ok"] is True
    assert (check.reachable, check.auth, check.model) == (True, True, CHAT_MODEL)
    assert (check.structured_output, check.images, check.problems) == ("json_schema", True, ())
    assert check.base_url == server.base_url
    paths = [(r.path, r.status) for r in server.requests]
    assert paths == [
        ("/v1/models", 200),
        ("/v1/chat/completions", 200),
        ("/v1/images/generations", 400),  # the empty prompt: refused, nothing generated
    ]
    assert server.requests[1].body["max_tokens"] == 256
    assert server.requests[2].body["model"] == IMAGE_MODEL
    assert server.requests == server.probe_requests()
    assert not server.chat_requests() and not server.image_requests()


@pytest.mark.parametrize(
    ("modes", "found", "statuses"),
    [
        (("json_object",), "json_object", [500, 200]),
        ((), "prompt", [400, 400, 200]),
    ],
)
def test_the_check_finds_the_mode_and_the_provider_uses_it(
    modes: tuple[str, ...], found: str, statuses: list[int]
) -> None:
    with FakeOpenAI(modes=modes, served_model=SERVED) as fake:
        provider = make(fake, max_retries=2)
        check = provider.check()
        chats = [r.status for r in fake.requests if r.path.endswith("/chat/completions")]
        assert chats == statuses
        assert check.ok and check.structured_output == found and check.model == SERVED
        assert provider.mode == found
        fake.reset()
        ideas_call(provider)
        assert [r.status for r in fake.requests] == [200]  # straight to the working mode
    codes = [p.code for p in check.problems]
    assert codes == (["unconstrained_output"] if found == "prompt" else [])


def test_the_check_of_an_endpoint_without_images() -> None:
    with FakeOpenAI(images=False) as fake:
        check = make(fake).check()
        url = fake.base_url
    assert check.ok  # text works: stage 6 is skipped, articles judged on text alone
    assert not check.images
    (problem,) = check.problems
    assert problem.code == "no_images" and url in problem.message
    assert "stage 6" in problem.fix


def test_the_check_of_a_wrong_key_a_dead_url_and_an_unknown_model(server: FakeOpenAI) -> None:
    wrong = make(server, api_key="sk-wrong").check()
    assert not wrong.ok and not wrong.auth and wrong.reachable
    assert [p.code for p in wrong.problems] == ["auth"]
    assert "OPENAI_API_KEY" in wrong.problems[0].fix

    url = dead_url()
    dead = make(server, base_url=url).check()
    assert not dead.ok and not dead.reachable
    assert [p.code for p in dead.problems] == ["unreachable"]
    assert url in dead.problems[0].message and url in dead.problems[0].fix

    unknown = make(server, model="gpt-nope").check()
    assert not unknown.ok and unknown.auth and unknown.model is None
    (problem,) = unknown.problems
    assert problem.code == "model_not_found" and "gpt-nope" in problem.message
    assert CHAT_MODEL in problem.fix  # the models the endpoint lists


def test_the_check_never_raises(server: FakeOpenAI) -> None:
    server.inject("body", path="/chat/completions", times=None)
    check = make(server, max_retries=0).check()
    assert not check.ok and [p.code for p in check.problems] == ["unusable_answer"]
    server.reset()
    server.inject("quota", times=None)
    check = make(server).check()
    assert not check.ok and [p.code for p in check.problems] == ["quota"]


def test_the_check_notes_a_model_too_weak_for_json(server: FakeOpenAI) -> None:
    server.inject("invalid", path="/chat/completions")
    check = make(server).check()
    assert check.ok and check.structured_output == "json_schema"
    assert [p.code for p in check.problems] == ["weak_output"]


def test_a_working_check_is_kept_for_a_while(server: FakeOpenAI) -> None:
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False) as clock:
        provider = make(server, check_ttl=300)
        first = provider.check()
        asked = len(server.requests)
        assert provider.check() is first and len(server.requests) == asked
        clock.shift(299)
        assert provider.check() is first
        assert provider.check(fresh=True) is not first  # on demand: asked again
        assert len(server.requests) == 2 * asked
        clock.shift(301)
        provider.check()
        assert len(server.requests) == 3 * asked


def test_a_failed_check_is_not_kept(server: FakeOpenAI) -> None:
    provider = make(server)
    server.inject("500", path="/chat/completions", times=None)
    assert not provider.check().ok
    server.reset()
    assert provider.check().ok  # the endpoint recovered: the next run sees it at once


def test_the_check_switches_to_max_completion_tokens_too() -> None:
    with FakeOpenAI(refuse_max_tokens=True) as fake:
        provider = make(fake)
        assert provider.check().structured_output == "json_schema"
        assert provider.token_param == "max_completion_tokens"


def test_generating_an_image_without_an_images_api_is_the_endpoint_s_failure() -> None:
    """llama-server answers 404 "File Not Found": no images there, which says nothing about
    the item nor stops the text work at once."""
    from inkline.ai.types import ImageRequest

    with (
        FakeOpenAI(images=False) as fake,
        pytest.raises(AIError, match="image model 'fake-image' or the images API") as caught,
    ):
        make(fake).generate_image(ImageRequest(prompt="a cup"))
    assert caught.value.endpoint and not caught.value.fatal
    assert "stage 6" in str(caught.value)


def test_the_check_of_an_endpoint_refusing_every_chat_request(server: FakeOpenAI) -> None:
    del server.responders["connection_check"]  # the fake answers 400 "unknown schema"
    check = make(server).check()
    assert not check.ok and check.structured_output is None
    (problem,) = check.problems
    assert problem.code == "no_structured_output" and "unknown schema" in problem.message


# --- what real servers answer, word for word --------------------------------------------------
def status_error(status: int, body: dict[str, Any]) -> openai.APIStatusError:
    """The SDK's exception for an error answer with `body` (the server's JSON)."""
    request = httpx2.Request("POST", "http://127.0.0.1:8080/v1/chat/completions")
    response = httpx2.Response(status, json=body, request=request)
    client = openai.OpenAI(api_key="x", base_url="http://127.0.0.1:8080/v1")
    return client._make_status_error_from_response(response)


def error(message: str, *, type: str = "invalid_request_error", **fields: Any) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": None, "code": None} | fields}


OPENAI_MAX_TOKENS = error(
    "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
    "'max_completion_tokens' instead.",
    param="max_tokens",
    code="unsupported_parameter",
)
VLLM_TOO_LARGE = error(
    "'max_tokens' or 'max_completion_tokens' is too large: 6144. This model's maximum context "
    "length is 4096 tokens and your request has 812 input tokens (6144 > 4096 - 812).",
    type="BadRequestError",
    code=400,
)


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        # the item's content: its attempt counts
        (400, error("This model's maximum context length is 128000 tokens. However, your "
                    "messages resulted in 130512 tokens.", code="context_length_exceeded"),
         "item"),
        (400, error("the request exceeds the available context size, try increasing it",
                    type="exceed_context_size_error", code=400), "item"),
        (400, error("Requested tokens (5000) exceed context window of 4096",
                    code="context_length_exceeded"), "item"),
        (400, error("Your request was rejected as a result of our safety system.",
                    code="moderation_blocked"), "item"),
        # how every request is made: the endpoint's (the run stops, items keep their attempts)
        (400, VLLM_TOO_LARGE, "endpoint"),
        (400, error("Invalid value for 'temperature'", param="temperature"), "endpoint"),
        (422, {"detail": [{"loc": ["body", "messages"], "msg": "field required"}]}, "endpoint"),
        (500, error("The server had an error while processing your request.",
                    type="server_error"), "endpoint"),
        (503, error("Loading model", type="unavailable_error", code=503), "endpoint"),
        # cannot work at all
        (401, error("Incorrect API key provided.", code="invalid_api_key"), "fatal"),
        (404, error("The model `gpt-nope` does not exist.", code="model_not_found"), "fatal"),
        (400, error("model 'llama9' not found, try pulling it first"), "fatal"),  # Ollama
        (429, error("You exceeded your current quota.", type="insufficient_quota",
                    code="insufficient_quota"), "fatal"),
    ],
)  # fmt: skip
def test_real_servers_errors_are_told_apart(status: int, body: dict[str, Any], kind: str) -> None:
    with FakeOpenAI() as fake:
        provider = make(fake)
    found = provider.error_for(status_error(status, body))
    assert (found.fatal, found.endpoint) == {
        "item": (False, False),
        "endpoint": (False, True),
        "fatal": (True, True),
    }[kind]
    assert f"HTTP {status}" in str(found)
    if body is VLLM_TOO_LARGE:
        assert "lower INKLINE_OPENAI_MAX_TOKENS_*" in str(found)


@pytest.mark.parametrize(
    ("status", "body", "refused"),
    [
        # llama-cpp-python's server (pydantic), llama.cpp (older builds answered 500 too)
        (500, error("1 validation error for CreateChatCompletionRequest\nresponse_format.type\n"
                    "  Input should be 'text' or 'json_object' [type=literal_error]",
                    type="internal_server_error"), True),
        (400, error('response_format type must be one of "text" or "json_object", but got: '
                    "json_schema"), True),
        (500, error('response_format type must be one of "text" or "json_object", but got: '
                    "json_schema", type="server_error", code=500), True),
        (400, error("Invalid parameter: 'response_format' of type 'json_schema' is not "
                    "supported with this model.", param="response_format"), True),
        (400, error("Invalid schema for response_format 'article': In context=(), 'maxLength' "
                    "is not permitted."), True),
        # not about the format
        (500, error("The server had an error.", type="server_error"), False),
        (400, OPENAI_MAX_TOKENS, False),
        (404, error("The model `x` does not exist.", code="model_not_found"), False),
    ],
)  # fmt: skip
def test_a_refused_response_format_is_recognised(
    status: int, body: dict[str, Any], refused: bool
) -> None:
    assert refuses_format(status_error(status, body)) is refused


def test_only_openai_s_refusal_of_max_tokens_switches_the_parameter() -> None:
    with FakeOpenAI() as fake:
        provider = make(fake)
    assert not provider._switched_token_param("max_tokens", status_error(400, VLLM_TOO_LARGE))
    assert provider.token_param == "max_tokens"
    refusal = status_error(400, OPENAI_MAX_TOKENS)
    assert not provider._switched_token_param("max_completion_tokens", refusal)
    assert provider._switched_token_param("max_tokens", refusal)
    assert provider.token_param == "max_completion_tokens"


def test_a_mode_refused_after_the_check_makes_the_next_check_ask_again() -> None:
    with FakeOpenAI() as fake:
        provider = make(fake, max_retries=2)
        assert provider.check().structured_output == "json_schema"
        fake.modes = ("json_object",)  # the server was swapped for llama-cpp-python's
        assert ideas_call(provider).ideas
        assert provider.mode == "json_object"
        fake.reset()
        assert provider.check().structured_output == "json_object"
        assert fake.probe_requests()  # not the kept result: asked again


def test_the_check_of_a_server_too_slow_to_answer(server: FakeOpenAI) -> None:
    server.inject("slow", path="/chat/completions", delay=1.0, times=None)
    check = make(server, timeout=0.2, max_retries=0).check()
    assert not check.ok and check.reachable
    (problem,) = check.problems
    assert problem.code == "timeout" and "INKLINE_OPENAI_TIMEOUT" in problem.fix
    assert "0.2 s to answer" in problem.message
