"""A stand-in provider for the connection check's surfaces: `check()` answers a given
`AICheck` (after `delay` seconds), raises a given exception, or counts its calls. The real
providers' own checks are tested with them (tests/ai/test_local.py, test_openai_*.py)."""

from __future__ import annotations

import threading

from inkline.ai.types import AICheck, CheckProblem

BASE_URL = "http://127.0.0.1:9/v1"

# A llama.cpp-like server: no json_schema, JSON mode works, no images.
JSON_OBJECT_NO_IMAGES = AICheck(
    provider="openai",
    reachable=True,
    auth=True,
    model="gemma-3-270m-it [q4]",
    structured_output="json_object",
    images=False,
    problems=(
        CheckProblem(
            code="no_images",
            message=f"{BASE_URL} makes no images (404 on /images/generations).",
            fix="Turn stage 6 off, or set INKLINE_OPENAI_IMAGE_MODEL to a model it serves.",
        ),
    ),
    base_url=BASE_URL,
)

UNREACHABLE = AICheck(
    provider="openai",
    reachable=False,
    auth=False,
    model=None,
    structured_output=None,
    images=False,
    problems=(
        CheckProblem(
            code="unreachable",
            message=f"Nothing answers at {BASE_URL} <script>alert(1)</script>",
            fix="Start the server or correct OPENAI_BASE_URL.",
        ),
    ),
    base_url=BASE_URL,
)


class FakeCheckProvider:
    name = "openai"
    base_url = BASE_URL

    def __init__(
        self,
        answer: AICheck | None = None,
        *,
        raises: BaseException | None = None,
        hold: threading.Event | None = None,
    ) -> None:
        self.answer = answer or JSON_OBJECT_NO_IMAGES
        self.raises = raises
        self.hold = hold  # set: check() waits until it is set (a hung endpoint)
        self.calls = 0

    def check(self, *, fresh: bool = False) -> AICheck:
        self.calls += 1
        if self.hold is not None:
            self.hold.wait(30)
        if self.raises is not None:
            raise self.raises
        return self.answer
