"""Typed inputs and outputs of the AI functions.

Providers are pure with respect to the database: they receive plain data and return plain data,
so the engine can call them from worker threads, outside any transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from inkline.accounts.voice import Voice

Operation = Literal[
    "clustering",
    "idea_generation",
    "content_generation",
    "image_prompt_extraction",
    "image_generation",
]
OPERATIONS: tuple[Operation, ...] = (
    "clustering",
    "idea_generation",
    "content_generation",
    "image_prompt_extraction",
    "image_generation",
)


class AIError(Exception):
    """An AI call failed.

    Two kinds of failure, told apart by `endpoint`:
    - an *endpoint* failure (unreachable, timeouts, server errors, rate limits left after the
      retries, a refused key, an unknown model, no quota) says nothing about the item: the
      item's attempt is not counted and it stays pending; the engine's circuit breaker stops
      the run, naming the endpoint and the error, when such failures repeat;
    - an *item* failure (an answer still unusable after the one re-ask, a request the endpoint
      refuses for this item's content) counts as one of the item's attempts.
    `fatal`: the endpoint cannot work at all (refused key, unknown model, no quota): the run
    stops at once; fatal implies endpoint. `transient`: the same call may succeed later.
    `usage`: what the provider billed for the requests made before the failure (an invalid
    answer and its re-ask): the ledger records it and the run's budget is charged for it.
    """

    def __init__(
        self,
        message: str,
        *,
        transient: bool = True,
        fatal: bool = False,
        endpoint: bool = False,
        usage: Usage | None = None,
    ) -> None:
        super().__init__(message)
        self.transient = transient
        self.fatal = fatal
        self.endpoint = endpoint or fatal
        self.usage = usage


@dataclass(frozen=True)
class Usage:
    """What one call consumed; feeds the credit charge."""

    calls: int = 1
    items: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    words: int = 0
    images: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Provenance:
    provider: str
    model: str
    prompt_version: str

    def as_dict(self, usage: Usage) -> dict[str, object]:
        return {
            "provider": self.provider,
            "model": self.model,
            "prompt_version": self.prompt_version,
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
        }


# --- clustering -------------------------------------------------------------------------------
@dataclass(frozen=True)
class KeywordIn:
    id: int
    phrase: str
    volume: int | None = None
    intent: str = ""


@dataclass(frozen=True)
class ExistingCluster:
    id: int
    name: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClusterAssignment:
    """A group of keywords: either placed into an existing cluster (`existing_cluster_id`)
    or forming a new cluster called `name`."""

    keyword_ids: tuple[int, ...]
    name: str
    description: str = ""
    existing_cluster_id: int | None = None
    intent: str = ""  # a new cluster's search intent, when the provider picked one


@dataclass(frozen=True)
class ClusterResult:
    assignments: tuple[ClusterAssignment, ...]
    usage: Usage
    provenance: Provenance
    # Quality of the grouping, when the provider can measure it: mean silhouette (-1..1,
    # cosine, over the keywords of this batch) and the share of keywords left alone in a
    # cluster of one (0..1). None: not measured (too few keywords, or the provider cannot).
    silhouette: float | None = None
    singleton_share: float | None = None


# --- ideas ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IdeaOut:
    title: str
    primary_keyword: str
    target_keywords: tuple[str, ...]
    content_type: str  # how_to, best_of, comparison, guide, question
    content_structure: str  # e.g. "steps", "listicle", "comparison_table", "article", "faq"
    outline: tuple[str, ...]  # H2 section headings, in order


@dataclass(frozen=True)
class IdeasResult:
    ideas: tuple[IdeaOut, ...]
    usage: Usage
    provenance: Provenance


# --- content ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ArticleIn:
    title: str
    primary_keyword: str
    target_keywords: tuple[str, ...]
    content_type: str
    outline: tuple[str, ...]
    # The site's minimum length: a shorter answer is asked again once, then the item fails.
    min_words: int = 0
    # The site's brand voice (`accounts.voice`): sent with the prompt when set; the local
    # provider leaves the words to avoid out and writes in the point of view.
    voice: Voice = field(default_factory=Voice)
    # 0: the article's first writing; n: its n-th refresh (a fresh rewrite of the same brief).
    revision: int = 0


@dataclass(frozen=True)
class ArticleOut:
    title: str
    html: str  # body only, no <h1>; unsanitized: the engine sanitizes before storing
    meta_description: str
    slug: str


@dataclass(frozen=True)
class ArticleResult:
    article: ArticleOut
    usage: Usage
    provenance: Provenance


# --- image prompts ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ImagePromptOut:
    kind: Literal["featured", "in_article"]
    position: int  # 0 for featured; 1.. for in-article, the H2 section it follows
    prompt: str
    alt_text: str


@dataclass(frozen=True)
class ImagePromptsResult:
    prompts: tuple[ImagePromptOut, ...]
    usage: Usage
    provenance: Provenance


# --- images -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageResult:
    data: bytes  # encoded image file
    extension: str  # "png", "webp", "jpg"
    usage: Usage
    provenance: Provenance
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class ImageRequest:
    prompt: str
    kind: Literal["featured", "in_article"] = "featured"
    size: tuple[int, int] = (1200, 630)
    extra: dict[str, str] = field(default_factory=dict)


# --- connection check -------------------------------------------------------------------------
StructuredMode = Literal["json_schema", "json_object", "prompt"]
# Best first: the check picks the first mode the endpoint honours.
STRUCTURED_MODES: tuple[StructuredMode, ...] = ("json_schema", "json_object", "prompt")


@dataclass(frozen=True)
class CheckProblem:
    code: str  # e.g. "unreachable", "auth", "model_not_found", "quota", "no_structured_output"
    message: str  # what is wrong, naming the endpoint
    fix: str  # what the user can do about it


# Problems of a connection check that may pass by themselves: they do not stop a run.
PASSING_PROBLEMS = frozenset({"rate_limited", "server_error"})


@dataclass(frozen=True)
class AICheck:
    """What an endpoint can do, found by asking it (`AIProvider.check`).

    `ok`: text generation works (reachable, key accepted, model served, a structured-output
    mode works); missing images alone do not make it false (stage 6 is then skipped and
    articles are judged on text alone), but are listed in `problems`."""

    provider: str
    reachable: bool
    auth: bool
    model: str | None  # the model the endpoint answered with; None: it answered none
    structured_output: StructuredMode | None  # the best mode that worked; None: none did
    images: bool
    problems: tuple[CheckProblem, ...] = ()
    base_url: str = ""

    @property
    def ok(self) -> bool:
        return bool(
            self.reachable and self.auth and self.model and self.structured_output is not None
        )

    @property
    def only_passing(self) -> bool:
        """It failed only for problems that may pass by themselves (a rate limit, a server
        error): they say nothing lasting about the endpoint."""
        return (
            not self.ok
            and bool(self.problems)
            and all(p.code in PASSING_PROBLEMS for p in self.problems)
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "provider": self.provider,
            "base_url": self.base_url,
            "reachable": self.reachable,
            "auth": self.auth,
            "model": self.model,
            "structured_output": self.structured_output,
            "images": self.images,
            "problems": [
                {"code": p.code, "message": p.message, "fix": p.fix} for p in self.problems
            ],
        }


class AIProvider(Protocol):
    """One method per AI function. Implementations raise AIError on failure."""

    name: str

    def cluster_keywords(
        self, keywords: list[KeywordIn], existing: list[ExistingCluster]
    ) -> ClusterResult: ...

    def generate_ideas(self, cluster_name: str, keywords: list[KeywordIn]) -> IdeasResult: ...

    def write_content(self, brief: ArticleIn) -> ArticleResult: ...

    def extract_image_prompts(self, title: str, html: str) -> ImagePromptsResult: ...

    def generate_image(self, request: ImageRequest) -> ImageResult: ...

    def check(self, *, fresh: bool = False) -> AICheck:
        """Ask the endpoint what it can do (a few small requests); never raises AIError.
        A provider may reuse a recent working result; `fresh=True` always asks (on demand)."""
        ...
