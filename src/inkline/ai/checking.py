"""The AI connection check as the surfaces run it (`inkline check-ai`, the API endpoint, the
settings page's button): the configured provider's `check()`, bounded in time, with a
provider that cannot even be built reported as a problem instead of an exception."""

from __future__ import annotations

import threading

from django.conf import settings

from inkline.ai import registry
from inkline.ai.types import AICheck, AIError, AIProvider, CheckProblem


def connection_check(
    *, provider: AIProvider | None = None, timeout: float | None = None
) -> AICheck:
    """What the endpoint of `provider` (by default the configured one) can do.

    The endpoint is given `timeout` seconds (by default `INKLINE_AI_CHECK_TIMEOUT`): a check
    still going then is left to finish in the background, unrecorded, and the answer says
    the endpoint did not finish in time. Building the provider is not counted: it asks
    nothing of the endpoint, and in a process's first check it loads the provider's
    libraries (seconds for `local`'s numpy and scikit-learn on a busy machine), which is no
    fault of the endpoint. Never raises AIError."""
    timeout = settings.INKLINE_AI_CHECK_TIMEOUT if timeout is None else timeout
    if provider is None:
        try:
            provider = registry.get_provider()
        except Exception as exc:  # any settings error is the answer
            return _failed(
                settings.INKLINE_AI_PROVIDER,
                "",
                CheckProblem(
                    code="config",
                    message=f"The AI provider cannot be set up: {exc}",
                    fix="Correct INKLINE_AI_PROVIDER and the provider's settings (see the "
                    "README's Settings), then restart Inkline's processes.",
                ),
            )
    return _bounded(provider, timeout)


def _bounded(provider: AIProvider, timeout: float) -> AICheck:
    answer: list[AICheck] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            answer.append(provider.check(fresh=True))  # asked for now: never a kept answer
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    # A daemon thread: a check that outlives its bound never keeps the process alive.
    thread = threading.Thread(target=work, name="inkline-ai-check", daemon=True)
    thread.start()
    thread.join(timeout)
    base_url = str(getattr(provider, "base_url", "") or "")
    endpoint = base_url or f"the {provider.name} provider"
    if answer:
        return answer[0]
    if failure:
        exc = failure[0]
        if not isinstance(exc, AIError):
            raise exc
        return _failed(
            provider.name,
            base_url,
            CheckProblem(
                code="error",
                message=f"The connection check of {endpoint} failed: {exc}",
                fix="Check the provider's settings and that the server is running.",
            ),
        )
    return _failed(
        provider.name,
        base_url,
        CheckProblem(
            code="timeout",
            message=f"{endpoint} did not finish the connection check within {timeout:g} s.",
            fix="Check that the server is running and not overloaded; a slow server may need "
            "a longer INKLINE_AI_CHECK_TIMEOUT.",
        ),
    )


def _failed(provider: str, base_url: str, problem: CheckProblem) -> AICheck:
    return AICheck(
        provider=provider,
        reachable=False,
        auth=False,
        model=None,
        structured_output=None,
        images=False,
        problems=(problem,),
        base_url=base_url,
    )
