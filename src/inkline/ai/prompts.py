"""Versioned prompts and the JSON schemas of the answers, for model-backed providers.

Each AI function has one `PromptSpec`: a system prompt, a JSON schema the answer must match,
and a version recorded in every stored item's provenance. Change a prompt or a schema, bump its
version. Inputs are sent to the model as one JSON document, so nothing a user typed can be
confused with the instructions. Every schema bounds its output (`maxItems`, `maxLength`,
`minItems`), so a weak model cannot loop until the server's limit.

How the schema reaches the model depends on the endpoint's structured-output mode
(`inkline.ai.types.STRUCTURED_MODES`, best first):
- `json_schema`: `response_format: {"type": "json_schema", "strict": true}` (OpenAI, vLLM,
  Ollama, llama.cpp). A server whose strict mode refuses `minLength`/`maxLength` (OpenAI
  documents only `pattern` and `format` for strings) is sent the schema without them (`lean`);
  the answer is still validated against the full schema here;
- `json_object`: `{"type": "json_object", "schema": ...}` (llama.cpp's and llama-cpp-python's
  servers constrain the answer to the schema), and the schema is in the system prompt too;
- `prompt`: no `response_format`; the schema is in the system prompt and the JSON is taken
  from the answer tolerantly (inside ```json fences, after a preamble).
Pure data and functions: no network, no database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from inkline.ai.types import StructuredMode

CONTENT_TYPES = ("how_to", "best_of", "comparison", "guide", "question")
STRUCTURES = ("steps", "listicle", "comparison_table", "article", "faq")
MAX_IDEAS = 4
MAX_IMAGE_PROMPTS = 4  # one featured, up to three in the article
# Keywords a strict mode may refuse (OpenAI's Structured Outputs guide documents only `pattern`
# and `format` for strings); a lean schema leaves them out, validation keeps them.
STRICT_UNSUPPORTED = frozenset({"minLength", "maxLength"})


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    """A strict object: every property required, nothing else allowed (what strict mode needs)."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _string(max_length: int, min_length: int = 0) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "maxLength": max_length}
    if min_length:
        schema["minLength"] = min_length
    return schema


def _array(items: dict[str, Any], *, max_items: int, min_items: int = 0) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": items, "maxItems": max_items}
    if min_items:
        schema["minItems"] = min_items
    return schema


def strict_schema(schema: Any) -> Any:
    """`schema` without the keywords a strict mode may refuse."""
    if isinstance(schema, dict):
        return {k: strict_schema(v) for k, v in schema.items() if k not in STRICT_UNSUPPORTED}
    if isinstance(schema, list):
        return [strict_schema(v) for v in schema]
    return schema


def json_instructions(schema: dict[str, Any]) -> str:
    """What the system prompt adds when the endpoint cannot be given the schema itself."""
    return (
        "Answer with one JSON object and nothing else: no prose, no Markdown. It must match "
        "this JSON schema (every property is required; respect every maxItems, minItems and "
        "maxLength):\n" + json.dumps(schema, separators=(",", ":"))
    )


