"""Articles from briefs: structured HTML of at least 800 words (or the brief's `min_words`, if
more), from sentence templates dealt by a generator seeded with the brief."""

from __future__ import annotations

import html
import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.utils.text import slugify

from inkline.accounts.voice import Voice, strip_avoided
from inkline.ai.local.ideas import STRUCTURE_OF, compared_sides, idea_outline, idea_title, intent_of
from inkline.ai.local.text import as_question, seed_of, word_count
from inkline.ai.local.voice import in_point_of_view, map_text, without_avoided
from inkline.ai.types import ArticleIn, ArticleOut
from inkline.planner.clustering.text import collapse, title_case, trim
from inkline.writer.html import word_count as stored_word_count


def _join_and(items: Sequence[str]) -> str:
    return " and ".join(filter(None, [", ".join(items[:-1]), items[-1]])) if items else ""


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
# Headings of the sections added to reach a brief's `min_words` (one H2 per ~200 words, so the
# SEO check of an H2 per 300 words still passes); after these, numbered parts.
_MORE_HEADINGS = (
    "Common Questions About {kw}",
    "Mistakes to Avoid With {kw}",
    "Tools That Make {kw} Easier",
    "Advanced Tips for {kw}",
    "How {kw} Fits Into Everyday Life",
    "What Experts Say About {kw}",
    "A Simple Plan for {kw}",
    "Troubleshooting {kw}",
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
    for default in idea_outline(keyword, content_type):
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
        a, b = (html.escape(s) for s in (compared_sides(keyword) or ("Option A", "Option B")))
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
    questions = [as_question(title_case(s)) for s in secondary[:2]]
    questions += ["Is It Worth the Effort?", "How Long Does It Take to Learn?"]
    return [f"<h3>{html.escape(q)}</h3>\n{prose.paragraph('question')}" for q in questions[:3]]


def _article_title(title: str, keyword: str, content_type: str) -> str:
    title = collapse(title)
    if not title:
        return idea_title(keyword, content_type)
    if keyword.lower() in title.lower():
        return title
    return f"{title_case(keyword)}: {title}"


def _conclusion_heading(keyword: str, content_type: str) -> str:
    if content_type == "question":
        return f"{as_question(title_case(keyword))} The Bottom Line"
    if content_type == "how_to":
        return f"{title_case(keyword)}: Final Thoughts"
    return f"Final Thoughts on {title_case(keyword)}"


def _meta_description(keyword: str, content_type: str, voiced: Callable[[str], str] = str) -> str:
    """META_MIN to META_MAX characters containing the keyword, padded or cut at word
    boundaries; `voiced` rewrites each piece into the site's voice (and may drop words)."""
    text = voiced(_META[content_type].format(kw=keyword))
    if len(text) > META_MAX:
        return voiced(trim(text, META_MAX - 1).rstrip(".,;:") + ".")
    for extra in map(voiced, _META_EXTRAS):  # whole sentences while they fit
        if extra and len(text) < META_MIN and len(text) + 1 + len(extra) <= META_MAX:
            text = f"{text} {extra}"
    # Short words: cannot overshoot META_MAX.
    words = [w for w in map(voiced, _META_PADDING) if w.strip()]
    padding = itertools.cycle(words)
    while words and len(text) < META_MIN:
        text = f"{text} {next(padding)}"
    return text


def _more_section(keyword: str, content_type: str, index: int, prose: _Prose) -> _Section:
    """The `index`th section added to reach a brief's minimum length (one paragraph)."""
    name = title_case(keyword)
    if index < len(_MORE_HEADINGS):
        heading = _MORE_HEADINGS[index].format(kw=name)
    else:
        heading = f"More on {name}, Part {index - len(_MORE_HEADINGS) + 2}"
    lead = prose.draw(_SECTION_OPENERS, h=heading)
    return _Section(heading, [prose.paragraph(content_type, lead=lead)])


@dataclass(frozen=True)
class _Voicing:
    """The site's brand voice applied to the article's texts: the point of view (the site's
    keywords, in `keep`, left as they are), then the words to avoid removed."""

    voice: Voice
    keep: tuple[str, ...]

    def text(self, text: str) -> str:
        text = in_point_of_view(text, self.voice.point_of_view, self.keep)
        return strip_avoided(text, self.voice.words_to_avoid) if self.voice.words_to_avoid else text

    def body(self, markup: str) -> str:
        pov = self.voice.point_of_view
        if pov:
            markup = map_text(markup, lambda t: in_point_of_view(t, pov, self.keep))
        return without_avoided(markup, self.voice.words_to_avoid)


def compose_article(brief: ArticleIn) -> ArticleOut:
    """A structured article of at least MIN_ARTICLE_WORDS words and at least the brief's
    `min_words` (as `inkline.writer.html.word_count` counts them), deterministic per brief,
    in the brief's point of view and without any of its words to avoid (`_Voicing`)."""
    keyword = collapse(brief.primary_keyword) or collapse(brief.title) or "this topic"
    content_type = brief.content_type if brief.content_type in STRUCTURE_OF else intent_of(keyword)
    title = _article_title(brief.title, keyword, content_type)
    outline = _complete_outline(brief, keyword, content_type)
    refresh = (brief.revision,) if brief.revision else ()  # a refresh reads differently
    secondary = [
        s
        for s in dict.fromkeys(collapse(t) for t in brief.target_keywords)
        if s and s.lower() != keyword.lower()
    ]
    prose = _Prose(
        random.Random(seed_of(title, keyword, secondary, content_type, outline, *refresh)),
        keyword,
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

    voiced = _Voicing(brief.voice, keep=(keyword, *secondary))

    def render() -> str:
        body = "\n".join([*intro, *(s.render() for s in (*sections, conclusion))])
        return voiced.body(body)

    body = render()
    while word_count(body) < MIN_ARTICLE_WORDS:
        short = next((s for s in sections if len(s.blocks) < 3), conclusion)
        short.blocks.append(prose.paragraph(content_type))
        body = render()
    # The site's minimum, counted as the stored article is: sections of up to three
    # paragraphs, then new sections, each under its own H2.
    while brief.min_words and stored_word_count(body) < brief.min_words:
        room = next((s for s in sections if len(s.blocks) < 3), None)
        if room is None:
            sections.append(
                _more_section(keyword, content_type, len(sections) - len(outline), prose)
            )
        else:
            room.blocks.append(prose.paragraph(content_type))
        body = render()
    title = voiced.text(title)
    slug = trim(slugify(title).replace("-", " "), 80).replace(" ", "-")
    return ArticleOut(
        title=title,
        html=body,
        meta_description=_meta_description(keyword, content_type, voiced.text),
        slug=slug or f"article-{seed_of(title) % 10**8}",
    )
