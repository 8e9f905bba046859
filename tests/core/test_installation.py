"""The installation id: a random UUID made on first use, one row, the same on every call."""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, transaction

from inkline.core.installation import install_id
from inkline.core.models import Installation

pytestmark = pytest.mark.django_db


def test_made_once_and_kept() -> None:
    assert not Installation.objects.exists()
    first = install_id()
    assert uuid.UUID(first).version == 4
    assert install_id() == first
    assert list(Installation.objects.values_list("pk", flat=True)) == [1]


def test_a_second_row_is_refused_by_the_database() -> None:
    install_id()
    with pytest.raises(IntegrityError), transaction.atomic():
        Installation.objects.create(pk=2)
