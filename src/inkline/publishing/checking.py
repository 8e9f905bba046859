"""The publisher connection check as the surfaces run it (`inkline check-publisher SITE`,
`GET /api/v1/sites/{id}/publisher/check/`, the site page's "Test connection" button): the
site's publisher asked whether it can publish, with a configuration that cannot even build a
publisher reported as a problem instead of an exception. Nothing is stored."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from inkline import clock
from inkline.accounts.models import Site
from inkline.publishing.publishers import CheckProblem, PublisherCheck
from inkline.publishing.publishers.factory import get_publisher, publisher_problem
from inkline.publishing.publishers.static import StaticPublisher
from inkline.publishing.publishers.wordpress import WordPressPublisher


def publisher_check(site: Site) -> dict[str, Any]:
    """What `site`'s publisher found, as the API answers it: `ok` (articles can be
    published), `publisher`, `target`, what was learnt (`rest_root`, `permalinks`, `user`,
    `roles`, `can`) and `problems` (each with a `code`, a `message` and a `fix`)."""
    problem = publisher_problem(site)
    if site.publisher not in ("static", "wordpress"):
        result = PublisherCheck(publisher="none")
        result.problems.append(
            CheckProblem(
                "config",
                "No publisher is configured for this site: approved articles go nowhere.",
                "Choose WordPress or Markdown files as the site's publisher.",
            )
        )
    elif problem:
        result = PublisherCheck(publisher=site.publisher)
        result.problems.append(
            CheckProblem("config", problem, "Fill in the publisher settings of the site.")
        )
    else:
        publisher = get_publisher(site)
        assert isinstance(publisher, WordPressPublisher | StaticPublisher)
        result = publisher.check()
    facts: dict[str, Any] = {
        "rest_root": None,
        "permalinks": None,
        "user": None,
        "roles": [],
        "can": None,
        **result.facts,
    }
    return {
        "ok": result.ok,
        "publisher": result.publisher,
        "target": result.target,
        **facts,
        "problems": [asdict(p) for p in result.problems],
        "checked_at": clock.now(),
    }
