"""OpenAPI post-processing: the error answers every endpoint can give, declared once.

Views declare their own success bodies and domain conflicts (409, 413); the answers the
framework gives everywhere (400 bad input, 401 no credentials, 403 role refused, 404 unknown
or foreign object, or a page past the end) are added here, so no endpoint's schema can
forget them.
"""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "description": "A refusal: `detail` in words, `code` machine-readable, sometimes more keys.",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "required": ["detail"],
    "additionalProperties": True,
}
VALIDATION_ERROR = {
    "type": "object",
    "description": 'Bad input, DRF style: each field maps to its messages, e.g. {"timezone": '
    "[\"'Mars/Base' is not an IANA time zone name.\"]}.",
    "additionalProperties": {},
}
METHODS = {"get", "post", "put", "patch", "delete"}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _answer(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def is_public(operation: dict[str, Any]) -> bool:
    """An operation callable without credentials (e.g. the token endpoint): drf-spectacular
    lists no security requirement for it, or an empty one."""
    security = operation.get("security")
    return not security or {} in security


def add_error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR)
    schemas.setdefault("ValidationError", VALIDATION_ERROR)
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            query = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
            if "requestBody" in operation or query:
                responses.setdefault("400", _answer("ValidationError", "Bad input"))
            if not is_public(operation):
                responses.setdefault("401", _answer("Error", "No or invalid credentials"))
                responses.setdefault("403", _answer("Error", "The caller's role may not do this"))
            if "{" in path or "page" in query:
                responses.setdefault("404", _answer("Error", "Unknown or another account's"))
    return result
