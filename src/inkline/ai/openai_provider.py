"""The `openai` AI provider: any OpenAI-compatible endpoint through the official SDK.

OpenAI, Azure OpenAI, OpenRouter, Ollama, vLLM and LM Studio all speak the chat-completions
and images API at a configurable base URL. Every text function sends a versioned prompt
(`inkline.ai.prompts`) and asks for strict JSON-schema output, which is validated; an invalid
or truncated answer is asked again once, then the item fails naming the reason. Retries of
failed requests (429 honouring Retry-After, 5xx, timeouts, connection errors) happen in one
place, the SDK, with `max_retries` set explicitly; the engine never retries a call on top.
A wrong key, a forbidden key, an unknown model or an account out of quota (429
`insufficient_quota`, which the SDK is told not to retry) raise a fatal `AIError`, which stops
the run.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, cast

import openai
from django.conf import settings
from openai.types.chat import ChatCompletion
from PIL import Image, ImageOps, UnidentifiedImageError

from inkline.ai import prompts
from inkline.ai.prompts import PromptSpec
from inkline.ai.ratelimit import RateLimitedTransport, RateLimiter
from inkline.ai.types import (
    AIError,
    ArticleIn,
    ArticleOut,
    ArticleResult,
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
    Usage,
)
from inkline.writer.html import html_text, word_count

if TYPE_CHECKING:
    import httpx2

T = TypeVar("T")

# Existing clusters sent with a clustering batch: a sample of keywords each, to keep the prompt
# small while letting the model recognise where a new keyword belongs.
EXISTING_SAMPLE = 5
_H2 = re.compile(r"<h2[^>]*>(.*?)</h2>", re.IGNORECASE | re.DOTALL)


class OpenAIProvider:
    """The `AIProvider` backed by an OpenAI-compatible HTTP API. Thread-safe: the SDK client
    (one connection pool) is shared by the engine's worker threads."""

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
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if timeout <= 0:
            raise ValueError("timeout must be > 0")
        self.model = model
        self.image_model = image_model
        self.timeout = timeout
        self.max_retries = max_retries
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

    @classmethod
    def from_settings(cls) -> OpenAIProvider:
        return cls(
            model=settings.INKLINE_OPENAI_MODEL,
            image_model=settings.INKLINE_OPENAI_IMAGE_MODEL,
            api_key=settings.OPENAI_API_KEY,
            base_url=settings.OPENAI_BASE_URL,
            timeout=settings.INKLINE_OPENAI_TIMEOUT,
            max_retries=settings.INKLINE_OPENAI_MAX_RETRIES,
        )

    # --- the AI functions -------------------------------------------------------------------
    def cluster_keywords(
        self, keywords: list[KeywordIn], existing: list[ExistingCluster]
    ) -> ClusterResult:
        if not keywords:
            return ClusterResult((), Usage(calls=0), self._provenance(prompts.CLUSTERING))
        payload = {
            "keywords": [
                {"id": k.id, "phrase": k.phrase, "volume": k.volume, "intent": k.intent}
                for k in keywords
            ],
            "existing_clusters": [
                {"id": c.id, "name": c.name, "keywords": list(c.keywords[:EXISTING_SAMPLE])}
                for c in existing
            ],
        }
        ids = [k.id for k in keywords]
        phrases = {k.id: k.phrase for k in keywords}
        data, usage = self._structured(
            prompts.CLUSTERING,
            payload,
            check=lambda d: place_keywords(d["clusters"], ids, existing, phrases),
        )
        return ClusterResult(
            assignments=data,
            usage=_with(usage, items=len(keywords)),
            provenance=self._provenance(prompts.CLUSTERING),
        )

    def generate_ideas(self, cluster_name: str, keywords: list[KeywordIn]) -> IdeasResult:
        payload = {
            "name": cluster_name,
            "keywords": [
                {"phrase": k.phrase, "volume": k.volume, "intent": k.intent} for k in keywords
            ],
        }
        ideas, usage = self._structured(prompts.IDEAS, payload, check=_ideas)
        return IdeasResult(
            ideas=ideas,
            usage=_with(usage, items=len(ideas)),
            provenance=self._provenance(prompts.IDEAS),
        )

    def write_content(self, brief: ArticleIn) -> ArticleResult:
        payload = {
            "title": brief.title,
            "primary_keyword": brief.primary_keyword,
            "target_keywords": list(brief.target_keywords),
            "content_type": brief.content_type,
            "outline": list(brief.outline),
        }
        article, usage = self._structured(prompts.ARTICLE, payload, check=_article)
        return ArticleResult(
            article=article,
            usage=_with(usage, items=1, words=word_count(article.html)),
            provenance=self._provenance(prompts.ARTICLE),
        )

    def extract_image_prompts(self, title: str, html: str) -> ImagePromptsResult:
        sections = [" ".join(html_text(h).split()) for h in _H2.findall(html)]
        payload = {"title": title, "sections": sections}
        found, usage = self._structured(
            prompts.IMAGE_PROMPTS, payload, check=lambda d: _image_prompts(d, len(sections))
        )
        return ImagePromptsResult(
            prompts=found,
            usage=_with(usage, items=len(found)),
            provenance=self._provenance(prompts.IMAGE_PROMPTS),
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
        response = self._call(lambda: self.client.images.generate(**options))
        encoded = response.data[0].b64_json if response.data else None
        if not encoded:
            raise AIError("image generation: the answer carries no base64 image (b64_json)")
        try:
            data, extension = fit_image(base64.b64decode(encoded, validate=True), request.size)
        except (binascii.Error, ValueError, UnidentifiedImageError, OSError) as exc:
            raise AIError(f"image generation: the answer is not a readable image ({exc})") from None
        usage = response.usage
        width, height = request.size
        return ImageResult(
            data=data,
            extension=extension,
            usage=Usage(
                calls=1,
                items=1,
                images=1,
                prompt_tokens=usage.input_tokens if usage else 0,
                completion_tokens=usage.output_tokens if usage else 0,
            ),
            provenance=Provenance(self.name, self.image_model, prompts.IMAGE_PROMPT_VERSION),
            width=width,
            height=height,
        )

    # --- plumbing ---------------------------------------------------------------------------
    def _provenance(self, spec: PromptSpec) -> Provenance:
        return Provenance(provider=self.name, model=self.model, prompt_version=spec.version)

    def _structured(
        self, spec: PromptSpec, payload: dict[str, Any], *, check: Callable[[dict[str, Any]], T]
    ) -> tuple[T, Usage]:
        """Ask for `spec`'s JSON; validate it (schema, then `check`); re-ask once if invalid or
        truncated. The usage of both calls is counted: the tokens were spent."""
        messages = spec.messages(payload)
        prompt_tokens = completion_tokens = 0
        error = ""
        for calls in (1, 2):
            sent = [*messages, prompts.repair_message(error)] if error else messages
            completion = self._call(partial(self._chat, sent, spec))
            if completion.usage is not None:
                prompt_tokens += completion.usage.prompt_tokens
                completion_tokens += completion.usage.completion_tokens
            error = _answer_error(completion)
            if not error:
                try:
                    value = check(spec.parse(completion.choices[0].message.content))
                except ValueError as exc:
                    error = str(exc)
                else:
                    usage = Usage(
                        calls=calls,
                        prompt_tokens=prompt_tokens,
                        completion_tokens=completion_tokens,
                    )
                    return value, usage
        raise AIError(f"{spec.name}: invalid answer, also after one re-ask: {error}")

    def _chat(self, messages: list[dict[str, str]], spec: PromptSpec) -> ChatCompletion:
        return self.client.chat.completions.create(
            model=self.model,
            messages=cast(Any, messages),
            response_format=cast(Any, spec.response_format()),
        )

    def _call(self, request: Callable[[], T]) -> T:
        """Make one SDK request (the SDK retries it) and translate its errors."""
        try:
            return request()
        except openai.AuthenticationError as exc:
            hint = " (OPENAI_API_KEY is not set)" if self.key_missing else ""
            raise AIError(
                f"the AI provider at {self.base_url} rejected the API key{hint}: {_brief(exc)}",
                transient=False,
                fatal=True,
            ) from None
        except openai.PermissionDeniedError as exc:
            raise AIError(
                f"the API key may not use this model or endpoint: {_brief(exc)}",
                transient=False,
                fatal=True,
            ) from None
        except openai.NotFoundError as exc:
            raise AIError(
                f"model '{self.model}' / '{self.image_model}' or endpoint not found at "
                f"{self.base_url}: {_brief(exc)}",
                transient=False,
                fatal=True,
            ) from None
        except openai.RateLimitError as exc:
            if exc.code == "insufficient_quota":
                raise AIError(
                    f"the AI provider account has no quota left: {_brief(exc)}",
                    transient=False,
                    fatal=True,
                ) from None
            raise AIError(
                f"rate limited (429) after {self.max_retries} retries: {_brief(exc)}",
                endpoint=True,
            ) from None
        except openai.APITimeoutError:
            raise AIError(
                f"no answer from {self.base_url} within {self.timeout:g} s "
                f"(tried {self.max_retries + 1} times)",
                endpoint=True,
            ) from None
        except openai.APIConnectionError as exc:
            raise AIError(f"could not reach {self.base_url}: {exc}", endpoint=True) from None
        except openai.BadRequestError as exc:
            raise AIError(
                f"the request was refused (400): {_brief(exc)}", transient=False
            ) from None
        except openai.APIStatusError as exc:
            raise AIError(
                f"the AI provider answered {exc.status_code} after {self.max_retries} retries: "
                f"{_brief(exc)}",
                endpoint=exc.status_code >= 500,
            ) from None
        except (openai.OpenAIError, ValueError) as exc:  # an unreadable response body
            raise AIError(f"unusable answer from {self.base_url}: {exc}") from None


# --- pure helpers (validated answers → typed results) -----------------------------------------
def no_retry_when_out_of_quota(response: httpx2.Response) -> None:
    """The SDK retries every 429; one saying `insufficient_quota` (the provider account has no
    credit left) cannot be fixed by waiting, so mark it with the header the SDK obeys
    (`x-should-retry: false`) and the run stops after one request instead of several."""
    if response.status_code != 429:
        return
    response.read()
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return
    if isinstance(error, dict) and "insufficient_quota" in (error.get("code"), error.get("type")):
        response.headers["x-should-retry"] = "false"


def _brief(exc: openai.APIStatusError) -> str:
    """`401 Incorrect API key provided.`: the status and the provider's own message."""
    message = exc.body.get("message") if isinstance(exc.body, dict) else None
    return f"HTTP {exc.status_code}: {message or exc.message}"[:300]


def _with(usage: Usage, **fields: int) -> Usage:
    return Usage(
        calls=usage.calls,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        **fields,
    )


def _answer_error(completion: Any) -> str:
    """Why a completion cannot be used as it is, or "" when its content may be parsed."""
    if not completion.choices:
        return "the answer has no choices"
    choice = completion.choices[0]
    if choice.finish_reason == "length":
        return "the answer was cut off at the output token limit (finish_reason 'length')"
    if choice.finish_reason == "content_filter":
        return "the answer was withheld by the provider's content filter"
    if choice.message.refusal:
        return f"the model refused: {choice.message.refusal[:200]}"
    return ""


def place_keywords(
    clusters: list[dict[str, Any]],
    keyword_ids: list[int],
    existing: list[ExistingCluster],
    phrases: dict[int, str] | None = None,
) -> tuple[ClusterAssignment, ...]:
    """The model's clusters as assignments placing every keyword id exactly once.

    Repairs what can be repaired without guessing: ids not in the batch and repeated ids (the
    first placement wins) are dropped, groups left empty vanish, an unknown existing cluster id
    becomes a new cluster, and a new cluster named like an existing one (or like an earlier new
    one) joins it. Keywords the model left out cannot be placed without it: ValueError.
    """
    wanted = set(keyword_ids)
    by_id = {c.id: c for c in existing}
    by_name = {c.name.strip().casefold(): c.id for c in existing}
    placed: set[int] = set()
    groups: dict[tuple[str, object], list[int]] = {}
    meta: dict[tuple[str, object], tuple[str, str, int | None]] = {}
    for cluster in clusters:
        ids = []
        for kid in cluster["keyword_ids"]:
            if kid in wanted and kid not in placed:
                placed.add(kid)
                ids.append(kid)
        if not ids:
            continue
        name = " ".join(str(cluster["name"]).split())
        existing_id = cluster["existing_cluster_id"]
        if existing_id not in by_id:
            existing_id = by_name.get(name.casefold())
        if existing_id is not None:
            key: tuple[str, object] = ("existing", existing_id)
            meta.setdefault(key, (by_id[existing_id].name, "", existing_id))
        else:
            if not name:
                name = (phrases or {}).get(ids[0], "") or "Untitled cluster"
            key = ("new", name.casefold())
            meta.setdefault(key, (name, " ".join(str(cluster["description"]).split()), None))
        groups.setdefault(key, []).extend(ids)
    missing = [kid for kid in keyword_ids if kid not in placed]
    if missing:
        shown = ", ".join(str(k) for k in missing[:20]) + (" …" if len(missing) > 20 else "")
        raise ValueError(f"{len(missing)} keyword ids were not placed in any cluster: {shown}")
    return tuple(
        ClusterAssignment(
            keyword_ids=tuple(ids),
            name=meta[key][0],
            description=meta[key][1],
            existing_cluster_id=meta[key][2],
        )
        for key, ids in groups.items()
    )


def _ideas(data: dict[str, Any]) -> tuple[IdeaOut, ...]:
    ideas = tuple(
        IdeaOut(
            title=i["title"].strip(),
            primary_keyword=i["primary_keyword"].strip(),
            target_keywords=tuple(k.strip() for k in i["target_keywords"] if k.strip()),
            content_type=i["content_type"],
            content_structure=i["content_structure"],
            outline=tuple(h.strip() for h in i["outline"] if h.strip()),
        )
        for i in data["ideas"]
        if i["title"].strip() and i["primary_keyword"].strip()
    )
    if not ideas:
        raise ValueError("no idea with a title and a primary keyword")
    return ideas


def _article(data: dict[str, Any]) -> ArticleOut:
    if not word_count(data["html"]):
        raise ValueError("the article body is empty")
    return ArticleOut(
        title=data["title"].strip(),
        html=data["html"],
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