@dataclass(frozen=True)
class PromptSpec:
    name: str  # the schema's name in the request
    version: str  # recorded in provenance
    system: str
    schema: dict[str, Any]  # what the answer is validated against
    # What the request carries, when it says more than `schema` (the ids of a clustering
    # batch as enums): constrained decoding then cannot invent ids; what it holds that the
    # validation does not is repaired afterwards instead of re-asked.
    sent: dict[str, Any] | None = None

    @property
    def wire(self) -> dict[str, Any]:
        return self.sent if self.sent is not None else self.schema

    def messages(
        self, payload: dict[str, Any], mode: StructuredMode = "json_schema"
    ) -> list[dict[str, str]]:
        system = self.system
        if mode != "json_schema":
            system = f"{system}\n\n{json_instructions(self.wire)}"
        return [
            {"role": "system", "content": system},
            {"role": "user", "content": json.dumps(payload, ensure_ascii=False)},
        ]

    def response_format(
        self, mode: StructuredMode = "json_schema", *, lean: bool = False
    ) -> dict[str, Any] | None:
        """The request's `response_format` in `mode`; None: send none (`prompt`). `lean`:
        without the keywords a strict mode may refuse (see STRICT_UNSUPPORTED)."""
        if mode == "json_schema":
            return {
                "type": "json_schema",
                "json_schema": {
                    "name": self.name,
                    "schema": strict_schema(self.wire) if lean else self.wire,
                    "strict": True,
                },
            }
        if mode == "json_object":
            return {"type": "json_object", "schema": self.wire}
        return None

    @cached_property
    def validator(self) -> jsonschema.protocols.Validator:
        cls = jsonschema.validators.validator_for(self.schema)
        validator: jsonschema.protocols.Validator = cls(self.schema)
        return validator

    def parse(self, content: str | None) -> dict[str, Any]:
        """The model's answer as data; ValueError naming what is wrong with it.

        The JSON is taken tolerantly: the whole answer, else a ```json fenced block, else an
        object following a preamble; the first candidate matching the schema wins."""
        if not content or not content.strip():
            raise ValueError("the answer is empty")
        first_error: str | None = None
        for data in json_candidates(content):
            error = best_match(self.validator.iter_errors(data))
            if error is None:
                result: dict[str, Any] = data
                return result
            if first_error is None:
                where = "/".join(str(p) for p in error.absolute_path) or "the answer"
                first_error = f"{where} does not match the schema: {error.message[:300]}"
        if first_error is not None:
            raise ValueError(first_error)
        try:
            json.loads(content)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the answer is not valid JSON ({exc.msg} at {exc.pos})") from None
        raise ValueError("the answer is JSON but not an object")


