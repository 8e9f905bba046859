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
import math
import random
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser

import numpy as np
from django.utils.text import slugify
from PIL import Image, ImageDraw, ImageFont

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
from inkline.planner.clustering import (
    CLUSTERERS,
    EXISTING_SAMPLE,
    LEXICAL,
    KnownCluster,
    NewKeyword,
    clusterer_grouping,
    group_keywords,
)
from inkline.planner.clustering.text import (
    TOKEN_RE,
    ascii_fold,
    collapse,
    fold_phrase,
    title_case,
    trim,
    word_set,
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


# --- text helpers -----------------------------------------------------------------------------
_TAG_RE = re.compile(r"<[^>]+>")


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


def _join_and(items: Sequence[str]) -> str:
    return " and ".join(filter(None, [", ".join(items[:-1]), items[-1]])) if items else ""


def _as_question(text: str) -> str:
    return text if text.endswith("?") else f"{text}?"


# --- ideas ------------------------------------------------------------------------------------
STRUCTURE_OF = {
    "how_to": "steps",
    "best_of": "listicle",
    "comparison": "comparison_table",
    "question": "faq",
    "guide": "article",
}
_QUESTION_WORDS = word_set("what why when where which who can does do is are should how")
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
    text = collapse(ascii_fold(phrase).lower())
    tokens = TOKEN_RE.findall(text)
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
    parts = _VERSUS_RE.split(collapse(phrase), maxsplit=1)
    if len(parts) != 2 or not all(p.strip() for p in parts):
        return None
    return title_case(parts[0]), title_case(parts[1])


def _fill(template: str, keyword: str) -> str:
    title = title_case(keyword)
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
    extra = [title_case(s) for s in secondary if collapse(s)][:2]
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
        phrase = collapse(keyword.phrase)
        if phrase and phrase.lower() not in seen:
            seen.add(phrase.lower())
            phrases.append(phrase)
    if not phrases:
        phrases = [collapse(cluster_name).lower() or "untitled topic"]
    primaries = _pick_primaries(phrases, min(4, math.ceil(len(phrases) / 3)))
    covered: dict[str, list[str]] = {p: [p] for p in primaries}
    for phrase in phrases:
        if phrase in covered:
            continue
        words = set(fold_phrase(phrase).split())
        home = max(
            primaries,
            key=lambda p: (
                len(words & set(fold_phrase(p).split())),
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
    headings = list(dict.fromkeys(h for h in (collapse(h) for h in brief.outline) if h))
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
    questions = [_as_question(title_case(s)) for s in secondary[:2]]
    questions += ["Is It Worth the Effort?", "How Long Does It Take to Learn?"]
    return [f"<h3>{html.escape(q)}</h3>\n{prose.paragraph('question')}" for q in questions[:3]]


def _article_title(title: str, keyword: str, content_type: str) -> str:
    title = collapse(title)
    if not title:
        return _idea_title(keyword, content_type)
    if keyword.lower() in title.lower():
        return title
    return f"{title_case(keyword)}: {title}"


def _conclusion_heading(keyword: str, content_type: str) -> str:
    if content_type == "question":
        return f"{_as_question(title_case(keyword))} The Bottom Line"
    if content_type == "how_to":
        return f"{title_case(keyword)}: Final Thoughts"
    return f"Final Thoughts on {title_case(keyword)}"


def _meta_description(keyword: str, content_type: str) -> str:
    """META_MIN to META_MAX characters containing the keyword, padded or cut at word boundaries."""
    text = _META[content_type].format(kw=keyword)
    if len(text) > META_MAX:
        return trim(text, META_MAX - 1).rstrip(".,;:") + "."
    for extra in _META_EXTRAS:  # whole sentences while they fit
        if len(text) < META_MIN and len(text) + 1 + len(extra) <= META_MAX:
            text = f"{text} {extra}"
    padding = itertools.cycle(_META_PADDING)  # short words: cannot overshoot META_MAX
    while len(text) < META_MIN:
        text = f"{text} {next(padding)}"
    return text


def compose_article(brief: ArticleIn) -> ArticleOut:
    """A structured article of at least MIN_ARTICLE_WORDS words, deterministic per brief."""
    keyword = collapse(brief.primary_keyword) or collapse(brief.title) or "this topic"
    content_type = brief.content_type if brief.content_type in STRUCTURE_OF else _intent_of(keyword)
    title = _article_title(brief.title, keyword, content_type)
    outline = _complete_outline(brief, keyword, content_type)
    secondary = [
        s
        for s in dict.fromkeys(collapse(t) for t in brief.target_keywords)
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
    slug = trim(slugify(title).replace("-", " "), 80).replace(" ", "-")
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
            text = collapse("".join(self._current))
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
    title = collapse(title) or "Untitled article"
    style = _STYLES[_seed_of(title) % len(_STYLES)]
    prompts = [
        ImagePromptOut(
            kind="featured",
            position=0,
            prompt=f'Header image for an article titled "{title}": an inviting, well-composed '
            f"scene that captures the subject at a glance, {style}, no text or logos",
            alt_text=trim(f"Featured image for {title}", 125),
        )
    ]
    for position, heading in enumerate(h2_headings(markup)[:3], start=1):
        prompts.append(
            ImagePromptOut(
                kind="in_article",
                position=position,
                prompt=f'Illustration for the section "{heading}" of an article about {title}: '
                f"a clear visual that explains the idea, uncluttered background, {style}, no text",
                alt_text=trim(f"{heading.rstrip('?.!:')}: illustration for {title}", 125),
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
    return " ".join(ascii_fold(text).split()[:words])


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
