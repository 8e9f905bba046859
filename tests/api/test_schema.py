"""Property-based conformance of the whole API to its own OpenAPI schema (schemathesis).

Every operation of `/api/schema/` is called in-process through the WSGI app, as account A's
owner, against a world where every kind of object exists, in schemathesis' three phases: the
schema's examples, its coverage cases (each bound, each enum value, each missing or mistyped
field) and EXAMPLES generated ones, valid and invalid. Path ids mostly point at A's real
objects (so the success paths run) and otherwise stay random (the 404 paths). Every check
schemathesis has runs on every answer: no 5xx; status code, content type, headers and body
as the schema declares; schema-violating input refused (4xx); schema-valid input accepted;
unsupported methods 405 with `Allow`; no credentials 401. Derandomized: the same cases on
every run.

Two checks are switched off where the contract itself makes them wrong, each with its reason
below (rules across fields or against stored data, which a JSON schema cannot state).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from inkline.wsgi import application
from tests.api.conftest import World
from tests.api.test_isolation import path_values

pytestmark = pytest.mark.django_db

# Generated cases per operation, on top of the examples and coverage phases (which bring
# their own, more for bigger bodies); derandomized, so a fixed set.
EXAMPLES = 25
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
# 413 (a body over its limit) and 414 (a URL over 4,000 characters) are refusals the schema
# declares on every operation; schemathesis' lists of expected refusals lack them, so a
# generated query string long enough to be refused with 414 would count as a failure.
_checks = schema.config.checks
for _check in (_checks.negative_data_rejection, _checks.positive_data_acceptance):
    _check.expected_statuses = [*_check.expected_statuses, "413", "414"]

# Schema-valid input these operations refuse (400) by contract.
VALID_BUT_REFUSED = {
    "POST /api/v1/auth/token/": "wrong credentials are 400 (DRF's token endpoint)",
    "POST /api/v1/sites/": "a site name is unique per account; the publisher URL must be a "
    "public http(s) address",
    "PATCH /api/v1/sites/{site_id}/": "the same: unique names, public http(s) URLs",
    "PATCH /api/v1/sites/{site_id}/publishing/settings/": "stagger_end_time after "
    "stagger_start_time; time-slot mode needs a time slot",
    "PUT /api/v1/billing/sites/{site_id}/ai-budget/": "custom percentages sum to exactly 100",
    "POST /api/v1/sites/{site_id}/keywords/import/": "a CSV file needs a `keyword` column",
    "POST /api/v1/webhooks/": "the webhook URL must resolve to a public address (SSRF guard)",
    "PATCH /api/v1/webhooks/{webhook_id}/": "the same: a public webhook URL",
    "POST /api/v1/sites/{site_id}/refresh/": "at least one of older_than_days, seo_below and "
    "ids says what to refresh",
}
# Schema-violating input these operations answer with 200 by contract.
INVALID_BUT_ANSWERED = {
    "POST /api/v1/sites/{site_id}/keywords/import/": "bad rows are reported line by line in "
    "the 200 answer (API.md), nothing imported",
}


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """Requests through the real WSGI app end with `close_old_connections`, which would close
    the test's transaction; Django's own test client disconnects it the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _negated(case: Any, location: ParameterLocation) -> bool:
    component = case.meta.components.get(location) if case.meta else None
    return component is not None and component.mode.is_negative


@schema.parametrize()
# pytest 9 gives schemathesis' items of an unparametrized test one node id for all operations,
# and xdist's loadgroup scheduler, keyed by node id, would then run a single operation: the
# parameter makes each id unique (`…[GET /api/v1/sites/][owner]`).
@pytest.mark.parametrize("member", ["owner"])
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms_to_the_schema(case: Any, world: World, member: str) -> None:
    # Two thirds of the examples address A's real object, the rest a random id; a path made
    # invalid on purpose stays as generated.
    real = {} if _negated(case, ParameterLocation.PATH) else path_values(world)
    for name, value in list((case.path_parameters or {}).items()):
        if name in real and zlib.crc32(str(value).encode()) % 3:
            # As a JSON value: schemathesis validates the case again (an import job's UUID
            # is a string there).
            real_value = real[name]
            case.path_parameters[name] = (
                real_value if isinstance(real_value, int) else str(real_value)
            )
    label = f"{case.method} {case.path}"
    excluded = []
    if label in VALID_BUT_REFUSED:
        excluded.append(positive_data_acceptance)
    if label in INVALID_BUT_ANSWERED:
        excluded.append(negative_data_rejection)
    token = getattr(world, member)
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, excluded_checks=excluded)


def test_the_exceptions_name_real_operations() -> None:
    """A renamed or removed operation must leave the lists above, not linger unchecked."""
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {f"{op.method.upper()} {op.path}" for op in operations}
    assert set(VALID_BUT_REFUSED) | set(INVALID_BUT_ANSWERED) <= labels
