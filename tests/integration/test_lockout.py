"""Login lockouts and the token throttle hold across web processes: two `inkline web` servers on
one database (and, in production, with the shared cache in Redis), the client switching
between them at every request. The servers stand behind a pretend proxy
(INKLINE_TRUSTED_PROXIES=1), so each test is a client of its own X-Forwarded-For address.
The lockout's end is tested in-process with time-machine (tests/api/test_login_lockout.py)."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import require
from tests.integration.stack import REDIS_URL, Stack, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # it brings its own databases

TOKEN_RATE = 12  # a minute per address at the token endpoint (the lockout test sends 12)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code < 500
    except requests.RequestException:
        return False


@pytest.fixture(scope="module", params=["embedded", "postgres-redis"])
def servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[str]]:
    """Two web servers (one process each) of one stack; the account `ada` / `right`."""
    production = request.param == "postgres-redis"
    tmp_path = tmp_path_factory.mktemp(request.param)
    extra = {"INKLINE_TOKEN_THROTTLE": f"{TOKEN_RATE}/min", "INKLINE_TRUSTED_PROXIES": "1"}
    if production:
        require("postgres")
        require("redis")
        extra["INKLINE_CACHE_URL"] = REDIS_URL  # the shared cache in Redis, not the database
    with Stack(tmp_path, production=production, extra_env=extra) as stack:
        made = stack.cli("create-account", "Acme", "--username", "ada", "--password", "right")
        assert made.returncode == 0, made.stderr
        urls = []
        try:
            for n in range(2):  # one after the other: each collects the static files first
                port = free_port()
                stack.spawn(f"web-{n}", "web", "--port", str(port), "--workers", "1")
                url = f"http://127.0.0.1:{port}"
                wait_for(f"web server {n}", lambda u=url: answers(f"{u}/login/"), timeout=60)
                urls.append(url)
            yield urls
        except BaseException:
            print(stack.logs())
            raise


def token(url: str, password: str, client: str) -> requests.Response:
    return requests.post(
        f"{url}/api/v1/auth/token/",
        data={"username": "ada", "password": password},
        headers={"X-Forwarded-For": client},
        timeout=10,
    )


def form_login(url: str, password: str, client: str) -> requests.Response:
    browser = requests.Session()
    browser.headers["X-Forwarded-For"] = client
    page = browser.get(f"{url}/login/", timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert csrf, page.text[:500]
    return browser.post(
        f"{url}/login/",
        data={"username": "ada", "password": password, "csrfmiddlewaretoken": csrf[1]},
        allow_redirects=False,
        timeout=10,
    )


def test_the_token_throttle_counts_every_process(servers: list[str]) -> None:
    client = "203.0.113.1"
    statuses = [token(servers[n % 2], "right", client).status_code for n in range(TOKEN_RATE + 1)]
    assert statuses[:TOKEN_RATE] == [200] * TOKEN_RATE
    assert statuses[TOKEN_RATE] == 429  # per process, each would have allowed all of them
    assert token(servers[0], "right", "203.0.113.99").status_code == 200  # another client


def test_the_eleventh_wrong_password_is_refused_across_processes(servers: list[str]) -> None:
    first, second = servers
    client = "203.0.113.2"
    statuses = [token(servers[n % 2], f"wrong-{n}", client).status_code for n in range(9)]
    assert statuses == [400] * 9  # five on one server, four on the other
    tenth = token(second, "wrong-9", client)
    assert tenth.status_code == 429
    assert tenth.json()["code"] == "locked_out"
    assert int(tenth.headers["Retry-After"]) > 0
    eleventh = token(first, "wrong-10", client)
    assert eleventh.status_code == 429
    right = token(second, "right", client)
    assert right.status_code == 429  # the right password waits too
    form = form_login(first, "right", "203.0.113.3")  # the username is locked from anywhere
    assert form.status_code == 429
    assert "Too many failed login attempts" in form.text
    assert "sessionid" not in form.cookies
