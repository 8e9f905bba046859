"""A site's publisher, built from its (decrypted) configuration, or why it cannot be."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from inkline.accounts.models import Site
from inkline.core.installation import install_id
from inkline.core.outbound import UnsafeTarget, check_url
from inkline.publishing.publishers import Publisher, PublishError
from inkline.publishing.publishers.static import StaticPublisher
from inkline.publishing.publishers.wordpress import WordPressPublisher
from inkline.publishing.webimage import FORMATS


def publisher_problem(site: Site) -> str:
    """Why `site` cannot publish at all ("" when it can): shown as the unscheduled reason."""
    config = site.publisher_config or {}
    if site.publisher == "static":
        layout = config.get("layout", "hugo")
        return "" if layout in ("hugo", "jekyll") else f"Unknown static layout '{layout}'."
    if site.publisher == "wordpress":
        secrets = site.secrets()
        missing = []
        if not (config.get("url") or site.url):
            missing.append("url")
        if not config.get("username"):
            missing.append("username")
        if not (secrets.get("application_password") or secrets.get("password")):
            missing.append("application_password")
        if missing:
            return f"The WordPress publisher needs {', '.join(missing)} in publisher_config."
        if config.get("image_format", "webp") not in FORMATS:
            return "The WordPress publisher's image_format is 'webp' or 'jpeg'."
        return ""
    return "No publisher is configured for this site."


def publisher_target(site: Site) -> tuple[str, str] | None:
    """The address `site`'s publisher contacts and the field it comes from (`"publisher_config"`
    for its `url` key, else `"url"`, the site's own); None when the publisher contacts none
    (the static publisher writes files)."""
    if site.publisher != "wordpress":
        return None
    configured = (site.publisher_config or {}).get("url")
    if configured:
        return "publisher_config", str(configured)
    return ("url", site.url) if site.url else None


def target_errors(site: Site, *, before: tuple[str, str] | None) -> dict[str, list[str]]:
    """Field errors (DRF style) when `site`'s publisher target, new since `before`, is an
    address the outbound guard refuses (loopback, private, link-local, cloud metadata …;
    private ones are allowed with INKLINE_ALLOW_PRIVATE_TARGETS). An unchanged target is
    not checked again, and a name that does not resolve now is accepted: publishing checks
    every address again before it connects."""
    target = publisher_target(site)
    if target is None or (before is not None and target[1] == before[1]):
        return {}
    field, url = target
    try:
        check_url(url)
    except UnsafeTarget as exc:
        subject = "'url'" if field == "publisher_config" else "The URL"
        return {field: [f"{subject} cannot be a publisher's address: {exc.reason}"]}
    except OSError:
        return {}
    return {}


def get_publisher(site: Site) -> Publisher:
    """The publisher of `site`, built from its (decrypted) configuration."""
    problem = publisher_problem(site)
    if problem:
        raise PublishError(problem, retryable=False)
    config = site.publisher_config or {}
    if site.publisher == "static":
        return StaticPublisher(
            root=Path(settings.SITE_OUTPUT_DIR) / str(site.pk),
            base_url=site.url,
            layout=str(config.get("layout", "hugo")),
        )
    secrets = site.secrets()
    categories = config.get("categories") or []
    return WordPressPublisher(
        base_url=str(config.get("url") or site.url),
        username=str(config["username"]),
        password=str(secrets.get("application_password") or secrets.get("password")),
        install_id=install_id(),
        categories=tuple(str(c) for c in categories) if isinstance(categories, list) else (),
        timeout=float(config.get("timeout", 20)),
        image_format=str(config.get("image_format", "webp")),
    )