_THINKING = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[A-Za-z]*[ \t]*\n?(.*?)```", re.DOTALL)
_MAX_SCANS = 50


def json_candidates(content: str) -> Iterator[dict[str, Any]]:
    """The JSON objects an answer may mean, most likely first."""
    text = _THINKING.sub("", content).strip()
    decoder = json.JSONDecoder()
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        pass
    else:
        if isinstance(whole, dict):
            yield whole
        return
    for block in _FENCE.findall(text):
        try:
            fenced = json.loads(block.strip())
        except json.JSONDecodeError:
            continue
        if isinstance(fenced, dict):
            yield fenced
    start = text.find("{")
    for _ in range(_MAX_SCANS):
        if start < 0:
            break
        try:
            found, _end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            pass
        else:
            if isinstance(found, dict):
                yield found
        start = text.find("{", start + 1)


# Search intents a cluster may be given (the keywords' own `intent` choices).
INTENTS = ("informational", "commercial", "transactional", "navigational")
# Keywords of a new cluster sent to name it: the first ones, by volume.
NAME_SAMPLE = 20

CLUSTER_NAME = PromptSpec(
    name="cluster_name",
    version="cluster-name-v1",
    system=(
        "You name a topical cluster of search keywords, one future article hub. The user "
        "message is JSON with the cluster's `keywords` (highest search volume first) and a "
        "`suggested_name` taken from the words they share. Give the cluster a short, specific "
        "`name` (2-5 words, no quotes), a one-sentence `description`, and the `intent` most of "
        "its searchers have."
    ),
    schema=_object(
        {
            "name": _string(80, 1),
            "description": _string(300),
            "intent": {"type": "string", "enum": list(INTENTS)},
        }
    ),
)


IDEAS = PromptSpec(
    name="content_ideas",
    version="ideas-v2",
    system=(
        "You plan articles for a keyword cluster. The user message is JSON with the cluster "
        "`name` and its `keywords` (phrase, volume, intent), highest volume first. Propose 1 "
        "to 4 distinct article ideas that together cover the cluster without competing for "
        "the same query: each has a compelling title, one `primary_keyword` taken from the "
        "keywords (never the same primary keyword twice), up to 10 `target_keywords` from the "
        "list, a `content_type`, a `content_structure`, and an `outline` of 4 to 8 H2 "
        "headings."
    ),
    schema=_object(
        {
            "ideas": _array(
                _object(
                    {
                        "title": _string(150, 1),
                        "primary_keyword": _string(120, 1),
                        "target_keywords": _array(_string(120), max_items=10),
                        "content_type": {"type": "string", "enum": list(CONTENT_TYPES)},
                        "content_structure": {"type": "string", "enum": list(STRUCTURES)},
                        "outline": _array(_string(150, 1), max_items=10, min_items=2),
                    }
                ),
                max_items=MAX_IDEAS,
                min_items=1,
            )
        }
    ),
)

ARTICLE = PromptSpec(
    name="article",
    version="article-v3",
    system=(
        "You write helpful, accurate web articles. The user message is JSON with the "
        "`title`, `primary_keyword`, `target_keywords`, `content_type`, `outline` (H2 "
        "headings, in order) and, when the site sets them, `min_words` and `brand_voice`. "
        "Write the body as HTML using only p, h2, h3, ul, ol, li, strong, em, a, blockquote "
        "and table elements: no h1, no scripts, no styles, no images. Follow the outline with "
        "one h2 per heading, use the primary keyword naturally, and aim for 900 to 1500 words "
        "(never fewer than `min_words`). Also give a `meta_description` of at most 155 "
        "characters and a lowercase, hyphenated `slug`. The site's `brand_voice`, when given, "
        "is binding: write in its `voice` for its `audience`; work its `words_to_use` in "
        "where they fit; never use any of its `words_to_avoid` (whole words or phrases, in "
        "any case) in the title, the body or the meta description; keep to its "
        '`point_of_view` ("we": speak as the site, first person plural; "you": address the '
        'reader; "they": third person, neither "we" nor "you"); write plainly enough for a '
        "Flesch reading ease of at least its `reading_ease`; match the style of its "
        "`example` paragraph without copying it."
    ),
    schema=_object(
        {
            "title": _string(150, 1),
            # The body is bounded by the request's max_tokens, not here: a grammar-constrained
            # server would expand a large maxLength into as many grammar rules.
            "html": {"type": "string", "minLength": 1},
            "meta_description": _string(160),
            "slug": _string(120),
        }
    ),
)

IMAGE_PROMPTS = PromptSpec(
    name="image_prompts",
    version="image-prompts-v2",
    system=(
        "You art-direct the images of an article. The user message is JSON with the article "
        "`title` and its `sections` (the H2 headings, numbered from 1). Return one `featured` "
        "image (position 0) and one `in_article` image for up to 3 of the sections (position "
        "= the section's number). Each prompt describes a photograph or illustration in one "
        "or two sentences, with no text or logos in the picture; `alt_text` describes the "
        "image for screen readers in under 120 characters."
    ),
    schema=_object(
        {
            "prompts": _array(
                _object(
                    {
                        "kind": {"type": "string", "enum": ["featured", "in_article"]},
                        "position": {"type": "integer", "minimum": 0},
                        "prompt": _string(600, 1),
                        "alt_text": _string(200),
                    }
                ),
                max_items=MAX_IMAGE_PROMPTS,
                min_items=1,
            )
        }
    ),
)

# The connection check's probe (`OpenAIProvider.check`): tiny, so it costs next to nothing.
CHECK = PromptSpec(
    name="connection_check",
    version="check-v1",
    system='This is a connection check. Answer with the JSON object {"ok": true}.',
    schema=_object({"ok": {"type": "boolean"}}),
)

IMAGE_PROMPT_VERSION = "image-v1"
IMAGE_STYLE = "High-quality editorial image, natural light, no text, no watermark. Subject: "

SPECS: dict[str, PromptSpec] = {
    "clustering": CLUSTER_NAME,
    "idea_generation": IDEAS,
    "content_generation": ARTICLE,
    "image_prompt_extraction": IMAGE_PROMPTS,
}


# How much of a rejected answer the re-ask shows the model (its own words, to correct).
REPAIR_ECHO_CHARS = 4000


def repair_messages(answer: str, error: str) -> list[dict[str, str]]:
    """What the one re-ask after an invalid answer adds to the conversation: the rejected
    answer (as the assistant's turn, so the roles alternate: many chat templates, Gemma's and
    Mistral's among them, refuse two user turns in a row) and why it was rejected."""
    shown = answer.strip()
    if len(shown) > REPAIR_ECHO_CHARS:
        shown = shown[:REPAIR_ECHO_CHARS] + " …"
    return [
        {"role": "assistant", "content": shown or "(no answer)"},
        {
            "role": "user",
            "content": (
                f"Your previous answer was rejected: {error}. Answer again with one complete "
                "JSON document matching the schema, and nothing else."
            ),
        },
    ]
