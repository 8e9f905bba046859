"""The `openai` provider against a real local HTTP server speaking the OpenAI API."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from inkline.ai import prompts
from inkline.ai.openai_provider import OpenAIProvider, api_image_size
from inkline.ai.types import AIError, ArticleIn, ExistingCluster, ImageRequest, KeywordIn
from tests.ai.fake_openai import (
    API_KEY,
    CHAT_MODEL,
    EMBEDDINGS_MODEL,
    IMAGE_MODEL,
    FakeOpenAI,
)

KEYWORDS = [
    KeywordIn(id=11, phrase="cold brew ratio", volume=900, intent="informational"),
    KeywordIn(id=12, phrase="cold brew concentrate", volume=400),
    KeywordIn(id=13, phrase="french press grind size", volume=300),
    KeywordIn(id=14, phrase="burr grinder vs blade grinder", volume=200),
]
BRIEF = ArticleIn(
    title="How to make cold brew",
    primary_keyword="cold brew",
    target_keywords=("cold brew ratio", "cold brew concentrate"),
    content_type="how_to",
    outline=("What you need", "The ratio", "Steeping", "Serving"),
)


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def make(server: FakeOpenAI, **options: Any) -> OpenAIProvider:
    settings: dict[str, Any] = {
        "model": CHAT_MODEL,
        "image_model": IMAGE_MODEL,
        "api_key": API_KEY,
        "base_url": server.base_url,
        "timeout": 5.0,
        "max_retries": 1,
    }
    return OpenAIProvider(**(settings | options))


def ideas_call(provider: OpenAIProvider) -> Any:
    return provider.generate_ideas("Cold brew", KEYWORDS[:2])


# --- requests and structured answers ----------------------------------------------------------
def test_clustering_groups_on_the_endpoint_s_embeddings_and_only_names_new_clusters(
    server: FakeOpenAI,
) -> None:
    result = make(server, embeddings_model=EMBEDDINGS_MODEL).cluster_keywords(KEYWORDS, [])

    placed = sorted(i for a in result.assignments for i in a.keyword_ids)
    assert placed == [11, 12, 13, 14]
    (embeddings,) = server.embedding_requests()
    assert embeddings.body["model"] == EMBEDDINGS_MODEL
    assert embeddings.authorization == f"Bearer {API_KEY}"
    # no chat request sorts keywords: one naming request per new cluster
    assert not server.chat_requests("keyword_clusters")
    naming = server.chat_requests("cluster_name")
    new = [a for a in result.assignments if a.existing_cluster_id is None]
    assert len(naming) == len(new) == len(server.chat_requests()) >= 1
    request = naming[0]
    assert request.body["model"] == CHAT_MODEL
    assert request.body["messages"][0] == {"role": "system", "content": prompts.CLUSTER_NAME.system}
    assert request.body["response_format"]["json_schema"]["name"] == "cluster_name"
    assert request.body["max_tokens"] == 512
    assert request.payload["keywords"][0] == "cold brew ratio"  # highest volume first
    for assignment in new:
        assert assignment.name.endswith(" Hub")  # the model's name, not the local one
        assert assignment.intent == "informational" and assignment.description
    assert result.usage.calls == 1 and result.usage.items == 4
    assert result.usage.prompt_tokens == embeddings.usage["prompt_tokens"] + sum(
        r.usage["prompt_tokens"] for r in naming
    )
    assert result.usage.completion_tokens == sum(r.usage["completion_tokens"] for r in naming)
    assert result.provenance.as_dict(result.usage) == {
        "provider": "openai",
        "model": f"{CHAT_MODEL}+{EMBEDDINGS_MODEL}",
        "prompt_version": "cluster-name-v1",
        "prompt_tokens": result.usage.prompt_tokens,
        "completion_tokens": result.usage.completion_tokens,
    }
    assert result.singleton_share is not None


def test_without_an_embeddings_api_the_local_model_groups_and_the_endpoint_is_not_asked_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with FakeOpenAI(embeddings=False) as fake:
        provider = make(fake, embeddings_model=EMBEDDINGS_MODEL)
        first = provider.cluster_keywords(KEYWORDS, [])
        second = provider.cluster_keywords([KeywordIn(id=20, phrase="moka pot gasket")], [])
    assert len(fake.embedding_requests()) == 1  # refused once (404), remembered
    assert provider.embeddings_available is False
    assert "has no embeddings" in caplog.text
    for result in (first, second):
        assert result.provenance.model == f"{CHAT_MODEL}+semantic"
    new = len(first.assignments) + len(second.assignments)
    assert len(fake.chat_requests("cluster_name")) == len(fake.chat_requests()) == new


def test_no_embeddings_model_configured_means_the_local_model(server: FakeOpenAI) -> None:
    result = make(server).cluster_keywords(KEYWORDS, [])
    assert not server.embedding_requests()
    assert result.provenance.model == f"{CHAT_MODEL}+semantic"


def test_an_unusable_name_keeps_the_local_one_and_the_batch_still_clusters(
    server: FakeOpenAI,
) -> None:
    server.responders["cluster_name"] = lambda payload: {"nom": "?"}
    result = make(server).cluster_keywords(KEYWORDS, [])
    assert sorted(i for a in result.assignments for i in a.keyword_ids) == [11, 12, 13, 14]
    assert all(not a.name.endswith(" Hub") for a in result.assignments)
    # asked, re-asked once, for each new cluster; the tokens of every answer are billed
    assert len(server.chat_requests("cluster_name")) == 2 * len(result.assignments)
    assert result.usage.completion_tokens == sum(
        r.usage["completion_tokens"] for r in server.chat_requests()
    )


def test_an_endpoint_failure_while_naming_fails_the_call_with_its_usage(
    server: FakeOpenAI,
) -> None:
    server.inject("quota", times=None, schema="cluster_name")
    with pytest.raises(AIError, match="no quota") as caught:
        make(server, embeddings_model=EMBEDDINGS_MODEL).cluster_keywords(KEYWORDS, [])
    assert caught.value.fatal and caught.value.usage is not None
    assert caught.value.usage.prompt_tokens == server.embedding_requests()[0].usage["prompt_tokens"]


def test_new_keywords_join_the_clusters_an_earlier_call_made_without_naming_calls(
    server: FakeOpenAI,
) -> None:
    provider = make(server, embeddings_model=EMBEDDINGS_MODEL)
    first = provider.cluster_keywords(KEYWORDS, [])
    phrase = {k.id: k.phrase for k in KEYWORDS}
    existing = [
        ExistingCluster(id=100 + n, name=a.name, keywords=tuple(phrase[i] for i in a.keyword_ids))
        for n, a in enumerate(first.assignments)
    ]
    server.reset()
    again = [KeywordIn(id=21, phrase="cold brew ratio uk"), KeywordIn(id=22, phrase="cold brew")]
    result = provider.cluster_keywords(again, existing)
    assert all(a.existing_cluster_id is not None for a in result.assignments)
    assert not server.chat_requests()


def test_every_strict_schema_requires_all_properties_and_forbids_others() -> None:
    def objects(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if schema.get("type") == "object":
            yield schema
            for prop in schema["properties"].values():
                yield from objects(prop)
        if schema.get("type") == "array":
            yield from objects(schema["items"])

    for spec in prompts.SPECS.values():
        found = list(objects(spec.schema))
        assert found, spec.name
        for obj in found:
            assert obj["additionalProperties"] is False
            assert sorted(obj["required"]) == sorted(obj["properties"])


def test_every_schema_bounds_its_arrays_and_strings() -> None:
    """A weak model cannot loop to the server's limit inside a valid answer: every array has
    maxItems, every free string maxLength (the article body is bounded by max_tokens)."""

    def nodes(schema: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
        if isinstance(schema, dict):
            yield path, schema
            for key, value in schema.items():
                yield from nodes(value, f"{path}/{key}")

    for spec in prompts.SPECS.values():
        for path, node in nodes(spec.schema):
            if node.get("type") == "array":
                assert node["maxItems"] >= 1, (spec.name, path)
            if node.get("type") == "string" and "enum" not in node and path != "/properties/html":
                assert node["maxLength"] >= 1, (spec.name, path)
    ideas = prompts.IDEAS.schema["properties"]["ideas"]
    assert (ideas["minItems"], ideas["maxItems"]) == (1, 4)
    with pytest.raises(ValueError, match="should be non-empty"):
        prompts.IDEAS.parse('{"ideas": []}')
    # a strict mode refusing minLength/maxLength is sent a lean schema, validated with them
    lean = json.dumps(prompts.ARTICLE.response_format("json_schema", lean=True))
    assert "maxLength" not in lean and "minLength" not in lean
    assert "maxLength" in json.dumps(prompts.ARTICLE.response_format("json_schema"))
    assert "maxItems" in json.dumps(prompts.IDEAS.response_format("json_schema", lean=True))
    too_long = {"title": "x" * 151, "html": "<p>a</p>", "meta_description": "", "slug": "a"}
    with pytest.raises(ValueError, match="title does not match the schema"):
        prompts.ARTICLE.parse(json.dumps(too_long))


def test_ideas_articles_and_image_prompts_come_back_typed_with_their_usage(
    server: FakeOpenAI,
) -> None:
    provider = make(server)
    ideas = ideas_call(provider)
    assert [i.primary_keyword for i in ideas.ideas] == ["cold brew ratio", "cold brew concentrate"]
    assert ideas.ideas[0].outline and ideas.ideas[0].content_type == "guide"
    assert ideas.provenance.prompt_version == "ideas-v2"

    article = provider.write_content(BRIEF)
    sent = server.chat_requests("article")[0]
    assert sent.payload["outline"] == list(BRIEF.outline)
    assert article.article.html.count("<h2>") == 4
    assert article.usage.words > 20
    assert article.usage.prompt_tokens == sent.usage["prompt_tokens"]

    found = provider.extract_image_prompts(BRIEF.title, article.article.html)
    sent = server.chat_requests("image_prompts")[0]
    assert sent.payload == {"title": BRIEF.title, "sections": list(BRIEF.outline)}
    assert [(p.kind, p.position) for p in found.prompts] == [("featured", 0), ("in_article", 1)]


def test_images_come_back_as_base64_and_are_fitted_to_the_requested_size(
    server: FakeOpenAI,
) -> None:
    result = make(server).generate_image(ImageRequest(prompt="a glass of cold brew"))
    (request,) = server.image_requests()
    assert request.body["model"] == IMAGE_MODEL
    assert request.body["size"] == "1536x1024"
    assert request.body["prompt"].endswith("a glass of cold brew")
    assert "response_format" not in request.body  # gpt-image models always answer base64
    with Image.open(io.BytesIO(result.data)) as picture:
        assert picture.size == (1200, 630)
        assert picture.format.lower() == result.extension
    assert (result.width, result.height) == (1200, 630)
    assert result.usage.images == 1
    assert result.usage.completion_tokens == request.usage["output_tokens"]


def test_image_sizes_follow_each_model_family() -> None:
    assert api_image_size("gpt-image-1", (1200, 630)) == "1536x1024"
    assert api_image_size("gpt-image-1", (630, 1200)) == "1024x1536"
    assert api_image_size("dall-e-3", (1200, 630)) == "1792x1024"
    assert api_image_size("dall-e-2", (1200, 630)) == "1024x1024"
    assert api_image_size("any", (1000, 1000)) == "1024x1024"


# --- retries in one place: the SDK ------------------------------------------------------------
def test_429_waits_for_retry_after_then_succeeds(server: FakeOpenAI) -> None:
    server.inject("429", retry_after=0.6)
    started = time.monotonic()
    ideas_call(make(server))
    first, second = server.requests
    assert first.status == 429 and second.status == 200
    assert second.started - first.finished >= 0.55  # the server's Retry-After was honoured
    assert time.monotonic() - started >= 0.6


def test_429_beyond_the_retries_fails_the_item_transiently(server: FakeOpenAI) -> None:
    server.inject("429", retry_after=0.1, times=None)
    with pytest.raises(AIError, match="rate limited") as caught:
        ideas_call(make(server, max_retries=2))
    assert caught.value.transient and not caught.value.fatal
    assert len(server.requests) == 3  # max_retries=2: one call and two retries, no more


def test_500s_are_retried_by_the_sdk_then_reported(server: FakeOpenAI) -> None:
    server.inject("500")
    assert ideas_call(make(server)).ideas
    assert [r.status for r in server.requests] == [500, 200]

    server.reset()
    server.inject("500", times=None)
    with pytest.raises(AIError, match="answered 500") as caught:
        ideas_call(make(server, max_retries=0))
    assert caught.value.transient and not caught.value.fatal
    assert len(server.requests) == 1


def test_a_slow_server_times_out_after_the_retries(server: FakeOpenAI) -> None:
    server.inject("slow", delay=2.0, times=None)
    started = time.monotonic()
    with pytest.raises(AIError, match=r"no answer .* within 0.3 s \(tried 2 times\)") as caught:
        ideas_call(make(server, timeout=0.3, max_retries=1))
    assert caught.value.transient and not caught.value.fatal
    assert len(server.requests) == 2
    assert time.monotonic() - started < 2.0  # gave up on the timeout, not on the server


def test_an_unreadable_body_is_a_transient_failure(server: FakeOpenAI) -> None:
    server.inject("body", times=None)
    with pytest.raises(AIError, match="unusable answer") as caught:
        ideas_call(make(server, max_retries=0))
    assert caught.value.transient and not caught.value.fatal


# --- invalid answers: one re-ask, then the reason ---------------------------------------------
@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("malformed", "not valid JSON"),
        ("truncated", "cut off at the output token limit"),
        ("invalid", "does not match the schema"),
    ],
)
def test_an_invalid_answer_is_asked_again_once(server: FakeOpenAI, kind: str, reason: str) -> None:
    server.inject(kind)
    result = ideas_call(make(server))
    first, second = server.requests
    assert result.ideas
    assert result.usage.calls == 1  # one AI function call: a per-call charge is not doubled
    # ...but both requests' tokens are counted: they were spent
    assert (
        result.usage.prompt_tokens == first.usage["prompt_tokens"] + second.usage["prompt_tokens"]
    )
    rejected, repair = second.body["messages"][-2:]
    assert repair["role"] == "user" and reason in repair["content"]
    # the rejected answer as the assistant's turn: chat templates that want the roles to
    # alternate (Gemma's, Mistral's) refuse two user turns in a row
    assert rejected == {"role": "assistant", "content": first.answer.strip()}
    assert second.body["messages"][:-2] == first.body["messages"]

    server.reset()
    server.inject(kind, times=2)
    with pytest.raises(AIError, match=reason) as caught:
        ideas_call(make(server))
    assert len(server.requests) == 2
    assert not caught.value.fatal and not caught.value.endpoint  # the item's failure
    first, second = server.requests
    assert caught.value.usage is not None  # what the two answers cost is billed
    assert caught.value.usage.calls == 1
    assert caught.value.usage.completion_tokens == (
        first.usage["completion_tokens"] + second.usage["completion_tokens"]
    )


# --- fatal: the provider cannot work at all ---------------------------------------------------
def test_a_wrong_key_is_fatal_and_names_the_cause(server: FakeOpenAI) -> None:
    with pytest.raises(AIError, match="rejected the API key: HTTP 401") as caught:
        ideas_call(make(server, api_key="sk-wrong"))
    assert caught.value.fatal
    assert len(server.requests) == 1  # a 401 is not retried


def test_an_unknown_model_is_fatal(server: FakeOpenAI) -> None:
    with pytest.raises(AIError, match=r"model 'gpt-nope'.*not found") as caught:
        ideas_call(make(server, model="gpt-nope"))
    assert caught.value.fatal


def test_from_settings_reads_the_environment_settings(server: FakeOpenAI, settings: Any) -> None:
    from inkline.ai.registry import get_provider

    settings.OPENAI_API_KEY = API_KEY
    settings.OPENAI_BASE_URL = server.base_url
    settings.INKLINE_OPENAI_MODEL = CHAT_MODEL
    settings.INKLINE_OPENAI_MAX_RETRIES = 0
    settings.INKLINE_OPENAI_TIMEOUT = 7.0
    provider = get_provider("openai")
    assert isinstance(provider, OpenAIProvider)
    assert provider.base_url == server.base_url
    assert provider.client.max_retries == 0 and provider.client.timeout == 7.0
    assert ideas_call(provider).ideas
    assert json.loads(server.requests[0].body["messages"][1]["content"])["name"] == "Cold brew"
