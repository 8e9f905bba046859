"""Helper run in a subprocess against the database the worker processes use.

    python -m tests.integration.probe setup --tasks N --credits C
    python -m tests.integration.probe start-many N SITE_ID TOKEN
    python -m tests.integration.probe broker-put N SIZE | broker-get SECONDS

Each command prints one JSON document. The environment (INKLINE_DATA_DIR, DATABASE_URL,
CELERY_BROKER_URL) says which database and broker.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from collections import Counter
from typing import Any


def setup(args: argparse.Namespace) -> dict[str, Any]:
    from inkline.automation.sites import account_create, site_create
    from tests.factories import add_tasks, only_stages

    account, token = account_create(
        name="Integration", username="integ", password="pw", credits=args.credits
    )
    site = site_create(account=account, name="integ")
    add_tasks(site, args.tasks)
    only_stages(site, *args.stages)
    return {"account_id": account.pk, "site_id": site.pk, "token": token.key}


def start_many(args: argparse.Namespace) -> dict[str, Any]:
    """N threads POST the run-start endpoint at the same instant, through the whole stack."""
    from django.db import connections
    from django.test import Client

    barrier = threading.Barrier(args.n)
    answers: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()

    def post() -> None:
        client = Client(HTTP_AUTHORIZATION=f"Token {args.token}")
        try:
            barrier.wait(timeout=30)
            response = client.post(f"/api/v1/sites/{args.site_id}/automation/runs/")
            with lock:
                answers.append((response.status_code, response.json()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(args.n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    statuses = Counter(code for code, _ in answers)
    created = [body["run_id"] for code, body in answers if code == 201]
    refused = {body.get("run_id") for code, body in answers if code == 409}
    return {
        "statuses": {str(k): v for k, v in statuses.items()},
        "created": created,
        "refused_point_to": sorted(r for r in refused if r),
        "codes": sorted({body.get("code", "") for code, body in answers if code != 201}),
    }


def _queue() -> Any:
    """The embedded broker's queue `probe`, configured as the settings configure Celery's."""
    from django.conf import settings
    from kombu import Connection

    conn = Connection(
        settings.CELERY_BROKER_URL,
        transport=settings.CELERY_BROKER_TRANSPORT,
        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    )
    return conn.SimpleQueue("probe")


def broker_put(args: argparse.Namespace) -> dict[str, Any]:
    queue = _queue()
    pad = "x" * args.size
    for i in range(args.n):
        queue.put({"i": i, "pad": pad})
    return {"sent": args.n}


def broker_get(args: argparse.Namespace) -> dict[str, Any]:
    """Take messages until none came for `idle` seconds; report what arrived and what broke."""
    import time

    queue = _queue()
    got: list[int] = []
    errors: list[str] = []
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < args.idle:
        try:
            message = queue.get(timeout=0.2)
        except queue.Empty:
            continue
        except Exception as exc:  # a message that cannot be read is a lost message
            errors.append(f"{type(exc).__name__}: {exc}"[:200])
            continue
        message.ack()
        got.append(int(message.payload["i"]))
        idle_since = time.monotonic()
    return {"got": got, "errors": errors}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inkline.settings")
    import django

    django.setup()
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("setup")
    p.add_argument("--tasks", type=int, default=8)
    p.add_argument("--credits", type=int, default=100_000)
    p.add_argument("--stages", type=int, nargs="+", default=[4, 5])
    p.set_defaults(func=setup)
    p = sub.add_parser("start-many")
    p.add_argument("n", type=int)
    p.add_argument("site_id", type=int)
    p.add_argument("token")
    p.set_defaults(func=start_many)
    p = sub.add_parser("broker-put")
    p.add_argument("n", type=int)
    p.add_argument("size", type=int)
    p.set_defaults(func=broker_put)
    p = sub.add_parser("broker-get")
    p.add_argument("idle", type=float)
    p.set_defaults(func=broker_get)
    args = parser.parse_args()
    print(json.dumps(args.func(args)))


if __name__ == "__main__":
    main()
