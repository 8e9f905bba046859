"""`connection_check`: the provider's `check()` as the surfaces run it, bounded in time, with
a provider that cannot be built reported as a problem."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from inkline.ai.checking import connection_check
from inkline.ai.local import LocalProvider
from inkline.ai.registry import reset_providers
from inkline.ai.types import AIError
from tests.ai.fake_check import BASE_URL, JSON_OBJECT_NO_IMAGES, FakeCheckProvider


@pytest.fixture(autouse=True)
def _fresh_providers() -> Iterator[None]:
    reset_providers()
    yield
    reset_providers()


def test_the_local_provider_can_do_everything() -> None:
    check = connection_check(provider=LocalProvider())
    assert check.ok
    assert check.as_dict() == {
        "ok": True,
        "provider": "local",
        "base_url": "",
        "reachable": True,
        "auth": True,
        "model": "local-1",
        "structured_output": "json_schema",
        "images": True,
        "problems": [],
    }


def test_by_default_the_configured_provider_is_checked(settings: Any) -> None:
    settings.INKLINE_AI_PROVIDER = "local"
    check = connection_check()
    assert check.ok and check.provider == "local"


def test_the_provider_answer_is_passed_on() -> None:
    fake = FakeCheckProvider(JSON_OBJECT_NO_IMAGES)
    check = connection_check(provider=fake, timeout=5)
    assert check is JSON_OBJECT_NO_IMAGES
    assert fake.calls == 1
    assert check.ok  # no images alone leaves text generation usable


def test_a_hung_endpoint_is_answered_within_the_bound() -> None:
    hold = threading.Event()
    fake = FakeCheckProvider(hold=hold)
    started = time.monotonic()
    try:
        check = connection_check(provider=fake, timeout=0.3)
    finally:
        hold.set()  # let the abandoned check end
    assert time.monotonic() - started < 3
    assert not check.ok
    assert check.base_url == BASE_URL and check.provider == "openai"
    [problem] = check.problems
    assert problem.code == "timeout"
    assert BASE_URL in problem.message and "0.3 s" in problem.message
    assert "INKLINE_AI_CHECK_TIMEOUT" in problem.fix


def test_the_bound_defaults_to_the_setting(settings: Any) -> None:
    settings.INKLINE_AI_CHECK_TIMEOUT = 0.2
    hold = threading.Event()
    try:
        check = connection_check(provider=FakeCheckProvider(hold=hold))
    finally:
        hold.set()
    assert [p.code for p in check.problems] == ["timeout"]
    assert "0.2 s" in check.problems[0].message


def test_an_ai_error_from_check_becomes_a_problem() -> None:
    fake = FakeCheckProvider(raises=AIError("connection refused", endpoint=True))
    check = connection_check(provider=fake, timeout=5)
    assert not check.ok and not check.reachable
    [problem] = check.problems
    assert problem.code == "error" and "connection refused" in problem.message


def test_a_bug_in_check_is_not_hidden() -> None:
    fake = FakeCheckProvider(raises=RuntimeError("a bug"))
    with pytest.raises(RuntimeError, match="a bug"):
        connection_check(provider=fake, timeout=5)


def test_an_unknown_provider_is_a_configuration_problem(settings: Any) -> None:
    settings.INKLINE_AI_PROVIDER = "gpt"
    check = connection_check()
    assert not check.ok and check.provider == "gpt"
    [problem] = check.problems
    assert problem.code == "config"
    assert "unknown AI provider 'gpt'" in problem.message
    assert "INKLINE_AI_PROVIDER" in problem.fix


def test_a_provider_refusing_its_settings_is_a_configuration_problem(settings: Any) -> None:
    settings.INKLINE_AI_PROVIDER = "openai"
    settings.INKLINE_OPENAI_TIMEOUT = 0
    check = connection_check()
    assert not check.ok and check.provider == "openai"
    assert [p.code for p in check.problems] == ["config"]
    assert "timeout must be > 0" in check.problems[0].message
