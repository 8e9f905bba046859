"""Which AI provider the engine uses: one cached instance per provider name and settings."""

from __future__ import annotations

import hashlib
import importlib
import threading
from typing import Any

from django.conf import settings

from inkline.ai.types import AIProvider

PROVIDERS = ("local", "openai")
MODULES = {"local": "inkline.ai.local", "openai": "inkline.ai.openai_provider"}

_cache: dict[tuple[object, ...], AIProvider] = {}
_lock = threading.Lock()


def get_provider(name: str | None = None) -> AIProvider:
    """The provider called `name`, by default `settings.INKLINE_AI_PROVIDER`.

    Instances are shared (providers are thread-safe) and rebuilt when their settings change.
    """
    name = provider_name(name)
    key = (name, _settings_fingerprint(settings, name))
    with _lock:
        provider = _cache.get(key)
        if provider is None:
            provider = _cache[key] = _build(name, settings)
        return provider


def provider_name(name: str | None = None) -> str:
    """`name` (by default `settings.INKLINE_AI_PROVIDER`) normalized; ValueError if unknown."""
    name = (name or settings.INKLINE_AI_PROVIDER or "").strip().lower()
    if name not in PROVIDERS:
        raise ValueError(f"unknown AI provider {name!r}: choose one of {', '.join(PROVIDERS)}")
    return name


def import_provider(name: str | None = None) -> None:
    """Import the provider's module and the libraries it loads (numpy and scikit-learn for
    `local`, the openai SDK otherwise) without building it: a worker pool's parent calls it
    so its children inherit them. An unknown name imports nothing (the run reports it)."""
    try:
        name = provider_name(name)
    except ValueError:
        return
    importlib.import_module(MODULES[name])


def reset_providers() -> None:
    """Forget the cached instances (tests)."""
    with _lock:
        _cache.clear()


def _build(name: str, settings: Any) -> AIProvider:
    # Each provider's module is imported by name only when chosen: `local` loads numpy and
    # scikit-learn, `openai` the openai SDK, and neither needs the other's libraries.
    module = importlib.import_module(MODULES[name])
    provider: AIProvider
    if name == "local":
        provider = module.LocalProvider(
            latency_ms=settings.INKLINE_LOCAL_AI_LATENCY_MS,
            failure_rate=settings.INKLINE_LOCAL_AI_FAILURE_RATE,
            seed=0,
            clusterer=settings.INKLINE_LOCAL_AI_CLUSTERER,
        )
    else:
        provider = module.OpenAIProvider.from_settings()
    return provider


def _settings_fingerprint(settings: Any, name: str) -> str:
    """A digest of the settings the provider is built from (secrets are not kept in clear)."""
    prefixes = ("INKLINE_LOCAL_AI_",) if name == "local" else ("INKLINE_OPENAI_", "OPENAI_")
    names = sorted(n for n in dir(settings) if n.startswith(prefixes))
    values = repr([(n, getattr(settings, n)) for n in names])
    return hashlib.sha256(values.encode("utf-8")).hexdigest()
