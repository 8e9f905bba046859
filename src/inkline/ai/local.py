"""The offline, deterministic `local` AI provider.

No network and no database: every answer is computed from the input alone. Clustering is real
(TF-IDF over word and character n-grams, then agglomerative clustering on cosine distance);
ideas, articles and image prompts are assembled from templates seeded by a hash of the input;
images are real PNGs drawn with Pillow. Optional latency and seeded transient failures let
demos, tests and benchmarks behave like a remote model.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import io
import itertools
import logging
import math
import random
import re
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser

import numpy as np
from django.utils.text import slugify
from PIL import Image, ImageDraw, ImageFont
from scipy import sparse
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import normalize as l2_normalize

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

PROVENANCE = Provenance(provider="local", model="local-1", prompt_version="local-v1")
# How the local provider groups keywords: "lexical" (TF-IDF, always available) or "semantic"
# (sentence embeddings; needs the optional `inkline[semantic]` extra, else lexical is used).
CLUSTERERS = ("lexical", "semantic")
log = logging.getLogger(__name__)


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
        clusterer: str = "lexical",
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
                raise AIError("local provider: simulated transient failure", transient=True)

    def cluster_keywords(
        self, keywords: list[KeywordIn], existing: list[ExistingCluster]
    ) -> ClusterResult:
        self._simulate_remote_call()
        grouping = clusterer_grouping(self.clusterer)
        assignments, silhouette, singleton_share = group_keywords_measured(
            keywords, existing, grouping
        )
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
            silhouette=silhouette,
            singleton_share=singleton_share,
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


# --- text helpers -----------------------------------------------------------------------------
def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Intent, question and filler words: removed before vectorizing so they do not drive grouping.
STOP_WORDS = _word_set(
    """
    a an the and or of to in on at for with without by from into under than per as
    how what why when where which who whom is are was were be do does did can could should
    would will i you your my me we our us it its this that these those there
    best top cheap cheapest review reviews rated vs versus compare comparison near buy bought
    online deal deals price prices sale guide tips easy good better make making use using get
    much many way ways need new ideas long often
    """
)
_TOKEN_RE = re.compile(r"[a-z0-9]+")
_NUMBER_RE = re.compile(r"^\d+$")  # years, prices, sizes
_SMALL_WORDS = _word_set("a an and as at but by for from in into of on or per the to vs with")
_TAG_RE = re.compile(r"<[^>]+>")


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _collapse(text: str) -> str:
    """Single spaces, no surrounding whitespace."""
    return " ".join(text.split())


def _tokens(words: int) -> int:
    """Rough token estimate for English text."""
    return math.ceil(words * 1.3)


def _words(texts: Iterable[str]) -> int:
    return sum(len(t.split()) for t in texts)


def word_count(markup: str) -> int:
    """Words of the text of an HTML fragment, tags excluded."""
    return len(html.unescape(_TAG_RE.sub(" ", markup)).split())


def _seed_of(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(repr(parts).encode("utf-8")).digest()[:8], "big")


def _trim(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary when there is one."""
    text = _collapse(text)
    if len(text) <= limit:
        return text
    head = text[: limit + 1]
    cut = head.rsplit(" ", 1)[0] if " " in head else text[:limit]
    return cut.rstrip(" ,;:-")


def _stem(token: str) -> str:
    """Light suffix folding so word forms meet: machines → machine, descaling / descaler /
    descale → descal, frothing / frother → froth; press and process stay as they are."""
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        token = token[:-1]
    if len(token) > 5:
        for suffix in ("ing", "er", "ed", "e"):
            if token.endswith(suffix):
                return token[: -len(suffix)]
    return token


def _content_tokens(phrase: str) -> list[str]:
    """Lower-case ascii tokens without intent / stop words and bare numbers."""
    tokens = _TOKEN_RE.findall(_ascii(phrase).lower())
    return [t for t in tokens if t not in STOP_WORDS and not _NUMBER_RE.match(t)]


def _normalize(phrase: str) -> str:
    """The phrase as the clusterer sees it: content words only, word forms folded.
    A phrase made only of stop words ("how to") keeps all its words."""
    tokens = _content_tokens(phrase) or _TOKEN_RE.findall(_ascii(phrase).lower())
    return " ".join(_stem(t) for t in tokens)


def _title_case(text: str) -> str:
    """Headline case: small words lower-case (except first), v60 → V60."""
    words = _collapse(text).split(" ")
    out = []
    for i, word in enumerate(words):
        if i and word.lower() in _SMALL_WORDS:
            out.append(word.lower())
        elif any(c.isdigit() for c in word) and any(c.isalpha() for c in word):
            out.append(word.upper())
        else:
            out.append(word[:1].upper() + word[1:])
    return " ".join(out)


def _join_and(items: Sequence[str]) -> str:
    return " and ".join(filter(None, [", ".join(items[:-1]), items[-1]])) if items else ""


def _as_question(text: str) -> str:
    return text if text.endswith("?") else f"{text}?"


# --- clustering -------------------------------------------------------------------------------
# Average cosine distance under which groups merge. Short phrases share few n-grams, so even
# same-topic keywords sit far apart; tuned on labelled keyword lists (see tests/ai).
CLUSTER_DISTANCE = 0.9
# Cosine similarity of a group's centroid to an existing cluster's above which it joins it.
EXISTING_SIMILARITY = 0.3
# Share of the word features in the combined vector; the rest are character n-grams.
WORD_WEIGHT = 0.5
# How many keywords of each existing cluster describe it, with its name.
EXISTING_SAMPLE = 50
# Member keywords of each existing cluster grouped together with a batch (see Grouping):
# fixture in shuffled batches of 100, lexical ARI 0.480 → 0.530; 2,000 keywords in batches of
# 500, semantic 0.669 → 0.767 (benchmarks/clustering.py). Matching groups to existing clusters
# only by the centroid of their name and keywords scored 0.474 and 0.676.
MEMBERS_IN_LINKAGE = 20
# The distance matrix is n² floats: larger batches are grouped a chunk at a time, each chunk's
# groups joining the earlier chunks' groups by centroid similarity (as stage 1's batches do).
DIRECT_LIMIT = 1200
# Above this many keywords the silhouette is estimated on a fixed sample of this size.
SILHOUETTE_SAMPLE = 2000


