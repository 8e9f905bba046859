"""The stage registry: one entry per stage, in pipeline order, each naming real fields, the
model of its pending set and the operation it bills; everything that knows stages reads it."""

from __future__ import annotations

import pytest
from django.test import override_settings

from inkline.accounts.models import Site
from inkline.ai.types import OPERATIONS
from inkline.automation import models, selectors
from inkline.automation.models import AutomationConfig
from inkline.automation.retry import RETRYABLE_STAGES as RETRY_CHOICES
from inkline.automation.stages import (
    RETRYABLE_STAGES,
    STAGE_CLASSES,
    STAGE_LIMIT_FIELDS,
    STAGE_NAMES,
    STAGES,
    stage,
    stage_of_operation,
)

pytestmark = pytest.mark.django_db


def test_seven_stages_in_order_each_naming_real_config_fields() -> None:
    assert tuple(range(1, 8)) == STAGES
    fields = {f.name for f in AutomationConfig._meta.get_fields()}
    for number, entry in STAGE_CLASSES.items():
        assert entry.number == number
        assert entry.limit_field in fields and entry.enabled_field in fields
        assert entry.name and entry.noun and entry.description
    assert len({s.limit_field for s in STAGE_CLASSES.values()}) == 7


def test_each_stage_pending_set_is_of_its_model_and_ordered_oldest_first(site: Site) -> None:
    for entry in STAGE_CLASSES.values():
        pending = entry.pending(site.pk)
        assert pending.model is entry.model
        assert pending.query.order_by == ("id",)
        assert selectors.pending_queryset(entry.number, site.pk).model is entry.model


def test_every_operation_is_billed_by_exactly_one_stage() -> None:
    billed = [s.operation for s in STAGE_CLASSES.values() if s.operation]
    assert sorted(billed) == sorted(OPERATIONS)
    for operation in OPERATIONS:
        found = stage_of_operation(operation)
        assert found is not None and found.operation == operation
        pricing = found.pricing()
        assert pricing is not None and pricing.operation == operation
    assert stage(3).pricing() is None and stage(7).pricing() is None
    assert stage_of_operation("telepathy") is None


def test_clustering_is_priced_per_batch_of_keywords() -> None:
    with override_settings(INKLINE_CLUSTER_BATCH=250):
        pricing = stage(1).pricing()
    assert pricing is not None and pricing.batch == 250
    content = stage(4).pricing()
    assert content is not None and content.batch == 1


def test_an_unknown_stage_number_is_refused() -> None:
    with pytest.raises(ValueError, match="no stage 8"):
        stage(8)
    with pytest.raises(ValueError, match="no stage 0"):
        selectors.pending_queryset(0, 1)


def test_the_views_of_the_registry_agree_with_it() -> None:
    assert {n: s.name for n, s in STAGE_CLASSES.items()} == STAGE_NAMES
    assert {n: s.limit_field for n, s in STAGE_CLASSES.items()} == STAGE_LIMIT_FIELDS
    assert (models.STAGES, models.STAGE_NAMES) == (STAGES, STAGE_NAMES)
    # Approval counts no attempts: nothing of it to retry.
    assert RETRYABLE_STAGES == RETRY_CHOICES == (1, 2, 3, 4, 5, 6)
    config = AutomationConfig(max_images_per_run=9, stage_6_enabled=False)
    assert config.stage_limit(6) == 9 and not config.stage_enabled(6)
