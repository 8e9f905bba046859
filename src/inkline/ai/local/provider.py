"""`LocalProvider`: the `AIProvider` that needs no model, built from the pieces of this package."""

from __future__ import annotations

import dataclasses
import math
import random
import threading
import time
from collections.abc import Iterable

from inkline.ai.local.articles import compose_article
from inkline.ai.local.ideas import plan_ideas
from inkline.ai.local.image_prompts import pick_image_prompts
from inkline.ai.local.images import render_png
from inkline.ai.local.text import word_count
from inkline.ai.types import (
    AICheck,
    AIError,
    ArticleIn,
    ArticleResult,
    ClusterAssignment,
    ClusterResult,
    ExistingCluster,
    IdeasResult,
    ImagePromptsResult,
    ImageRequest,
    ImageResult,
    KeywordIn,
    Provenance,
    Usage,
)
from inkline.planner.clustering import (
    CLUSTERERS,
    DEFAULT_CLUSTERER,
    EXISTING_SAMPLE,
    LEXICAL,
    KnownCluster,
    NewKeyword,
    clusterer_grouping,
    group_keywords,
)

PROVENANCE = Provenance(provider="local", model="local-1", prompt_version="local-v1")


class LocalProvider:
    """The `AIProvider` that needs no model. Thread-safe; deterministic apart from the seeded
    failure injection."""

    name = "local"

    def __init__(
        self,
        *,
        latency_ms: int = 0,
        failure_rate: float = 0.0,
        seed: int = 0,
        clusterer: str = DEFAULT_CLUSTERER,
    ) -> None:
        if latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError("failure_rate must be between 0 and 1")
        if clusterer not in CLUSTERERS:
            raise ValueError(f"clusterer must be one of {', '.join(CLUSTERERS)}")
        self.latency_ms = latency_ms
        self.failure_rate = failure_rate
        self.clusterer = clusterer
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def _simulate_remote_call(self) -> None:
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        if self.failure_rate:
            with self._lock:
                roll = self._rng.random()
            if roll < self.failure_rate:
                # A flaky endpoint, not a bad item: the item stays pending.
                raise AIError(
                    "local provider: simulated transient failure", transient=True, endpoint=True
                )

    def check(self, *, fresh: bool = False) -> AICheck:
        """The local provider needs no endpoint: it can always do everything."""
        return AICheck(
            provider=self.name,
            reachable=True,
            auth=True,
            model=PROVENANCE.model,
            structured_output="json_schema",
            images=True,
        )

    def cluster_keywords(
        self, keywords: list[KeywordIn], existing: list[ExistingCluster]
    ) -> ClusterResult:
        self._simulate_remote_call()
        grouping = clusterer_grouping(self.clusterer)
        grouped = group_keywords(
            [NewKeyword(id=k.id, phrase=k.phrase, volume=k.volume) for k in keywords],
            [KnownCluster(id=c.id, name=c.name, keywords=c.keywords) for c in existing],
            grouping,
        )
        assignments = [
            ClusterAssignment(
                keyword_ids=g.keyword_ids,
                name=g.name,
                description=g.description,
                existing_cluster_id=g.existing_cluster_id,
            )
            for g in grouped.groups
        ]
        prompt_words = _words(k.phrase for k in keywords) + _words(
            " ".join((c.name, *c.keywords[:EXISTING_SAMPLE])) for c in existing
        )
        answer_words = _words(f"{a.name} {a.description}" for a in assignments)
        usage = Usage(
            calls=1,
            items=len(keywords),
            prompt_tokens=_tokens(prompt_words) + 120,
            completion_tokens=_tokens(answer_words) + 2 * len(keywords),
        )
        provenance = PROVENANCE
        if grouping is not LEXICAL:
            provenance = dataclasses.replace(
                PROVENANCE, model=f"{PROVENANCE.model}+{grouping.name}"
            )
        return ClusterResult(
            assignments=tuple(assignments),
            usage=usage,
            provenance=provenance,
            silhouette=grouped.silhouette,
            singleton_share=grouped.singleton_share,
        )

    def generate_ideas(self, cluster_name: str, keywords: list[KeywordIn]) -> IdeasResult:
        self._simulate_remote_call()
        ideas = plan_ideas(cluster_name, keywords)
        answer = (f"{i.title} {' '.join(i.target_keywords)} {' '.join(i.outline)}" for i in ideas)
        usage = Usage(
            calls=1,
            items=len(ideas),
            prompt_tokens=_tokens(_words([cluster_name, *(k.phrase for k in keywords)])) + 150,
            completion_tokens=_tokens(_words(answer)),
        )
        return IdeasResult(ideas=tuple(ideas), usage=usage, provenance=PROVENANCE)

    def write_content(self, brief: ArticleIn) -> ArticleResult:
        self._simulate_remote_call()
        article = compose_article(brief)
        words = word_count(article.html)
        brief_words = _words([brief.title, *brief.target_keywords, *brief.outline])
        usage = Usage(
            calls=1,
            items=1,
            prompt_tokens=_tokens(brief_words) + 250,
            completion_tokens=_tokens(words + _words([article.meta_description])),
            words=words,
        )
        return ArticleResult(article=article, usage=usage, provenance=PROVENANCE)

    def extract_image_prompts(self, title: str, html: str) -> ImagePromptsResult:
        self._simulate_remote_call()
        prompts = pick_image_prompts(title, html)
        usage = Usage(
            calls=1,
            items=len(prompts),
            prompt_tokens=_tokens(_words([title]) + word_count(html)) + 80,
            completion_tokens=_tokens(_words(f"{p.prompt} {p.alt_text}" for p in prompts)),
        )
        return ImagePromptsResult(prompts=tuple(prompts), usage=usage, provenance=PROVENANCE)

    def generate_image(self, request: ImageRequest) -> ImageResult:
        self._simulate_remote_call()
        width, height = request.size
        if not (16 <= width <= 4096 and 16 <= height <= 4096):
            raise AIError(
                f"local provider: unsupported image size {width}x{height}", transient=False
            )
        return ImageResult(
            data=render_png(request.prompt, (width, height), request.kind),
            extension="png",
            usage=Usage(
                calls=1, items=1, prompt_tokens=_tokens(_words([request.prompt])), images=1
            ),
            provenance=PROVENANCE,
            width=width,
            height=height,
        )


def _tokens(words: int) -> int:
    """Rough token estimate for English text."""
    return math.ceil(words * 1.3)


def _words(texts: Iterable[str]) -> int:
    return sum(len(t.split()) for t in texts)
