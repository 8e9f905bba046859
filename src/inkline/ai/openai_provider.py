"""The `openai` AI provider: any OpenAI-compatible endpoint through the official SDK.

OpenAI, Azure OpenAI, OpenRouter, Ollama, vLLM, LM Studio and llama.cpp's `llama-server` all
speak the chat-completions API (and some the images API) at a configurable base URL. Every text
function sends a versioned prompt (`inkline.ai.prompts`) with an output bound (`max_tokens`,
per operation) and asks for JSON in the best structured-output mode the endpoint honours
(`json_schema` → `json_object` with the schema → the schema in the prompt only): a mode the
endpoint refuses is left for the next one at once, remembered, and never counted as a failure.
The answer is validated; an invalid, truncated or too short one is asked again once, naming the
reason, then the item fails with that reason and the tokens both answers cost.

Two kinds of failure (`AIError.endpoint`): the endpoint's own (unreachable, timeouts, 5xx and
429 left after the retries, unreadable bodies; and, `fatal`, a refused key, a forbidden model,
an unknown model or endpoint, an account out of quota) say nothing about the item; an answer
still unusable after the re-ask, or a request refused for this item's content (longer than the
model's context, a content policy), is the item's failure. Retries of failed requests (429
honouring Retry-After, 5xx, timeouts, connection errors) happen in one place, the SDK, with
`max_retries` set explicitly; the engine never retries a call on top. `check()` asks the
endpoint what it can do with a few tiny requests.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import openai
from django.conf import settings
from openai.types.chat import ChatCompletion
from PIL import Image, ImageOps, UnidentifiedImageError

from inkline import clock
from inkline.ai import prompts
from inkline.ai.prompts import PromptSpec
from inkline.ai.ratelimit import RateLimitedTransport, RateLimiter
from inkline.ai.types import (
    STRUCTURED_MODES,
    AICheck,
    AIError,
    ArticleIn,
    ArticleOut,
    ArticleResult,
    CheckProblem,
    ClusterAssignment,
    ClusterResult,
    ExistingCluster,
    IdeaOut,
    IdeasResult,
    ImagePromptOut,
    ImagePromptsResult,
    ImageRequest,
    ImageResult,
    KeywordIn,
    Provenance,
    StructuredMode,
    Usage,
)
from inkline.planner.clustering import (
    DEFAULT_CLUSTERER,
    Grouping,
    KnownCluster,
    NewKeyword,
    clusterer_grouping,
    group_keywords,
    semantic,
)
from inkline.planner.clustering.naming import numbered
from inkline.writer.html import html_text, word_count

if TYPE_CHECKING:
    import httpx2

T = TypeVar("T")
log = logging.getLogger(__name__)

# Existing clusters sent with a clustering batch: a sample of keywords each, to keep the prompt
# small while letting the model recognise where a new keyword belongs.
EXISTING_SAMPLE = 5
_H2 = re.compile(r"<h2[^>]*>(.*?)</h2>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][a-zA-Z0-9]*\b[^>]*>")

# The most tokens each operation's answer may take (`max_tokens`), unless configured
# (INKLINE_OPENAI_MAX_TOKENS_*). A clustering answer is also held to CLUSTER_TOKENS_BASE +
# CLUSTER_TOKENS_PER_KEYWORD per keyword of its batch.
DEFAULT_MAX_TOKENS: dict[str, int] = {
    "clustering": 8192,
    "idea_generation": 2048,
    "content_generation": 6144,
    "image_prompt_extraction": 1024,
}
CLUSTER_TOKENS_BASE = 1024
CLUSTER_TOKENS_PER_KEYWORD = 64
# A cluster's name, description and intent: the most tokens the naming answer may take.
NAME_TOKENS = 512
# Texts sent in one `/v1/embeddings` request.
EMBEDDINGS_BATCH = 512
CHECK_MAX_TOKENS = 256
CHECK_CONNECT_TIMEOUT = 10.0
DEFAULT_CHECK_TTL = 300.0
_NEXT_MODE: dict[StructuredMode, StructuredMode] = {
    "json_schema": "json_object",
    "json_object": "prompt",
}

# An error about the structured-output request itself: llama.cpp answers 400 (older builds 500)
# "response_format type must be one of "text" or "json_object"", llama-cpp-python 500 "Input
# should be 'text' or 'json_object'", OpenAI 400 "Invalid parameter: 'response_format' of type
# 'json_schema' is not supported with this model".
_FORMAT_REFUSAL = re.compile(r"response_format|json_schema|json_object|'text' or", re.IGNORECASE)
# A request refused for what this item sent, not for how every request is made.
_ITEM_REFUSAL = re.compile(
    r"context[ _](length|size|window)|maximum context|exceeds? the (available )?context"
    r"|too many tokens|prompt is too long|content[ _]policy|content[ _]filter|moderation"
    r"|safety system|invalid_prompt",
    re.IGNORECASE,
)
_OUTPUT_LIMIT = re.compile(r"max_tokens|max_completion_tokens", re.IGNORECASE)
_UNSUPPORTED = re.compile(r"unsupported|not supported", re.IGNORECASE)
# A strict mode refusing string lengths ("'maxLength' is not permitted").
_LENGTH_KEYWORDS = re.compile(r"\b(minLength|maxLength)\b")
_MODEL_MISSING = re.compile(
    r"model.{0,80}(does not exist|not found|not exist|unknown|invalid model)"
    r"|(unknown|invalid) model|model_not_found",
    re.IGNORECASE | re.DOTALL,
)


@dataclass
class _Spent:
    """The tokens of the requests an AI function call has had answered so far."""

    answered: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, completion: ChatCompletion) -> None:
        self.answered += 1
        if completion.usage is not None:
            self.prompt_tokens += completion.usage.prompt_tokens or 0
            self.completion_tokens += completion.usage.completion_tokens or 0

    def usage(self) -> Usage:
        # One AI function call, whatever the number of requests (a re-ask must not double a
        # per-call charge); the tokens of every request it made.
        return Usage(
            calls=1, prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens
        )

    def billed(self) -> Usage | None:
        return self.usage() if self.answered else None


class OpenAIProvider:
    """The `AIProvider` backed by an OpenAI-compatible HTTP API. Thread-safe: the SDK client
    (one connection pool) is shared by the engine's worker threads, and what the provider
    learns about the endpoint (its structured-output mode, the name of its output-token
    parameter, the last check) is kept under a lock."""

    name = "openai"

    def __init__(
        self,
        *,
        model: str,
        image_model: str,
        api_key: str = "",
        base_url: str = "",
        timeout: float = 120.0,
        max_retries: int = 2,
        max_tokens: Mapping[str, int] | None = None,
        check_ttl: float = DEFAULT_CHECK_TTL,
        embeddings_model: str = "",
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if timeout <= 0:
            raise ValueError("timeout must be > 0")
        unknown = set(max_tokens or {}) - set(DEFAULT_MAX_TOKENS)
        if unknown:
            raise ValueError(f"max_tokens for unknown operations: {', '.join(sorted(unknown))}")
        self.model = model
        self.image_model = image_model
        # The endpoint's model for `/v1/embeddings`; "": cluster on the local model.
        self.embeddings_model = embeddings_model
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_tokens = {**DEFAULT_MAX_TOKENS, **(max_tokens or {})}
        if min(self.max_tokens.values()) < 1:
            raise ValueError("max_tokens must be >= 1")
        self.check_ttl = check_ttl
        self.key_missing = not api_key
        # Paces every request (SDK retries included) by the endpoint's rate-limit answers.
        self.limiter = RateLimiter()
        self.client = openai.OpenAI(
            # Local servers (Ollama, vLLM) need no key; OpenAI answers a missing one with 401.
            api_key=api_key or "not-set",
            base_url=base_url or None,
            timeout=timeout,
            max_retries=max_retries,
            http_client=openai.DefaultHttpxClient(
                transport=RateLimitedTransport(self.limiter),
                event_hooks={"response": [no_retry_when_out_of_quota]},
            ),
        )
        self.base_url = str(self.client.base_url).rstrip("/")
        self._lock = threading.Lock()
        self._mode: StructuredMode = STRUCTURED_MODES[0]
        # Whether json_schema requests leave out the keywords a strict mode may refuse
        # (prompts.STRICT_UNSUPPORTED): set once, on such a refusal.
        self._lean = False
        # OpenAI's newer models refuse `max_tokens` ("Use 'max_completion_tokens' instead");
        # every other server reads `max_tokens`. Switched once, on that refusal.
        self._token_param = "max_tokens"
        self._check_lock = threading.Lock()
        # Whether the endpoint serves embeddings: None until asked, False once it refused.
        self._embeddings: bool | None = None
        self._checked: tuple[datetime, AICheck] | None = None

    @classmethod
    def from_settings(cls) -> OpenAIProvider:
        return cls(
            model=settings.INKLINE_OPENAI_MODEL,
            image_model=settings.INKLINE_OPENAI_IMAGE_MODEL,
            api_key=settings.OPENAI_API_KEY,
            base_url=settings.OPENAI_BASE_URL,
            timeout=settings.INKLINE_OPENAI_TIMEOUT,
            max_retries=settings.INKLINE_OPENAI_MAX_RETRIES,
            max_tokens={
                "clustering": settings.INKLINE_OPENAI_MAX_TOKENS_CLUSTERING,
                "idea_generation": settings.INKLINE_OPENAI_MAX_TOKENS_IDEAS,
                "content_generation": settings.INKLINE_OPENAI_MAX_TOKENS_ARTICLE,
                "image_prompt_extraction": settings.INKLINE_OPENAI_MAX_TOKENS_IMAGE_PROMPTS,
            },
            check_ttl=settings.INKLINE_OPENAI_CHECK_SECONDS,
            embeddings_model=settings.INKLINE_OPENAI_EMBEDDINGS_MODEL,
        )

    @property
    def mode(self) -> StructuredMode:
        """The structured-output mode requests are sent in (the best one not refused yet)."""
        with self._lock:
            return self._mode

    @property
    def token_param(self) -> str:
        with self._lock:
            return self._token_param

    @property
    def lean(self) -> bool:
        with self._lock:
            return self._lean

    # --- the AI functions -------------------------------------------------------------------
    def cluster_keywords(
        self, keywords: list[KeywordIn], existing: list[ExistingCluster]
    ) -> ClusterResult:
        """Group the keywords ourselves, deterministically, on embeddings (the endpoint's
        `/v1/embeddings` when it has one, else the local model, else lexically), then ask the
        model once per new cluster for its name, description and intent: no chat call sorts
        keywords."""
        if not keywords:
            return ClusterResult(
                (), Usage(calls=0), self._provenance(prompts.CLUSTER_NAME, self.model)
            )
        embedding_tokens: list[int] = []
        new = [NewKeyword(id=k.id, phrase=k.phrase, volume=k.volume) for k in keywords]
        known = [KnownCluster(id=c.id, name=c.name, keywords=c.keywords) for c in existing]
        grouping, source = self._clustering_grouping(embedding_tokens)
        try:
            grouped = group_keywords(new, known, grouping)
        except _NoEmbeddings as exc:
            self._no_embeddings(str(exc))
            grouping, source = self._clustering_grouping(embedding_tokens)
            grouped = group_keywords(new, known, grouping)
        spent = Usage(calls=1, prompt_tokens=sum(embedding_tokens))
        served = self.model
        taken = {c.name.strip().casefold() for c in existing}
        volume = {k.id: k.volume or 0 for k in keywords}
        phrase = {k.id: k.phrase for k in keywords}
        assignments = []
        for group in grouped.groups:
            if group.existing_cluster_id is not None:
                assignments.append(
                    ClusterAssignment(
                        keyword_ids=group.keyword_ids,
                        name=group.name,
                        description=group.description,
                        existing_cluster_id=group.existing_cluster_id,
                    )
                )
                continue
            ranked = sorted(group.keyword_ids, key=lambda k: (-volume[k], k))
            payload = {
                "keywords": [phrase[k] for k in ranked[: prompts.NAME_SAMPLE]],
                "suggested_name": group.name,
            }
            try:
                named, usage, served = self._structured(
                    prompts.CLUSTER_NAME,
                    payload,
                    max_tokens=min(self.max_tokens["clustering"], NAME_TOKENS),
                    check=_cluster_name,
                )
            except AIError as exc:
                spent = _plus(spent, exc.usage)
                if exc.endpoint:
                    exc.usage = spent
                    raise
                # An unusable answer, also after the re-ask: the cluster keeps the name its
                # keywords' shared words give it.
                log.warning("cluster naming failed, keeping %r: %s", group.name, exc)
                named, usage = (group.name, group.description, ""), None
            spent = _plus(spent, usage)
            name = named[0]
            if name.casefold() in taken:
                name = numbered(name, taken)
            taken.add(name.casefold())
            assignments.append(
                ClusterAssignment(
                    keyword_ids=group.keyword_ids,
                    name=name,
                    description=named[1] or group.description,
                    intent=named[2],
                )
            )
        return ClusterResult(
            assignments=tuple(assignments),
            usage=_with(spent, items=len(keywords)),
            provenance=Provenance(
                provider=self.name,
                model=f"{served}+{source}",
                prompt_version=prompts.CLUSTER_NAME.version,
            ),
            silhouette=grouped.silhouette,
            singleton_share=grouped.singleton_share,
        )

    @property
    def embeddings_available(self) -> bool | None:
        """Whether the endpoint serves `/v1/embeddings` for the configured model (None: not
        asked yet, or no embeddings model is configured)."""
        with self._lock:
            return self._embeddings

    def _clustering_grouping(self, tokens: list[int]) -> tuple[Grouping, str]:
        """How this call groups keywords, and its name for the provenance: the endpoint's
        embeddings, unless it has none (or none is configured); else the local model, else
        lexically."""
        if self.embeddings_model and self.embeddings_available is not False:
            model = self.embeddings_model

            def embedder(texts: Sequence[str]) -> np.ndarray:
                vectors, used = self._embed(texts)
                tokens.append(used)
                return vectors

            return semantic.embed_with(embedder, f"{self.base_url} {model}"), model
        grouping = clusterer_grouping(DEFAULT_CLUSTERER)
        return grouping, grouping.name

    def _embed(self, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        """Unit embeddings of `texts` from the endpoint and the tokens billed;
        _NoEmbeddings when it has no embeddings API or model."""
        rows: list[np.ndarray] = []
        used = 0
        for start in range(0, len(texts), EMBEDDINGS_BATCH):
            chunk = list(texts[start : start + EMBEDDINGS_BATCH])
            try:
                response = self.client.embeddings.create(model=self.embeddings_model, input=chunk)
            except openai.APIStatusError as exc:
                if exc.status_code in (404, 405, 501) or (
                    exc.status_code in (400, 422) and "embedding" in _text(exc).lower()
                ):
                    raise _NoEmbeddings(_brief(exc)) from None
                raise self.error_for(exc) from None
            except (openai.OpenAIError, ValueError) as exc:
                raise self.error_for(exc) from None
            data = sorted(response.data, key=lambda d: d.index)
            if len(data) != len(chunk):
                raise AIError(
                    f"{self.base_url} answered {len(data)} embeddings for {len(chunk)} texts",
                    endpoint=True,
                )
            rows.append(np.asarray([d.embedding for d in data], dtype=np.float32))
            used += response.usage.prompt_tokens if response.usage else 0
        vectors = np.vstack(rows)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        with self._lock:
            self._embeddings = True
        return vectors / np.maximum(norms, 1e-12), used

    def _no_embeddings(self, reason: str) -> None:
        with self._lock:
            self._embeddings = False
        log.warning(
            "%s has no embeddings for model %s (%s): clustering on the local model from now on",
            self.base_url,
            self.embeddings_model,
            reason,
        )

    def generate_ideas(self, cluster_name: str, keywords: list[KeywordIn]) -> IdeasResult:
        payload = {
            "name": cluster_name,
            "keywords": [
                {"phrase": k.phrase, "volume": k.volume, "intent": k.intent} for k in keywords
            ],
        }
        ideas, usage, served = self._structured(
            prompts.IDEAS, payload, max_tokens=self.max_tokens["idea_generation"], check=_ideas
        )
        return IdeasResult(
            ideas=ideas,
            usage=_with(usage, items=len(ideas)),
            provenance=self._provenance(prompts.IDEAS, served),
        )

    def write_content(self, brief: ArticleIn) -> ArticleResult:
        payload: dict[str, Any] = {
            "title": brief.title,
            "primary_keyword": brief.primary_keyword,
            "target_keywords": list(brief.target_keywords),
            "content_type": brief.content_type,
            "outline": list(brief.outline),
        }
        if brief.min_words > 0:
            payload["min_words"] = brief.min_words
        if brief.voice.is_set:
            payload["brand_voice"] = brief.voice.as_dict()
        article, usage, served = self._structured(
            prompts.ARTICLE,
            payload,
            max_tokens=self.max_tokens["content_generation"],
            check=lambda d: article_from(d, brief),
        )
        return ArticleResult(
            article=article,
            usage=_with(usage, items=1, words=word_count(article.html)),
            provenance=self._provenance(prompts.ARTICLE, served),
        )

    def extract_image_prompts(self, title: str, html: str) -> ImagePromptsResult:
        sections = [" ".join(html_text(h).split()) for h in _H2.findall(html)]
        payload = {"title": title, "sections": sections}
        found, usage, served = self._structured(
            prompts.IMAGE_PROMPTS,
            payload,
            max_tokens=self.max_tokens["image_prompt_extraction"],
            check=lambda d: _image_prompts(d, len(sections)),
        )
        return ImagePromptsResult(
            prompts=found,
            usage=_with(usage, items=len(found)),
            provenance=self._provenance(prompts.IMAGE_PROMPTS, served),
        )

    def generate_image(self, request: ImageRequest) -> ImageResult:
        options: dict[str, Any] = {
            "model": self.image_model,
            "prompt": prompts.IMAGE_STYLE + request.prompt,
            "size": api_image_size(self.image_model, request.size),
            "n": 1,
        }
        if self.image_model.startswith("dall-e"):
            options["response_format"] = "b64_json"  # gpt-image models always answer base64
        try:
            response = self.client.images.generate(**options)
        except (openai.OpenAIError, ValueError) as exc:
            raise self.error_for(exc, images=True) from None
        usage = response.usage
        width, height = request.size
        billed = Usage(
            calls=1,
            items=1,
            images=1,
            prompt_tokens=usage.input_tokens if usage else 0,
            completion_tokens=usage.output_tokens if usage else 0,
        )
        encoded = response.data[0].b64_json if response.data else None
        if not encoded:
            raise AIError(
                "image generation: the answer carries no base64 image (b64_json)", usage=billed
            )
        try:
            data, extension = fit_image(base64.b64decode(encoded, validate=True), request.size)
        except (binascii.Error, ValueError, UnidentifiedImageError, OSError) as exc:
            raise AIError(
                f"image generation: the answer is not a readable image ({exc})", usage=billed
            ) from None
        return ImageResult(
            data=data,
            extension=extension,
            usage=billed,
            provenance=Provenance(self.name, self.image_model, prompts.IMAGE_PROMPT_VERSION),
            width=width,
            height=height,
        )

    # --- the connection check ---------------------------------------------------------------
    def check(self, *, fresh: bool = False) -> AICheck:
        """Ask the endpoint what it can do; never raises AIError.

        A few tiny requests: the model listing, one chat request per structured-output mode
        until one is accepted (that mode is used from then on), and an image request with an
        empty prompt, which a server with an images API refuses as invalid (400) and one
        without answers 404: neither costs anything. A working result is kept for
        `check_ttl` seconds (`fresh=True` asks again)."""
        with self._check_lock:
            now = clock.now()
            if not fresh and self._checked is not None and now < self._checked[0]:
                return self._checked[1]
            result = self._probe()
            if result.structured_output is not None:
                with self._lock:
                    self._mode = result.structured_output
            self._checked = (now + timedelta(seconds=self.check_ttl), result) if result.ok else None
            return result

    def _probe(self) -> AICheck:
        base = self.base_url
        # A host that drops packets must not hold a run's start for minutes: connecting gets
        # at most CHECK_CONNECT_TIMEOUT seconds, answering the whole timeout (a CPU server).
        client = self.client.with_options(
            max_retries=min(1, self.max_retries),
            timeout=openai.Timeout(self.timeout, connect=min(self.timeout, CHECK_CONNECT_TIMEOUT)),
        )
        problems: list[CheckProblem] = []

        def result(**fields: Any) -> AICheck:
            values: dict[str, Any] = {
                "reachable": True,
                "auth": True,
                "model": None,
                "structured_output": None,
                "images": False,
            }
            return AICheck(
                provider=self.name,
                base_url=base,
                problems=tuple(problems),
                **(values | fields),
            )

        listed: set[str] | None = None
        try:
            listed = {m.id for m in client.models.list().data}
        except openai.APIConnectionError as exc:
            problems.append(self._unreachable_problem(exc))
            return result(reachable=False, auth=False)
        except openai.AuthenticationError as exc:
            problems.append(self._status_problem(exc, listed=None))
            return result(auth=False)
        except (openai.OpenAIError, ValueError, TypeError, AttributeError):
            listed = None  # not every server lists its models, nor lets every key list them

        served: str | None = None
        mode: StructuredMode | None = None
        refused: list[str] = []
        for candidate in STRUCTURED_MODES:
            try:
                completion = self._probe_chat(client, candidate)
            except openai.APIConnectionError as exc:
                problems.append(self._unreachable_problem(exc))
                timed_out = isinstance(exc, openai.APITimeoutError)
                return result(reachable=timed_out, auth=timed_out)
            except openai.APIStatusError as exc:
                if (
                    exc.status_code not in (401, 403, 404, 429)
                    and not _MODEL_MISSING.search(_text(exc))
                    and (exc.status_code < 500 or _FORMAT_REFUSAL.search(_text(exc)))
                ):
                    # A probe of the request's form: a refusal says this mode will not do.
                    refused.append(f"{candidate}: {_brief(exc)}")
                    continue
                problems.append(self._status_problem(exc, listed=listed))
                return result(auth=exc.status_code not in (401, 403))
            except (openai.OpenAIError, ValueError) as exc:
                problems.append(
                    CheckProblem(
                        "unusable_answer",
                        f"{base} answered a chat request with something unreadable: {exc}"[:400],
                        "Check that OPENAI_BASE_URL points at an OpenAI-compatible API "
                        "(it usually ends in /v1).",
                    )
                )
                return result()
            mode, served = candidate, completion.model or self.model
            error = _answer_error(completion)
            if not error:
                try:
                    prompts.CHECK.parse(completion.choices[0].message.content)
                except ValueError as exc:
                    error = str(exc)
            if error:
                problems.append(
                    CheckProblem(
                        "weak_output",
                        f"model '{served}' at {base} accepted {candidate} output but its answer "
                        f"to a tiny JSON request was not usable: {error}"[:400],
                        "Expect failed items: a larger or instruction-tuned model answers "
                        "JSON more reliably.",
                    )
                )
            break
        if mode is None:
            problems.append(
                CheckProblem(
                    "no_structured_output",
                    f"{base} refused every way of asking for JSON, even a plain chat request: "
                    f"{'; '.join(refused)}"[:600],
                    "Check that OPENAI_BASE_URL is an OpenAI-compatible chat-completions API "
                    "(llama.cpp, Ollama, vLLM, OpenAI) and that the model is a chat model.",
                )
            )
            return result()
        if refused:
            log.info("%s refused %s; using %s", base, "; ".join(refused), mode)
        if mode == "prompt":
            problems.append(
                CheckProblem(
                    "unconstrained_output",
                    f"{base} accepts no response_format ({'; '.join(refused)}): the JSON "
                    "schema is only in the prompt, so answers are validated but not "
                    "constrained"[:600],
                    "Expect more re-asks and failed items; a server honouring response_format "
                    "json_schema or json_object (llama.cpp, Ollama, vLLM) constrains them.",
                )
            )
        images = self._probe_images(client, listed, served, problems)
        return result(model=served, structured_output=mode, images=images)

    def _probe_chat(self, client: openai.OpenAI, mode: StructuredMode) -> ChatCompletion:
        messages = prompts.CHECK.messages({"check": True}, mode)
        param = self.token_param
        try:
            return self._send(prompts.CHECK, messages, mode, param, CHECK_MAX_TOKENS, client)
        except openai.APIStatusError as exc:
            if not self._switched_token_param(param, exc):
                raise
        return self._send(prompts.CHECK, messages, mode, self.token_param, CHECK_MAX_TOKENS, client)

    def _probe_images(
        self,
        client: openai.OpenAI,
        listed: set[str] | None,
        served: str | None,
        problems: list[CheckProblem],
    ) -> bool:
        base, model = self.base_url, self.image_model
        fix = (
            "Turn stage 6 (images) off in the automation settings: articles are then judged "
            "on text alone. Or set INKLINE_OPENAI_IMAGE_MODEL to an image model "
            f"{base} serves."
        )
        try:
            client.images.generate(model=model, prompt="", n=1)
        except openai.APIStatusError as exc:
            status = exc.status_code
            if status in (400, 422) and not _MODEL_MISSING.search(_text(exc)):
                pass  # the empty prompt was refused: the endpoint and the model exist
            else:
                if status in (404, 405):
                    message = f"{base} has no images API or no image model '{model}' ({status})"
                elif _MODEL_MISSING.search(_text(exc)):
                    message = f"{base} does not serve the image model '{model}'"
                elif status in (401, 403):
                    message = f"the API key may not generate images with '{model}' at {base}"
                else:
                    message = f"images at {base} could not be confirmed"
                problems.append(CheckProblem("no_images", f"{message}: {_brief(exc)}", fix))
                return False
        except (openai.OpenAIError, ValueError) as exc:
            problems.append(
                CheckProblem("no_images", f"images at {base} could not be confirmed: {exc}", fix)
            )
            return False
        # A listing naming the chat model is the endpoint's whole catalogue: the image model
        # must be in it too (the empty prompt may have been refused before the model was read).
        if listed and {self.model, served} & listed and model not in listed:
            problems.append(
                CheckProblem("no_images", f"{base} does not list the image model '{model}'", fix)
            )
            return False
        return True

    def _unreachable_problem(self, exc: openai.APIConnectionError) -> CheckProblem:
        if isinstance(exc, openai.APITimeoutError):
            return CheckProblem(
                "timeout",
                f"no answer from {self.base_url} in time (at most "
                f"{min(self.timeout, CHECK_CONNECT_TIMEOUT):g} s to connect, "
                f"{self.timeout:g} s to answer)",
                "Check that the server is up and not overloaded, or raise INKLINE_OPENAI_TIMEOUT.",
            )
        cause = exc.__cause__ or exc
        return CheckProblem(
            "unreachable",
            f"could not reach {self.base_url}: {cause}"[:400],
            f"Start the server, or correct OPENAI_BASE_URL (now {self.base_url}).",
        )

    def _status_problem(
        self, exc: openai.APIStatusError, *, listed: set[str] | None
    ) -> CheckProblem:
        base, status = self.base_url, exc.status_code
        if status == 401:
            hint = " (OPENAI_API_KEY is not set)" if self.key_missing else ""
            return CheckProblem(
                "auth",
                f"{base} rejected the API key{hint}: {_brief(exc)}",
                "Set OPENAI_API_KEY to a key this endpoint accepts.",
            )
        if status == 403:
            return CheckProblem(
                "forbidden",
                f"the API key may not use model '{self.model}' at {base}: {_brief(exc)}",
                "Use a key allowed to use this model, or another model (INKLINE_OPENAI_MODEL).",
            )
        if status == 404 or _MODEL_MISSING.search(_text(exc)):
            served = f": it lists {', '.join(sorted(listed)[:10])}" if listed else ""
            return CheckProblem(
                "model_not_found",
                f"model '{self.model}' or the chat endpoint was not found at {base}: {_brief(exc)}",
                f"Set INKLINE_OPENAI_MODEL to a model {base} serves{served}.",
            )
        if status == 429 and _out_of_quota(exc):
            return CheckProblem(
                "quota",
                f"the account at {base} has no quota left: {_brief(exc)}",
                "Add credit to the provider account, or use another key.",
            )
        if status == 429:
            return CheckProblem(
                "rate_limited",
                f"{base} is rate limiting this key: {_brief(exc)}",
                "Check again in a minute, or lower INKLINE_AI_CONCURRENCY.",
            )
        return CheckProblem(
            "server_error",
            f"{base} answered a chat request with an error: {_brief(exc)}",
            "Look at the server's log, and check again once it answers.",
        )

    # --- plumbing ---------------------------------------------------------------------------
    def _provenance(self, spec: PromptSpec, served: str) -> Provenance:
        return Provenance(provider=self.name, model=served, prompt_version=spec.version)

    def _structured(
        self,
        spec: PromptSpec,
        payload: dict[str, Any],
        *,
        max_tokens: int,
        check: Callable[[dict[str, Any]], T],
    ) -> tuple[T, Usage, str]:
        """Ask for `spec`'s JSON; validate it (schema, then `check`); re-ask once, naming the
        reason, if it is invalid or truncated. Returns the value, the usage of every request
        made and the model that answered. Every AIError raised once a request was answered
        carries the usage of the answered ones."""
        spent = _Spent()
        repair: list[dict[str, str]] = []
        error = ""
        for _ask in (1, 2):
            completion = self._complete(spec, payload, repair, max_tokens, spent)
            error = _answer_error(completion)
            if not error:
                try:
                    value = check(spec.parse(completion.choices[0].message.content))
                except ValueError as exc:
                    error = str(exc)
                else:
                    return value, spent.usage(), completion.model or self.model
            repair = prompts.repair_messages(_content(completion), error)
        raise AIError(
            f"{spec.name}: invalid answer, also after one re-ask: {error}",
            usage=spent.usage(),
        )

    def _complete(
        self,
        spec: PromptSpec,
        payload: dict[str, Any],
        repair: list[dict[str, str]],
        max_tokens: int,
        spent: _Spent,
    ) -> ChatCompletion:
        """One answered chat request in the best mode the endpoint accepts. A refused mode or
        output-token parameter is switched at once (and remembered), not counted as a
        failure; any other failure is translated (`error_for`)."""
        for _attempt in range(len(STRUCTURED_MODES) + 3):
            with self._lock:
                mode, param, lean = self._mode, self._token_param, self._lean
            messages = [*spec.messages(payload, mode), *repair]
            try:
                completion = self._send(spec, messages, mode, param, max_tokens, lean=lean)
            except openai.APIStatusError as exc:
                if (
                    self._switched_token_param(param, exc)
                    or self._leaned(mode, lean, exc)
                    or self._left_mode(mode, exc)
                ):
                    continue
                raise self.error_for(exc, usage=spent.billed()) from None
            except (openai.OpenAIError, ValueError) as exc:
                raise self.error_for(exc, usage=spent.billed()) from None
            spent.add(completion)
            return completion
        raise AIError(  # cannot happen: each switch happens at most once
            f"{spec.name}: {self.base_url} refused every request format",
            endpoint=True,
            usage=spent.billed(),
        )

    def _send(
        self,
        spec: PromptSpec,
        messages: list[dict[str, str]],
        mode: StructuredMode,
        token_param: str,
        max_tokens: int,
        client: openai.OpenAI | None = None,
        *,
        lean: bool = False,
    ) -> ChatCompletion:
        options: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            token_param: max_tokens,
        }
        response_format = spec.response_format(mode, lean=lean)
        if response_format is not None:
            options["response_format"] = response_format
        completion: ChatCompletion = (client or self.client).chat.completions.create(**options)
        return completion

    def _switched_token_param(self, sent: str, exc: openai.APIStatusError) -> bool:
        """On OpenAI's 400 "Unsupported parameter: 'max_tokens' ... Use 'max_completion_tokens'
        instead" to a request that sent `max_tokens`, use `max_completion_tokens` from now on;
        True if the request may be sent again."""
        if sent != "max_tokens" or exc.status_code != 400:
            return False
        if "max_completion_tokens" not in _text(exc) or not _UNSUPPORTED.search(_text(exc)):
            return False
        if exc.param not in (None, "max_tokens") and "'max_tokens'" not in _text(exc):
            return False
        with self._lock:
            switched = self._token_param != "max_completion_tokens"
            self._token_param = "max_completion_tokens"
        if switched:
            log.info("%s refuses max_tokens: sending max_completion_tokens", self.base_url)
        return True

    def _leaned(self, mode: StructuredMode, lean: bool, exc: openai.APIStatusError) -> bool:
        """When a strict json_schema mode refuses string lengths ("'maxLength' is not
        permitted"), send schemas without them from now on (the answers are still validated
        with them); True if the request may be sent again."""
        if mode != "json_schema" or lean or exc.status_code != 400:
            return False
        if not _LENGTH_KEYWORDS.search(_text(exc)):
            return False
        with self._lock:
            switched = not self._lean
            self._lean = True
        if switched:
            log.info("%s refuses string lengths in schemas: sending them without", self.base_url)
        return True

    def _left_mode(self, mode: StructuredMode, exc: openai.APIStatusError) -> bool:
        """When the endpoint refuses `mode`'s response_format, go on with the next mode (for
        every later request too); True if the request may be sent again."""
        if mode == "prompt" or not refuses_format(exc):
            return False
        following = _NEXT_MODE[mode]
        with self._lock:
            if self._mode == mode:
                self._mode = following
        self._checked = None  # it named the mode just refused: the next check asks again
        log.warning(
            "%s refused response_format %s (%s): using %s from now on",
            self.base_url,
            mode,
            _brief(exc),
            following,
        )
        return True

    def error_for(
        self, exc: Exception, *, usage: Usage | None = None, images: bool = False
    ) -> AIError:
        """The AIError an SDK error stands for (see the module docstring)."""
        base = self.base_url
        if isinstance(exc, openai.AuthenticationError):
            hint = " (OPENAI_API_KEY is not set)" if self.key_missing else ""
            return AIError(
                f"the AI provider at {base} rejected the API key{hint}: {_brief(exc)}",
                transient=False,
                fatal=True,
                usage=usage,
            )
        if isinstance(exc, openai.PermissionDeniedError):
            return AIError(
                f"the API key may not use this model or endpoint at {base}: {_brief(exc)}",
                transient=False,
                fatal=True,
                usage=usage,
            )
        if images and isinstance(exc, openai.NotFoundError):
            # No images here (llama.cpp, vLLM): a missing capability, not a dead endpoint;
            # the run's text work may go on (stage 6 is meant to be off for such endpoints).
            return AIError(
                f"image model '{self.image_model}' or the images API not found at {base} "
                f"(turn stage 6 off for this endpoint): {_brief(exc)}",
                transient=False,
                endpoint=True,
                usage=usage,
            )
        if isinstance(exc, openai.NotFoundError) or (
            isinstance(exc, openai.BadRequestError) and _MODEL_MISSING.search(_text(exc))
        ):
            return AIError(
                f"model '{self.model}' or the chat endpoint not found at {base}: {_brief(exc)}",
                transient=False,
                fatal=True,
                usage=usage,
            )
        if isinstance(exc, openai.RateLimitError):
            if _out_of_quota(exc):
                return AIError(
                    f"the AI provider account at {base} has no quota left: {_brief(exc)}",
                    transient=False,
                    fatal=True,
                    usage=usage,
                )
            return AIError(
                f"rate limited (429) by {base} after {self.max_retries} retries: {_brief(exc)}",
                endpoint=True,
                usage=usage,
            )
        if isinstance(exc, openai.APITimeoutError):
            return AIError(
                f"no answer from {base} within {self.timeout:g} s "
                f"(tried {self.max_retries + 1} times)",
                endpoint=True,
                usage=usage,
            )
        if isinstance(exc, openai.APIConnectionError):
            return AIError(f"could not reach {base}: {exc}", endpoint=True, usage=usage)
        if isinstance(exc, openai.APIStatusError) and 400 <= exc.status_code < 500:
            # vLLM's "'max_tokens' ... is too large: ... maximum context length" is the
            # configured bound's fault (every long request meets it), not the item's.
            if _ITEM_REFUSAL.search(_text(exc)) and not _OUTPUT_LIMIT.search(_text(exc)):
                # About what this item sent (too long for the model, a content policy).
                return AIError(
                    f"the request was refused ({exc.status_code}): {_brief(exc)}",
                    transient=False,
                    usage=usage,
                )
            hint = (
                " (lower INKLINE_OPENAI_MAX_TOKENS_* or give the model a larger context)"
                if _OUTPUT_LIMIT.search(_text(exc))
                else ""
            )
            # Every request is made the same way: refused once, refused for every item.
            return AIError(
                f"{base} refused the request ({exc.status_code}){hint}: {_brief(exc)}",
                transient=False,
                endpoint=True,
                usage=usage,
            )
        if isinstance(exc, openai.APIStatusError):
            return AIError(
                f"the AI provider at {base} answered {exc.status_code} after "
                f"{self.max_retries} retries: {_brief(exc)}",
                endpoint=True,
                usage=usage,
            )
        # An unreadable response body (openai.OpenAIError or ValueError).
        return AIError(f"unusable answer from {base}: {exc}"[:500], endpoint=True, usage=usage)


# --- pure helpers (errors, validated answers → typed results) ---------------------------------
class _NoEmbeddings(Exception):
    """The endpoint has no embeddings API, or not for the configured model."""


def _plus(usage: Usage, more: Usage | None) -> Usage:
    """`usage` with the tokens of `more` added (still one AI function call)."""
    if more is None:
        return usage
    return Usage(
        calls=usage.calls,
        prompt_tokens=usage.prompt_tokens + more.prompt_tokens,
        completion_tokens=usage.completion_tokens + more.completion_tokens,
    )


def _cluster_name(data: dict[str, Any]) -> tuple[str, str, str]:
    """(name, description, intent) of a naming answer, whitespace collapsed."""
    name = " ".join(str(data["name"]).split()).strip("\"'")
    if not name:
        raise ValueError("the cluster name is empty")
    return name, " ".join(str(data["description"]).split()), data["intent"]


def no_retry_when_out_of_quota(response: httpx2.Response) -> None:
    """Mark the answers a retry cannot help with the header the SDK obeys (`x-should-retry:
    false`), so they are asked once instead of `max_retries + 1` times:
    - a 429 saying `insufficient_quota` (the provider account has no credit left);
    - a 5xx refusing the request's response_format (llama-cpp-python answers 500 "Input
      should be 'text' or 'json_object'" to json_schema): the provider asks again at once in
      the next structured-output mode."""
    status = response.status_code
    if status != 429 and status < 500:
        return
    response.read()
    if status >= 500:
        if _FORMAT_REFUSAL.search(response.text[:2000]):
            response.headers["x-should-retry"] = "false"
        return
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return
    if isinstance(error, dict) and "insufficient_quota" in (error.get("code"), error.get("type")):
        response.headers["x-should-retry"] = "false"


def _text(exc: openai.APIStatusError) -> str:
    """Everything the error says: the SDK's message (status and body) and the error's fields."""
    return f"{exc.message} {exc.code or ''} {exc.param or ''} {exc.type or ''}"


def _brief(exc: openai.APIStatusError) -> str:
    """`HTTP 401: Incorrect API key provided.`: the status and the provider's own message."""
    body = exc.body
    message = body.get("message") if isinstance(body, dict) else None
    if message is None and isinstance(body, dict) and body.get("detail"):
        message = str(body["detail"])  # FastAPI-style servers (llama-cpp-python, vLLM)
    return f"HTTP {exc.status_code}: {message or exc.message}"[:300]


