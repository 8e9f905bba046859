"""Webhook signatures (pure): `Inkline-Signature: t=<unix seconds>,v1=<hex>`, where the hex
is HMAC-SHA256, keyed with the endpoint's secret, of `f"{t}.{body}"` (the body as sent, UTF-8).

A receiver recomputes it over the raw body and compares in constant time, and refuses a `t`
too far from its own clock (a replayed old delivery): README's "Verifying webhook signatures"
is this module's `verify`, written out.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "Inkline-Signature"
TOLERANCE_SECONDS = 300


def signature(secret: str, body: bytes, *, timestamp: int) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, *, timestamp: int) -> str:
    return f"t={timestamp},v1={signature(secret, body, timestamp=timestamp)}"


def verify(
    secret: str, body: bytes, header: str, *, now: int, tolerance: int = TOLERANCE_SECONDS
) -> bool:
    """True when `header` signs `body` with `secret` at a time within `tolerance` of `now`."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, body, timestamp=timestamp)
    return hmac.compare_digest(expected, parts.get("v1", ""))
