"""Versioned prompts and the JSON schemas of the answers, for model-backed providers.

Each AI function has one `PromptSpec`: a system prompt, a JSON schema the model must answer
in (sent as `response_format: json_schema`, strict), and a version recorded in every stored
item's provenance. Change a prompt or a schema, bump its version. Inputs are sent to the model
as one JSON document, so nothing a user typed can be confused with the instructions.
Pure data and functions: no network, no database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jsonschema

CONTENT_TYPES = ("how_to", "best_of", "comparison", "guide", "question")
STRUCTURES = ("steps", "listicle", "comparison_table", "article", "faq")


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    """A strict object: every property required, nothing else allowed (what strict mode needs)."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


_STRING: dict[str, Any] = {"type": "string"}
_STRINGS: dict[str, Any] = {"type": "array", "items": _STRING}


@dataclass(frozen=True)
class PromptSpec:
    name: str  # the schema's name in the request
    version: str  # recorded in provenance
    system: str
    schema: dict[str, Any]

    def messages(self, payload: dict[str, Any]) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": json.dumps(payload, ensure_ascii=False)},
        ]

    def response_format(self) -> dict[str, Any]:
        return {
            "type": "json_schema",
            "json_schema": {"name": self.name, "schema": self.schema, "strict": True},
        }

    def parse(self, content: str | None) -> dict[str, Any]:
        """The model's answer as data; ValueError naming what is wrong with it."""
        if not content:
            raise ValueError("the answer is empty")
        try:
            data = json.loads(content)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the answer is not valid JSON ({exc.msg} at {exc.pos})") from None
        try:
            jsonschema.validate(data, self.schema)
        except jsonschema.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "the answer"
            raise ValueError(f"{where} does not match the schema: {exc.message}") from None
        result: dict[str, Any] = data
        return result


CLUSTERING = PromptSpec(
    name="keyword_clusters",
    version="clustering-v1",
    system=(
        "You group search keywords for a website into topical clusters, one future article "
        "hub each. The user message is JSON with `keywords` (id, phrase, volume, intent) and "
        "`existing_clusters` (id, name, sample keywords) the site already has. Put every "
        "keyword id into exactly one cluster. Prefer an existing cluster when a keyword fits "
        "it (set `existing_cluster_id` to its id and repeat its name); otherwise create a new "
        "cluster (`existing_cluster_id` null) with a short, specific name (2-5 words) and a "
        "one-sentence description. Keywords sharing search intent and subject belong "
        "together; do not make one cluster per keyword unless a keyword truly stands alone."
    ),
    schema=_object(
        {
            "clusters": {
                "type": "array",
                "items": _object(
                    {
                        "existing_cluster_id": {"type": ["integer", "null"]},
                        "name": _STRING,
                        "description": _STRING,
                        "keyword_ids": {"type": "array", "items": {"type": "integer"}},
                    }
                ),
            }
        }
    ),
)

IDEAS = PromptSpec(
    name="content_ideas",
    version="ideas-v1",
    system=(
        "You plan articles for a keyword cluster. The user message is JSON with the cluster "
        "`name` and its `keywords` (phrase, volume, intent), highest volume first. Propose 1 "
        "to 4 distinct article ideas that together cover the cluster without competing for "
        "the same query: each has a compelling title, one `primary_keyword` taken from the "
        "keywords (never the same primary keyword twice), `target_keywords` from the list, a "
        "`content_type`, a `content_structure`, and an `outline` of 4 to 8 H2 headings."
    ),
    schema=_object(
        {
            "ideas": {
                "type": "array",
                "items": _object(
                    {
                        "title": _STRING,
                        "primary_keyword": _STRING,
                        "target_keywords": _STRINGS,
                        "content_type": {"type": "string", "enum": list(CONTENT_TYPES)},
                        "content_structure": {"type": "string", "enum": list(STRUCTURES)},
                        "outline": _STRINGS,
                    }
                ),
            }
        }
    ),
)

ARTICLE = PromptSpec(
    name="article",
    version="article-v1",
    system=(
        "You write helpful, accurate web articles. The user message is JSON with the "
        "`title`, `primary_keyword`, `target_keywords`, `content_type` and `outline` (H2 "
        "headings, in order). Write the body as HTML using only p, h2, h3, ul, ol, li, "
        "strong, em, a, blockquote and table elements: no h1, no scripts, no styles, no "
        "images. Follow the outline with one h2 per heading, use the primary keyword "
        "naturally, and aim for 900 to 1500 words. Also give a `meta_description` of at most "
        "155 characters and a lowercase, hyphenated `slug`."
    ),
    schema=_object(
        {"title": _STRING, "html": _STRING, "meta_description": _STRING, "slug": _STRING}
    ),
)

IMAGE_PROMPTS = PromptSpec(
    name="image_prompts",
    version="image-prompts-v1",
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
            "prompts": {
                "type": "array",
                "items": _object(
                    {
                        "kind": {"type": "string", "enum": ["featured", "in_article"]},
                        "position": {"type": "integer", "minimum": 0},
                        "prompt": _STRING,
                        "alt_text": _STRING,
                    }
                ),
            }
        }
    ),
)

IMAGE_PROMPT_VERSION = "image-v1"
IMAGE_STYLE = "High-quality editorial image, natural light, no text, no watermark. Subject: "

SPECS: dict[str, PromptSpec] = {
    "clustering": CLUSTERING,
    "idea_generation": IDEAS,
    "content_generation": ARTICLE,
    "image_prompt_extraction": IMAGE_PROMPTS,
}


def repair_message(error: str) -> dict[str, str]:
    """The follow-up message of the one re-ask after an invalid answer."""
    return {
        "role": "user",
        "content": (
            f"Your previous answer was rejected: {error}. Answer again with one complete JSON "
            "document matching the schema, and nothing else."
        ),
    }