def _out_of_quota(exc: openai.APIStatusError) -> bool:
    return exc.status_code == 429 and "insufficient_quota" in (exc.code, exc.type)


def refuses_format(exc: openai.APIStatusError) -> bool:
    """The endpoint refused the request's response_format (not the request as a whole)."""
    status = exc.status_code
    if status in (401, 403, 404, 429) or _MODEL_MISSING.search(_text(exc)):
        return False
    if exc.param == "response_format":
        return True
    return (400 <= status < 500 or status in (500, 501)) and bool(
        _FORMAT_REFUSAL.search(_text(exc))
    )


def _with(usage: Usage, **fields: int) -> Usage:
    return Usage(
        calls=usage.calls,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        **fields,
    )


def _content(completion: ChatCompletion) -> str:
    return (completion.choices[0].message.content or "") if completion.choices else ""


def _answer_error(completion: Any) -> str:
    """Why a completion cannot be used as it is, or "" when its content may be parsed."""
    if not completion.choices:
        return "the answer has no choices"
    choice = completion.choices[0]
    if choice.finish_reason == "length":
        return "the answer was cut off at the output token limit (finish_reason 'length')"
    if choice.finish_reason == "content_filter":
        return "the answer was withheld by the provider's content filter"
    if getattr(choice.message, "refusal", None):
        return f"the model refused: {choice.message.refusal[:200]}"
    return ""