@dataclass(frozen=True)
class Grouping:
    """How keywords become vectors and vectors become groups: `vectorize` maps phrases to unit
    rows; groups merge under `threshold` with `linkage`; a group joins an existing cluster whose
    centroid is at least `existing_similarity` (cosine) close."""

    name: str
    vectorize: Callable[[Sequence[str]], sparse.csr_matrix]
    linkage: str
    threshold: float
    existing_similarity: float
    # Before grouping, each row x becomes x + 0.5 x the mean of its `neighbours` nearest rows
    # of the batch, at unit length (0: not at all); see `neighbour_smoothed`.
    neighbours: int = 0
    # Ward linkage only: keywords within this average cosine distance of each other (variants
    # of one keyword: "v60 recipe", "v60 recipe uk") count as one point, so a topic's weight in
    # Ward's criterion does not grow with its number of variants (0: no such step).
    variant_distance: float = 0.0
    # Up to this many member keywords of each existing cluster are grouped together with the
    # batch, and a group holding some joins the cluster most of them belong to (0: existing
    # clusters are matched only by name and by the centroid of their name and keywords).
    members_in_linkage: int = 0


def _tfidf(vectorizer: TfidfVectorizer, docs: Sequence[str]) -> sparse.csr_matrix:
    try:
        return vectorizer.fit_transform(docs)
    except ValueError:  # empty vocabulary: nothing but blanks
        return sparse.csr_matrix((len(docs), 1))


def _vectorize(docs: Sequence[str]) -> sparse.csr_matrix:
    """Unit rows whose dot product is WORD_WEIGHT x word-1/2-gram cosine + the rest x
    char_wb-3..5-gram cosine: words carry the topic, characters catch word forms and typos."""
    words = TfidfVectorizer(ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b", sublinear_tf=True)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    combined = sparse.hstack(
        [
            _tfidf(words, docs) * math.sqrt(WORD_WEIGHT),
            _tfidf(chars, docs) * math.sqrt(1.0 - WORD_WEIGHT),
        ],
        format="csr",
    )
    return l2_normalize(combined)


def _lexical_vectors(phrases: Sequence[str]) -> sparse.csr_matrix:
    return _vectorize([_normalize(phrase) for phrase in phrases])


# The default grouping: TF-IDF of content words and character n-grams, average linkage.
LEXICAL = Grouping(
    name="lexical",
    vectorize=_lexical_vectors,
    linkage="average",
    threshold=CLUSTER_DISTANCE,
    existing_similarity=EXISTING_SIMILARITY,
    members_in_linkage=MEMBERS_IN_LINKAGE,
)


def neighbour_smoothed(vectors: np.ndarray, neighbours: int, weight: float = 0.5) -> np.ndarray:
    """Unit rows, each moved toward the mean of its `neighbours` most similar other rows
    (cosine): x + weight x mean(neighbours). One step of neighbourhood averaging: a keyword whose
    own vector is pulled aside by a modifier ("… review", "… vs …") is drawn back toward the
    keywords it is closest to, which sharpens topics before linkage."""
    n = vectors.shape[0]
    k = min(neighbours, n - 1)
    if k <= 0:
        return vectors
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    moved = vectors + weight * vectors[nearest].mean(axis=1)
    return np.asarray(l2_normalize(moved))


def _agglomerate(vectors: sparse.csr_matrix, grouping: Grouping) -> np.ndarray:
    """Labels 0..k-1 from agglomeration cut at the grouping's threshold (no fixed cluster
    count): average linkage on cosine distance, or Ward linkage on euclidean distance (dense
    embeddings, after optional neighbour smoothing).
    Above DIRECT_LIMIT rows the batch is grouped a chunk at a time, the way the engine's stage 1
    sees batches: each chunk is grouped on its own, then each of its groups joins the closest
    group of the earlier chunks when their centroids are at least `existing_similarity`
    (cosine) close, and stays new otherwise."""
    n = vectors.shape[0]
    if n == 1:
        return np.zeros(1, dtype=int)
    if n > DIRECT_LIMIT:
        return _agglomerate_chunks(vectors, grouping)
    if grouping.linkage != "ward":
        return _average_linkage(vectors, grouping.threshold)
    variants = np.arange(n)
    points = vectors
    if grouping.variant_distance:
        variants = _average_linkage(vectors, grouping.variant_distance)
        points = _centroids(vectors, variants, int(variants.max()) + 1)
    if points.shape[0] == 1:
        return np.zeros(n, dtype=int)
    points = neighbour_smoothed(points.toarray(), grouping.neighbours)
    ward = AgglomerativeClustering(n_clusters=None, distance_threshold=grouping.threshold)
    return np.asarray(ward.fit_predict(points), dtype=int)[variants]


