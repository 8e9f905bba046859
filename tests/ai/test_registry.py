"""Choosing the AI provider by name."""

from __future__ import annotations

from typing import Any

import pytest

from inkline.ai import registry
from inkline.ai.registry import get_provider, import_provider, provider_name, reset_providers


def test_names_are_normalized_and_unknown_ones_refused(settings: Any) -> None:
    settings.INKLINE_AI_PROVIDER = "  Local "
    assert provider_name() == "local"
    assert provider_name("OpenAI") == "openai"
    with pytest.raises(ValueError, match="choose one of local, openai"):
        provider_name("gpt")


def test_importing_a_provider_builds_nothing_and_an_unknown_name_imports_nothing(
    settings: Any,
) -> None:
    reset_providers()
    settings.INKLINE_AI_PROVIDER = "local"
    import_provider()  # the module and its libraries, no instance
    import_provider("gpt")  # the run, not the worker's start, reports a wrong name
    assert not registry._cache
    provider = get_provider()
    assert type(provider).__name__ == "LocalProvider"
    assert get_provider() is provider