def _ideas(data: dict[str, Any]) -> tuple[IdeaOut, ...]:
    """The ideas with a title and a primary keyword, the first of each primary keyword (two
    articles for one query would compete), repeated keywords and headings dropped."""
    ideas: list[IdeaOut] = []
    primaries: set[str] = set()
    for i in data["ideas"]:
        title, primary = " ".join(i["title"].split()), " ".join(i["primary_keyword"].split())
        if not title or not primary or primary.casefold() in primaries:
            continue
        primaries.add(primary.casefold())
        ideas.append(
            IdeaOut(
                title=title,
                primary_keyword=primary,
                target_keywords=_distinct(i["target_keywords"]),
                content_type=i["content_type"],
                content_structure=i["content_structure"],
                outline=_distinct(i["outline"]),
            )
        )
    if not ideas:
        raise ValueError("no idea with a title and a primary keyword")
    return tuple(ideas)


def _distinct(texts: list[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for text in texts:
        cleaned = " ".join(text.split())
        if cleaned:
            seen.setdefault(cleaned.casefold(), cleaned)
    return tuple(seen.values())


def article_from(data: dict[str, Any], brief: ArticleIn) -> ArticleOut:
    """The article, if it is one: HTML (a plain-text answer is not), at least `brief.min_words`
    words (any, when 0) and an <h2> section per outline heading, at least min(2, headings)."""
    html = data["html"]
    words = word_count(html)
    if not words:
        raise ValueError("the article body is empty")
    if not _TAG.search(html):
        raise ValueError("the article body is plain text, not HTML (no tags)")
    if words < brief.min_words:
        raise ValueError(f"the article has {words} words; at least {brief.min_words} are required")
    sections = len(_H2.findall(html))
    wanted = min(2, len(brief.outline))
    if sections < wanted:
        raise ValueError(
            f"the article has {sections} <h2> sections; at least {wanted} are required "
            "(one per outline heading)"
        )
    return ArticleOut(
        title=data["title"].strip(),
        html=html,
        meta_description=data["meta_description"].strip(),
        slug=data["slug"].strip(),
    )


def _image_prompts(data: dict[str, Any], sections: int) -> tuple[ImagePromptOut, ...]:
    """Featured at position 0, in-article at 1..sections; repeats and strays dropped."""
    seen: set[tuple[str, int]] = set()
    found = []
    for p in data["prompts"]:
        kind, position = p["kind"], 0 if p["kind"] == "featured" else p["position"]
        if (kind == "in_article" and not 1 <= position <= sections) or not p["prompt"].strip():
            continue
        if (kind, position) in seen:
            continue
        seen.add((kind, position))
        found.append(
            ImagePromptOut(
                kind=kind, position=position, prompt=p["prompt"].strip(), alt_text=p["alt_text"]
            )
        )
    if ("featured", 0) not in seen:
        raise ValueError("no featured image prompt")
    return tuple(found)


def api_image_size(model: str, size: tuple[int, int]) -> str:
    """The size the images API accepts closest in shape to `size` (the image is then fitted)."""
    width, height = size
    shape = (
        "square"
        if abs(width - height) <= min(width, height) / 10
        else ("landscape" if width > height else "portrait")
    )
    sizes = (
        {"square": "1024x1024", "landscape": "1792x1024", "portrait": "1024x1792"}
        if model.startswith("dall-e-3")
        else {"square": "1024x1024", "landscape": "1024x1024", "portrait": "1024x1024"}
        if model.startswith("dall-e")
        else {"square": "1024x1024", "landscape": "1536x1024", "portrait": "1024x1536"}
    )
    return sizes[shape]


def fit_image(raw: bytes, size: tuple[int, int]) -> tuple[bytes, str]:
    """Crop to `size`'s shape and scale to it; encoded as WebP (PNG when WebP is missing)."""
    with Image.open(io.BytesIO(raw)) as source:
        source.load()
        image = ImageOps.fit(source.convert("RGB"), size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    try:
        image.save(out, "WEBP", quality=85)
        return out.getvalue(), "webp"
    except (KeyError, OSError):
        out = io.BytesIO()
        image.save(out, "PNG", optimize=True)
        return out.getvalue(), "png"