def _average_linkage(vectors: sparse.csr_matrix, threshold: float) -> np.ndarray:
    """Labels from average linkage on cosine distance, cut at `threshold`."""
    rows = _dense_if_full(vectors)
    gram = rows @ rows.T
    distance = np.clip(1.0 - (gram.toarray() if sparse.issparse(gram) else gram), 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    model = AgglomerativeClustering(
        n_clusters=None, distance_threshold=threshold, metric="precomputed", linkage="average"
    )
    return np.asarray(model.fit_predict(distance), dtype=int)


def _dense_if_full(
    vectors: sparse.csr_matrix | np.ndarray,
) -> sparse.csr_matrix | np.ndarray:
    """Mostly-nonzero rows (embeddings) as a dense array, whose products run on BLAS; sparse
    rows (TF-IDF) as they are."""
    if isinstance(vectors, np.ndarray):
        return vectors
    if vectors.nnz > 0.25 * vectors.shape[0] * vectors.shape[1]:
        return vectors.toarray()
    return vectors


def _agglomerate_chunks(vectors: sparse.csr_matrix, grouping: Grouping) -> np.ndarray:
    """`_agglomerate` of more than DIRECT_LIMIT rows, chunk by chunk (see there)."""
    n = vectors.shape[0]
    labels = np.empty(n, dtype=int)
    sums: list[sparse.csr_matrix] = []  # running sum of the rows of each group so far
    for start in range(0, n, DIRECT_LIMIT):
        chunk = vectors[start : start + DIRECT_LIMIT]
        part = _agglomerate(chunk, grouping)
        count = int(part.max()) + 1
        chunk_sums = _centroids(chunk, part, count, unit=False)
        if sums:
            known = sparse.vstack(sums, format="csr")
            similarity = (l2_normalize(chunk_sums) @ l2_normalize(known).T).toarray()
            best = similarity.argmax(axis=1)
            joins = similarity[np.arange(count), best] >= grouping.existing_similarity
        else:
            best = np.zeros(count, dtype=int)
            joins = np.zeros(count, dtype=bool)
        mapping = np.empty(count, dtype=int)
        for group in range(count):
            if joins[group]:
                mapping[group] = best[group]
                sums[best[group]] = sums[best[group]] + chunk_sums[group]
            else:
                mapping[group] = len(sums)
                sums.append(chunk_sums[group])
        labels[start : start + len(part)] = mapping[part]
    return labels


def _centroids(
    vectors: sparse.csr_matrix, labels: np.ndarray, k: int, *, unit: bool = True
) -> sparse.csr_matrix:
    """The unit-length mean vector of each of the k labels (`unit=False`: the plain sum)."""
    membership = sparse.csr_matrix(
        (np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(k, len(labels))
    )
    total = sparse.csr_matrix(membership @ vectors)
    return l2_normalize(total) if unit else total


def _terms(phrase: str) -> dict[str, str]:
    """Content unigrams and bigrams of a phrase: folded key → surface form."""
    tokens = _content_tokens(phrase)
    keys = [_stem(t) for t in tokens]
    terms = dict(zip(keys, tokens, strict=True))
    for i in range(len(tokens) - 1):
        terms[f"{keys[i]} {keys[i + 1]}"] = f"{tokens[i]} {tokens[i + 1]}"
    return terms


def _name_candidates(
    members: Sequence[KeywordIn], centrality: np.ndarray, batch_frequency: Counter[str], size: int
) -> list[str]:
    """Names for a group, best first: terms shared by at least half of the members, ranked by
    how distinctive they are in the batch (tf-idf, bigrams preferred, then volume); then the
    members' phrases by centrality and volume."""
    frequency: Counter[str] = Counter()
    volume: Counter[str] = Counter()
    surfaces: dict[str, Counter[str]] = {}
    for keyword in members:
        for key, surface in _terms(keyword.phrase).items():
            frequency[key] += 1
            volume[key] += keyword.volume or 0
            surfaces.setdefault(key, Counter())[surface] += 1
    needed = max(2, math.ceil(len(members) / 2))

    def score(key: str) -> float:
        idf = math.log((1 + size) / (1 + batch_frequency[key])) + 1
        return round(frequency[key] * idf * (1.5 if " " in key else 1.0), 9)

    shared = sorted(
        (key for key, count in frequency.items() if count >= needed),
        key=lambda key: (-score(key), -volume[key], key),
    )
    names = [surfaces[key].most_common(1)[0][0] for key in shared]
    by_centrality = sorted(
        range(len(members)),
        key=lambda i: (-round(float(centrality[i]), 6), -(members[i].volume or 0), i),
    )
    names += [_collapse(_ascii(members[i].phrase)).lower() for i in by_centrality]
    return [_title_case(name) for name in names if name] or ["Untitled Cluster"]


def cluster_quality(
    vectors: sparse.csr_matrix | np.ndarray, labels: Sequence[int]
) -> tuple[float | None, float]:
    """(mean cosine silhouette or None when undefined, share of items alone in their group).
    The silhouette needs 2..n-1 groups; above SILHOUETTE_SAMPLE items it is estimated on a
    fixed random sample (it costs n² distances)."""
    n = len(labels)
    if n == 0:
        return None, 0.0
    sizes = Counter(labels)
    singleton_share = round(sum(1 for size in sizes.values() if size == 1) / n, 4)
    if not 2 <= len(sizes) <= n - 1:
        return None, singleton_share
    sample = SILHOUETTE_SAMPLE if n > SILHOUETTE_SAMPLE else None
    value = silhouette_score(
        _dense_if_full(vectors),
        np.asarray(labels),
        metric="cosine",
        sample_size=sample,
        random_state=0,
    )
    return round(float(value), 4), singleton_share


def clusterer_grouping(clusterer: str) -> Grouping:
    """The grouping a clusterer name stands for. "semantic" falls back to lexical, with a
    warning, when its optional packages are not installed."""
    if clusterer == "semantic":
        from inkline.ai import semantic

        if semantic.available():
            return semantic.SEMANTIC
        log.warning(
            "semantic clustering needs `pip install inkline[semantic]`; clustering lexically"
        )
    return LEXICAL


def group_keywords(
    keywords: Sequence[KeywordIn], existing: Sequence[ExistingCluster]
) -> list[ClusterAssignment]:
    """Group keywords by topic: each keyword id lands in exactly one assignment, and a group
    grouped with keywords of an existing cluster, or whose head term names, or whose centroid
    is close to, an existing cluster joins it (existing clusters' keywords never move)."""
    return group_keywords_measured(keywords, existing)[0]


def group_keywords_measured(
    keywords: Sequence[KeywordIn],
    existing: Sequence[ExistingCluster],
    grouping: Grouping = LEXICAL,
) -> tuple[list[ClusterAssignment], float | None, float | None]:
    """`group_keywords` with a chosen grouping (lexical by default, or `ai.semantic`'s), and
    the quality of the result (see `cluster_quality`)."""
    unique = list({k.id: k for k in reversed(keywords)}.values())[::-1]  # first of an id wins
    if not unique:
        return [], None, None
    existing_docs = [[c.name, *c.keywords[:EXISTING_SAMPLE]] for c in existing]
    # Member keywords of the existing clusters grouped with the batch (members_in_linkage):
    # as many per cluster as keep the linkage under DIRECT_LIMIT rows, at most that setting.
    per_cluster = 0
    if grouping.members_in_linkage and existing:
        per_cluster = min(
            grouping.members_in_linkage, (DIRECT_LIMIT - len(unique)) // len(existing)
        )
    member_docs = [list(c.keywords[: max(per_cluster, 0)]) for c in existing]
    member_owner = np.repeat(np.arange(len(existing)), [len(d) for d in member_docs])
    docs = (
        [k.phrase for k in unique]
        + [doc for docs in member_docs for doc in docs]
        + [doc for docs in existing_docs for doc in docs]
    )
    vectors = grouping.vectorize(docs)
    keyword_vectors = vectors[: len(unique)]
    linked = len(unique) + len(member_owner)
    if existing:
        owner = np.repeat(np.arange(len(existing)), [len(d) for d in existing_docs])
        existing_vectors = _centroids(vectors[linked:], owner, len(existing))

    batch_frequency = Counter(key for k in unique for key in _terms(k.phrase))
    labels_all = _agglomerate(vectors[:linked], grouping)
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels_all[: len(unique)]):
        groups.setdefault(int(label), []).append(index)
    # A group holding member keywords of existing clusters joins the one most of them belong to.
    member_votes: dict[int, Counter[int]] = {}
    for label, owner_index in zip(labels_all[len(unique) :], member_owner, strict=True):
        member_votes.setdefault(int(label), Counter())[int(owner_index)] += 1
    existing_by_name = {_collapse(c.name).lower(): c for c in existing}
    taken_names = set(existing_by_name)
    placed: dict[int, list[int]] = {}
    new: list[ClusterAssignment] = []
    for indices in groups.values():  # in order of each group's first keyword
        rows = keyword_vectors[indices]
        centroid = l2_normalize(sparse.csr_matrix(rows.mean(axis=0)))
        members = [unique[i] for i in indices]
        centrality = (rows @ centroid.T).toarray().ravel()
        candidates = _name_candidates(members, centrality, batch_frequency, len(unique))
        votes = member_votes.get(int(labels_all[indices[0]]))
        match = None
        if votes:
            match = existing[min(votes, key=lambda c: (-votes[c], c))]
        if match is None:
            match = existing_by_name.get(candidates[0].lower())
        if match is None and existing:
            similarity = (existing_vectors @ centroid.T).toarray().ravel()
            best = int(np.argmax(similarity))
            match = existing[best] if similarity[best] >= grouping.existing_similarity else None
        if match is not None:
            placed.setdefault(match.id, []).extend(indices)
            continue
        name = next((c for c in candidates if c.lower() not in taken_names), None)
        name = name or _numbered(candidates[0], taken_names)
        taken_names.add(name.lower())
        new.append(
            ClusterAssignment(
                keyword_ids=tuple(m.id for m in members),
                name=name,
                description=_describe(name, members),
            )
        )
    joined = []
    for cluster in existing:
        if cluster.id in placed:
            members = [unique[i] for i in sorted(placed.pop(cluster.id))]
            joined.append(
                ClusterAssignment(
                    keyword_ids=tuple(m.id for m in members),
                    name=cluster.name,
                    description=_describe(cluster.name, members),
                    existing_cluster_id=cluster.id,
                )
            )
    assignments = joined + new
    position = {k.id: i for i, k in enumerate(unique)}
    labels = [0] * len(unique)
    for number, assignment in enumerate(assignments):
        for keyword_id in assignment.keyword_ids:
            labels[position[keyword_id]] = number
    silhouette, singleton_share = cluster_quality(keyword_vectors, labels)
    return assignments, silhouette, singleton_share


def _numbered(name: str, taken: set[str]) -> str:
    number = 2
    while f"{name} {number}".lower() in taken:
        number += 1
    return f"{name} {number}"


def _describe(name: str, members: Sequence[KeywordIn]) -> str:
    examples = ", ".join(_collapse(m.phrase) for m in members[:3])
    noun = "keyword" if len(members) == 1 else "keywords"
    return _trim(f"{len(members)} {noun} about {name.lower()}, e.g. {examples}", 250)


# --- ideas ------------------------------------------------------------------------------------
STRUCTURE_OF = {
    "how_to": "steps",
    "best_of": "listicle",
    "comparison": "comparison_table",
    "question": "faq",
    "guide": "article",
}
_QUESTION_WORDS = _word_set("what why when where which who can does do is are should how")
_VERSUS_RE = re.compile(r"\s+(?:vs\.?|versus|or)\s+", re.IGNORECASE)

_TITLES = {
    "how_to": (
        "{K}: A Step-by-Step Guide",
        "{K}: Step by Step",
        "{K}: Simple Steps That Work",
        "{K}",
    ),
    "best_of": (
        "{K}: Top Picks and Buying Guide",
        "{K}: Our Top Picks",
        "{K}: Tested and Compared",
        "{K}",
    ),
    "comparison": ("{K}: Which Should You Choose?", "{K}: Key Differences", "{K} Compared", "{K}"),
    "question": ("{Q} Here Is the Answer", "{Q} What You Need to Know", "{Q} Explained", "{Q}"),
    "guide": ("{K}: The Complete Guide", "{K}: A Practical Guide", "{K} Explained", "{K}"),
}
_OUTLINES = {
    "how_to": (
        "What You Need Before You Start",
        "{K}: Step by Step",
        "Common Mistakes to Avoid",
        "Tips for Better Results",
        "Troubleshooting Common Problems",
    ),
    "best_of": (
        "What to Look For",
        "{K}: Our Top Picks",
        "How We Chose",
        "Budget vs Premium Options",
        "Buying Tips",
    ),
    "comparison": (
        "{K}: At a Glance",
        "Key Differences",
        "{A}: Strengths and Weaknesses",
        "{B}: Strengths and Weaknesses",
        "Which One Should You Choose?",
    ),
    "question": (
        "{Q} The Short Answer",
        "Why It Matters",
        "What Affects the Answer",
        "Common Misconceptions",
        "Related Questions",
    ),
    "guide": (
        "{K}: The Basics",
        "Why It Matters",
        "How to Get Started",
        "Common Mistakes",
        "Expert Tips",
    ),
}


def _intent_of(phrase: str) -> str:
    """The content type a keyword's search intent calls for."""
    text = _collapse(_ascii(phrase).lower())
    tokens = _TOKEN_RE.findall(text)
    if "how to" in " ".join(tokens):
        return "how_to"
    if {"vs", "versus", "compare", "comparison", "compared"} & set(tokens):
        return "comparison"
    if {"best", "top"} & set(tokens):
        return "best_of"
    if "?" in text or (tokens and tokens[0] in _QUESTION_WORDS) or {"what", "why"} & set(tokens):
        return "question"
    return "guide"


def _sides(phrase: str) -> tuple[str, str] | None:
    """The two things a comparison keyword compares: "chemex vs v60" → (Chemex, V60)."""
    parts = _VERSUS_RE.split(_collapse(phrase), maxsplit=1)
    if len(parts) != 2 or not all(p.strip() for p in parts):
        return None
    return _title_case(parts[0]), _title_case(parts[1])


def _fill(template: str, keyword: str) -> str:
    title = _title_case(keyword)
    sides = _sides(keyword) or ("The First Option", "The Second Option")
    return template.format(K=title, Q=_as_question(title), A=sides[0], B=sides[1])


def _idea_title(keyword: str, content_type: str) -> str:
    """A title containing the keyword, at most 60 characters when any template allows it."""
    options = [_fill(t, keyword) for t in _TITLES[content_type]]
    fitting = [t for t in options[:-1] if len(t) <= 60]
    if not fitting:
        return options[-1]
    return fitting[_seed_of(keyword) % len(fitting)]


def _outline(keyword: str, content_type: str, secondary: Sequence[str] = ()) -> tuple[str, ...]:
    """Four to seven H2 headings: the type's skeleton plus up to two secondary keywords."""
    headings = [_fill(t, keyword) for t in _OUTLINES[content_type]]
    extra = [_title_case(s) for s in secondary if _collapse(s)][:2]
    if content_type == "question":
        extra = [_as_question(s) for s in extra]
    seen = {h.lower() for h in headings}
    extra = [h for h in dict.fromkeys(extra) if h.lower() not in seen]
    return tuple(headings[:2] + extra + headings[2:])


def _pick_primaries(phrases: Sequence[str], count: int) -> list[str]:
    """`count` phrases, highest volume first, preferring a different intent for each."""
    chosen: list[str] = []
    intents: set[str] = set()
    for phrase in phrases:
        if len(chosen) < count and _intent_of(phrase) not in intents:
            chosen.append(phrase)
            intents.add(_intent_of(phrase))
    for phrase in phrases:
        if len(chosen) < count and phrase not in chosen:
            chosen.append(phrase)
    return sorted(chosen, key=phrases.index)


def plan_ideas(cluster_name: str, keywords: Sequence[KeywordIn]) -> list[IdeaOut]:
    """One idea per ~3 keywords (1 to 4), each led by a distinct primary keyword and covering
    the keywords closest to it."""
    ranked = sorted(enumerate(keywords), key=lambda pair: (-(pair[1].volume or 0), pair[0]))
    phrases: list[str] = []
    seen: set[str] = set()
    for _, keyword in ranked:
        phrase = _collapse(keyword.phrase)
        if phrase and phrase.lower() not in seen:
            seen.add(phrase.lower())
            phrases.append(phrase)
    if not phrases:
        phrases = [_collapse(cluster_name).lower() or "untitled topic"]
    primaries = _pick_primaries(phrases, min(4, math.ceil(len(phrases) / 3)))
    covered: dict[str, list[str]] = {p: [p] for p in primaries}
    for phrase in phrases:
        if phrase in covered:
            continue
        words = set(_normalize(phrase).split())
        home = max(
            primaries,
            key=lambda p: (
                len(words & set(_normalize(p).split())),
                -len(covered[p]),
                -primaries.index(p),
            ),
        )
        covered[home].append(phrase)
    ideas = []
    for primary in primaries:
        content_type = _intent_of(primary)
        ideas.append(
            IdeaOut(
                title=_idea_title(primary, content_type),
                primary_keyword=primary,
                target_keywords=tuple(covered[primary]),
                content_type=content_type,
                content_structure=STRUCTURE_OF[content_type],
                outline=_outline(primary, content_type, covered[primary][1:]),
            )
        )
    return ideas


# --- articles ---------------------------------------------------------------------------------
MIN_ARTICLE_WORDS = 800
META_MIN, META_MAX = 120, 160

_OPENERS = (
    "If you have been searching for {kw}, you are in the right place.",
    "This guide to {kw} brings the essentials together in one place.",
    "Few topics raise as many questions as {kw}, and for good reason.",
    "Whether you are new to it or refining your routine, {kw} is worth getting right.",
    "Everything you need to know about {kw} is collected in this article.",
)
_INTRO = (
    "We cover the fundamentals first, then move on to practical details and common pitfalls.",
    "Along the way you will find clear explanations, practical tips and a few mistakes to avoid.",
    "The aim is to give you enough understanding to make confident decisions on your own.",
    "Each section builds on the previous one, but you can jump straight to the part you need.",
    "By the end you should have a clear, repeatable approach that suits your own routine.",
    "Nothing here requires special training, only a little attention and some curiosity.",
)
_BODY = (
    "Getting {kw} right is mostly about consistency, not about expensive gear.",
    "Small adjustments tend to matter more than dramatic changes, so change one thing at a time.",
    "Most people notice a clear difference after only a few attempts once the basics click.",
    "A simple notebook or a note on your phone makes it easy to repeat what worked.",
    "Experienced enthusiasts often disagree on the details, which leaves room for preference.",
    "If something feels off, return to the fundamentals before reaching for a new gadget.",
    "The good news is that {kw} rewards patience far more than it rewards spending.",
    "Treat the recommendations here as a reliable starting point rather than a strict rulebook.",
    "A little preparation up front saves a lot of frustration later on.",
    "Good ingredients and clean equipment make every other step noticeably easier.",
    "Many common problems trace back to one overlooked detail rather than a big mistake.",
    "When in doubt, simplify: fewer moving parts means fewer things that can go wrong.",
    "Knowing why each step matters makes the whole process feel far less mysterious.",
    "Budget and available space are worth settling early, because they narrow the options fast.",
    "There is no single perfect answer, but there are clear patterns that work for most people.",
    "Reviews and forums help, as long as their priorities match your own.",
    "Repeatable habits beat occasional bursts of effort every single time.",
    "Temperature, timing and proportions are the three levers that shape the result most.",
    "Once the routine feels familiar, the whole process takes only a few minutes.",
    "Beginners often overcomplicate things, while veterans strip the routine back to essentials.",
    "It is worth revisiting your approach now and then, since tastes and circumstances change.",
    "A clear plan turns {kw} from guesswork into something you can reproduce on demand.",
    "Every choice trades convenience, cost and quality against one another.",
    "Rushing is the most common reason results vary from one day to the next.",
    "Writing down a baseline makes it much easier to tell whether a change actually helped.",
    "Good technique will carry you further than any single piece of equipment.",
    "The advice here reflects widely shared practice and the experience of long-time hobbyists.",
    "If several people share the routine at home, agree on one simple standard for everyone.",
    "Cleaning and maintenance are easy to skip, yet they quietly affect quality more than most.",
    "Treat the first few attempts as experiments rather than final verdicts.",
    "With {kw}, the biggest gains usually come from the simplest fixes.",
    "Trust your own senses: if the result is better to you, that is what counts.",
    "A methodical approach also makes troubleshooting much faster when something goes wrong.",
    "Many people find that an unhurried routine becomes one of the best parts of their day.",
    "Consistency in the small things is what separates a decent result from a great one.",
    "Before changing anything, make sure the basics are in place and working as expected.",
    "Marketing claims are loud, so focus on the features that matter in everyday use.",
    "Reliable results come from understanding the process, not from memorising numbers.",
    "Good information only helps once it is applied, so try one suggestion at a time.",
    "Most of the frustration people describe with {kw} disappears after a week of practice.",
)
_BY_TYPE = {
    "how_to": (
        "Work through the steps in order the first time, even if some seem obvious.",
        "Measure rather than guess until the method becomes second nature.",
        "Set out everything you need before you begin so you are not scrambling midway.",
        "If a step does not go to plan, pause and repeat it rather than pushing ahead.",
        "After two or three rounds the method starts to feel natural.",
        "A simple timer removes a surprising amount of guesswork from each stage.",
    ),
    "best_of": (
        "Every pick earns its place for a specific reason, not just a high price tag.",
        "The right choice depends on how often you will use it and how much space you have.",
        "Build quality and easy cleaning matter more over time than a long list of features.",
        "Spending more buys convenience and consistency, but budget options have come a long way.",
        "Check the warranty terms and the availability of spare parts before you commit.",
        "User reviews are most useful when you read the critical ones closely.",
    ),
    "comparison": (
        "Both options can deliver excellent results; the right one depends on your priorities.",
        "The differences become clearer when you judge both on the same criteria.",
        "Convenience, cost and control are the three areas where they differ most.",
        "Neither option is better for everyone, whatever the loudest opinions claim.",
        "If you can try both, a side-by-side test tells you more than any chart.",
        "Your daily routine often decides the matter more than any specification.",
    ),
    "question": (
        "The short answer is that it depends, but the factors involved are easy to understand.",
        "Much of the confusion comes from advice repeated without its original context.",
        "The evidence points in a fairly consistent direction once you look past the headlines.",
        "Individual circumstances matter, so treat general answers as a starting point.",
        "The right follow-up question often matters as much as the first answer.",
        "Clear answers are possible once you separate the facts from the folklore.",
    ),
    "guide": (
        "A solid grasp of the fundamentals makes every later decision easier.",
        "Start with the essentials and add refinements once the basics feel comfortable.",
        "Most of what you need to know fits into a handful of simple principles.",
        "Context matters, so the advice below explains the why as well as the how.",
        "A few well-chosen habits deliver most of the benefit.",
        "It is better to master one approach than to dabble in five.",
    ),
}
_SECTION_OPENERS = (
    'This section, "{h}", looks at what matters most and why.',
    'When it comes to "{h}", a few principles do most of the work.',
    'Under "{h}", the goal is simple: make the next decision easier.',
    'Here is a practical look at "{h}" and how it fits into {kw}.',
    'Many readers skip "{h}", yet it shapes the result more than expected.',
)
_CLOSERS = (
    "In the end, {kw} comes down to a few fundamentals applied consistently.",
    "Start with the basics covered above, adjust one thing at a time and keep notes.",
    "With a little practice the process becomes quick, reliable and genuinely enjoyable.",
    "Come back to this guide whenever you want a refresher or run into a problem.",
    "Small, steady improvements add up to a noticeably better result.",
    "Most importantly, enjoy the process: curiosity is the best teacher there is.",
)
_SUBHEADINGS = (
    "A Quick Tip",
    "Why This Matters",
    "What to Watch Out For",
    "An Example",
    "The Short Version",
    "Going Further",
)
_STEPS = (
    "Gather your equipment and ingredients so everything is within reach.",
    "Measure carefully with a scale or a consistent scoop.",
    "Prepare your setup: clean, rinse and preheat where it applies.",
    "Follow the core method, keeping an eye on the timing.",
    "Check the result and note anything that seemed off.",
    "Adjust one variable for next time if the result was not quite right.",
    "Clean up straight away so the next session starts fresh.",
)
_PICKS = (
    ("Best overall", "a well-rounded choice that balances performance, ease of use and price"),
    ("Best value", "most of the performance of premium options at a fraction of the cost"),
    ("Best for beginners", "forgiving, simple to learn and easy to keep clean"),
    ("Best premium pick", "outstanding build quality and control for enthusiasts"),
    ("Best compact option", "a small footprint that suits tight kitchens and travel"),
)
_TAKEAWAYS = (
    "Master the fundamentals before buying extras.",
    "Change one variable at a time and note the result.",
    "Keep equipment clean; it affects quality more than most upgrades.",
    "Use consistent measurements until the routine becomes second nature.",
    "Trust your own preferences over rigid rules.",
)
_TABLE_ROWS = (
    ("Ease of use", "Very approachable", "Takes some practice"),
    ("Upfront cost", "Usually lower", "Usually higher"),
    ("Control over the result", "Moderate", "High"),
    ("Cleanup", "Quick", "A little more involved"),
    ("Best for", "Busy everyday use", "Hands-on enthusiasts"),
)
_META = {
    "how_to": "Learn {kw} step by step: what you need, the exact method, common mistakes to "
    "avoid and simple fixes.",
    "best_of": "Looking for the {kw}? We compare the top options, what to look for and which "
    "picks offer the best value.",
    "comparison": "Comparing {kw}? See the key differences, strengths and weaknesses side by "
    "side, and which one fits your needs.",
    "question": 'A clear answer to "{kw}", plus the context, common misconceptions and related '
    "questions worth knowing.",
    "guide": "A practical guide to {kw}: the basics, why it matters, how to get started and "
    "expert tips for better results.",
}
_META_EXTRAS = (
    "Practical advice for beginners and enthusiasts alike.",
    "Clear, tested tips.",
    "Read on.",
)
_META_PADDING = ("Written", "for", "home", "enthusiasts", "and", "updated", "regularly")


class _Prose:
    """Deterministic sentence dealer: draws from shuffled decks so sentences rarely repeat."""

    def __init__(self, rng: random.Random, keyword: str) -> None:
        self.rng = rng
        self.keyword = html.escape(keyword)
        self._decks: dict[tuple[str, ...], list[str]] = {}

    def draw(self, pool: tuple[str, ...], **values: str) -> str:
        deck = self._decks.get(pool)
        if not deck:
            deck = self._decks[pool] = list(pool)
            self.rng.shuffle(deck)
        escaped = {k: html.escape(v) for k, v in values.items()}
        return deck.pop().format(kw=self.keyword, **escaped)

    def paragraph(self, content_type: str, lead: str = "") -> str:
        sentences = [lead] if lead else []
        length = self.rng.choice((4, 4, 5))
        while len(sentences) < length:
            pool = _BY_TYPE[content_type] if self.rng.random() < 0.35 else _BODY
            sentences.append(self.draw(pool))
        return f"<p>{' '.join(sentences)}</p>"


@dataclass
class _Section:
    heading: str
    blocks: list[str] = field(default_factory=list)  # paragraphs, possibly led by an <h3>
    extra: str = ""  # a list or table, after the first paragraph

    def render(self) -> str:
        parts = [
            f"<h2>{html.escape(self.heading)}</h2>",
            self.blocks[0],
            self.extra,
            *self.blocks[1:],
        ]
        return "\n".join(p for p in parts if p)


def _complete_outline(brief: ArticleIn, keyword: str, content_type: str) -> list[str]:
    """The brief's headings, topped up from the type's skeleton to at least four."""
    headings = list(dict.fromkeys(h for h in (_collapse(h) for h in brief.outline) if h))
    for default in _outline(keyword, content_type):
        if len(headings) >= 4:
            break
        if default.lower() not in {h.lower() for h in headings}:
            headings.append(default)
    return headings


def _list_for(content_type: str, keyword: str, prose: _Prose) -> str:
    """The list or table that fits the type: steps → <ol>, listicle → <ul>, comparison → table."""
    rng = prose.rng
    if content_type == "how_to":
        steps = _STEPS[: rng.randint(5, len(_STEPS))]
        return "<ol>" + "".join(f"<li>{s}</li>" for s in steps) + "</ol>"
    if content_type == "best_of":
        picks = _PICKS[: rng.randint(3, len(_PICKS))]
        items = (f"<li><strong>{label}:</strong> {text}.</li>" for label, text in picks)
        return "<ul>" + "".join(items) + "</ul>"
    if content_type == "comparison":
        a, b = (html.escape(s) for s in (_sides(keyword) or ("Option A", "Option B")))
        flip = rng.random() < 0.5
        rows = "".join(
            f"<tr><td>{label}</td><td>{y if flip else x}</td><td>{x if flip else y}</td></tr>"
            for label, x, y in _TABLE_ROWS
        )
        head = f"<thead><tr><th>Feature</th><th>{a}</th><th>{b}</th></tr></thead>"
        return f"<table>{head}<tbody>{rows}</tbody></table>"
    takeaways = rng.sample(_TAKEAWAYS, k=rng.randint(3, len(_TAKEAWAYS)))
    return "<ul>" + "".join(f"<li>{t}</li>" for t in takeaways) + "</ul>"


def _faq_blocks(keyword: str, secondary: Sequence[str], prose: _Prose) -> list[str]:
    questions = [_as_question(_title_case(s)) for s in secondary[:2]]
    questions += ["Is It Worth the Effort?", "How Long Does It Take to Learn?"]
    return [f"<h3>{html.escape(q)}</h3>\n{prose.paragraph('question')}" for q in questions[:3]]


def _article_title(title: str, keyword: str, content_type: str) -> str:
    title = _collapse(title)
    if not title:
        return _idea_title(keyword, content_type)
    if keyword.lower() in title.lower():
        return title
    return f"{_title_case(keyword)}: {title}"


def _conclusion_heading(keyword: str, content_type: str) -> str:
    if content_type == "question":
        return f"{_as_question(_title_case(keyword))} The Bottom Line"
    if content_type == "how_to":
        return f"{_title_case(keyword)}: Final Thoughts"
    return f"Final Thoughts on {_title_case(keyword)}"


def _meta_description(keyword: str, content_type: str) -> str:
    """META_MIN to META_MAX characters containing the keyword, padded or cut at word boundaries."""
    text = _META[content_type].format(kw=keyword)
    if len(text) > META_MAX:
        return _trim(text, META_MAX - 1).rstrip(".,;:") + "."
    for extra in _META_EXTRAS:  # whole sentences while they fit
        if len(text) < META_MIN and len(text) + 1 + len(extra) <= META_MAX:
            text = f"{text} {extra}"
    padding = itertools.cycle(_META_PADDING)  # short words: cannot overshoot META_MAX
    while len(text) < META_MIN:
        text = f"{text} {next(padding)}"
    return text


def compose_article(brief: ArticleIn) -> ArticleOut:
    """A structured article of at least MIN_ARTICLE_WORDS words, deterministic per brief."""
    keyword = _collapse(brief.primary_keyword) or _collapse(brief.title) or "this topic"
    content_type = brief.content_type if brief.content_type in STRUCTURE_OF else _intent_of(keyword)
    title = _article_title(brief.title, keyword, content_type)
    outline = _complete_outline(brief, keyword, content_type)
    secondary = [
        s
        for s in dict.fromkeys(_collapse(t) for t in brief.target_keywords)
        if s and s.lower() != keyword.lower()
    ]
    prose = _Prose(
        random.Random(_seed_of(title, keyword, secondary, content_type, outline)), keyword
    )
    rng = prose.rng

    opening = [prose.draw(_OPENERS), *(prose.draw(_INTRO) for _ in range(rng.choice((2, 3))))]
    intro = [f"<p>{' '.join(opening)}</p>"]
    if secondary:
        also = _join_and([html.escape(s) for s in secondary[:3]])
        intro.append(prose.paragraph(content_type, lead=f"Along the way we also cover {also}."))

    list_at = next(
        (i for i, h in enumerate(outline) if "step" in h.lower() or "pick" in h.lower()),
        min(1, len(outline) - 1),
    )
    faq_at = len(outline) - 1 if content_type == "question" else -1
    sections = []
    for index, heading in enumerate(outline):
        section = _Section(heading)
        lead = prose.draw(_SECTION_OPENERS, h=heading.rstrip("?.!:"))
        section.blocks.append(prose.paragraph(content_type, lead=lead))
        if index == faq_at:
            section.blocks += _faq_blocks(keyword, secondary, prose)[: rng.choice((1, 2))]
        else:
            section.blocks += [prose.paragraph(content_type) for _ in range(rng.choice((1, 2)))]
            if index != list_at and rng.random() < 0.4:
                sub = html.escape(rng.choice(_SUBHEADINGS))
                section.blocks[-1] = f"<h3>{sub}</h3>\n{section.blocks[-1]}"
        if index == list_at:
            section.extra = _list_for(content_type, keyword, prose)
        sections.append(section)

    conclusion = _Section(
        _conclusion_heading(keyword, content_type),
        [f"<p>{' '.join(prose.draw(_CLOSERS) for _ in range(3))}</p>"],
    )

    def render() -> str:
        return "\n".join([*intro, *(s.render() for s in (*sections, conclusion))])

    body = render()
    while word_count(body) < MIN_ARTICLE_WORDS:
        short = next((s for s in sections if len(s.blocks) < 3), conclusion)
        short.blocks.append(prose.paragraph(content_type))
        body = render()
    slug = _trim(slugify(title).replace("-", " "), 80).replace(" ", "-")
    return ArticleOut(
        title=title,
        html=body,
        meta_description=_meta_description(keyword, content_type),
        slug=slug or f"article-{_seed_of(title) % 10**8}",
    )


# --- image prompts ----------------------------------------------------------------------------
_STYLES = (
    "editorial photograph, natural light, shallow depth of field",
    "clean flat illustration, soft pastel palette",
    "minimal 3D render, soft shadows, muted colours",
    "warm lifestyle photograph, morning light, cosy atmosphere",
)


class _H2Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self._current: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "h2":
            self._current = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2" and self._current is not None:
            text = _collapse("".join(self._current))
            if text:
                self.headings.append(text)
            self._current = None

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._current.append(data)


def h2_headings(markup: str) -> list[str]:
    parser = _H2Parser()
    parser.feed(markup)
    parser.close()
    return parser.headings


def pick_image_prompts(title: str, markup: str) -> list[ImagePromptOut]:
    """A featured prompt from the title (position 0) and one per H2 for up to three H2s."""
    title = _collapse(title) or "Untitled article"
    style = _STYLES[_seed_of(title) % len(_STYLES)]
    prompts = [
        ImagePromptOut(
            kind="featured",
            position=0,
            prompt=f'Header image for an article titled "{title}": an inviting, well-composed '
            f"scene that captures the subject at a glance, {style}, no text or logos",
            alt_text=_trim(f"Featured image for {title}", 125),
        )
    ]
    for position, heading in enumerate(h2_headings(markup)[:3], start=1):
        prompts.append(
            ImagePromptOut(
                kind="in_article",
                position=position,
                prompt=f'Illustration for the section "{heading}" of an article about {title}: '
                f"a clear visual that explains the idea, uncluttered background, {style}, no text",
                alt_text=_trim(f"{heading.rstrip('?.!:')}: illustration for {title}", 125),
            )
        )
    return prompts


# --- images -----------------------------------------------------------------------------------
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: a fixed-size bitmap font
        return ImageFont.load_default()


def _caption(prompt: str, words: int = 8) -> str:
    """The first words of the prompt, or of the title it quotes."""
    quoted = re.search(r'"([^"]+)"', prompt)
    text = quoted.group(1) if quoted else prompt
    return " ".join(_ascii(text).split()[:words])


def _wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines[:3]


def render_png(prompt: str, size: tuple[int, int], kind: str = "featured") -> bytes:
    """A deterministic composition: a two-colour gradient, translucent shapes and the first
    words of the prompt, all derived from a hash of the prompt."""
    width, height = size
    digest = hashlib.sha256(f"{kind}|{prompt}".encode()).digest()
    start = np.array(list(digest[0:3]), np.float32) * 0.55  # a darker end and a lighter
    end = 90 + np.array(list(digest[3:6]), np.float32) * 0.65  # one, so the caption reads
    angle = digest[6] / 255 * math.pi
    # The gradient is computed at a quarter of the size and scaled up: smooth and fast.
    small = (max(2, width // 4), max(2, height // 4))
    xs = np.linspace(0, 1, small[0], dtype=np.float32)
    ys = np.linspace(0, 1, small[1], dtype=np.float32)
    ramp = math.cos(angle) * xs[None, :] + math.sin(angle) * ys[:, None]
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    pixels = start + (end - start) * ramp[..., None]
    image = Image.fromarray(pixels.astype(np.uint8), "RGB").resize(size, Image.Resampling.BILINEAR)

    overlay = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for i in range(5):
        b = digest[8 + 4 * i : 12 + 4 * i]
        cx, cy = b[0] / 255 * width, b[1] / 255 * height
        radius = (0.08 + b[2] / 255 * 0.3) * min(width, height)
        colour = (digest[b[3] % 32], digest[(b[3] + 7) % 32], digest[(b[3] + 13) % 32], 70)
        box = (cx - radius, cy - radius, cx + radius, cy + radius)
        if b[3] % 2:
            draw.ellipse(box, fill=colour)
        else:
            draw.rectangle(box, fill=colour)

    font_size = max(12, height // 12)
    font = _font(font_size)
    margin = width // 16
    lines = _wrap(_caption(prompt), font, width - 2 * margin)
    line_height = font_size * 1.25
    top = height - margin - line_height * len(lines)
    draw.rectangle((0, top - margin / 2, width, height), fill=(0, 0, 0, 110))
    for i, line in enumerate(lines):
        draw.text((margin, top + i * line_height), line, font=font, fill=(255, 255, 255, 255))
    image = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
