"""This installation's id: a random UUID made once and kept in the database (not a file, so
every process of one installation, on any machine, reads the same one)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from inkline.core.models import Installation


def install_id() -> str:
    """The installation's UUID (as text), created on the first call; concurrent first calls
    agree on one (the loser of the insert reads the winner's)."""
    row = Installation.objects.filter(pk=1).first()
    if row is None:
        try:
            with transaction.atomic():
                row = Installation.objects.create(pk=1)
        except IntegrityError:
            row = Installation.objects.get(pk=1)
    return str(row.uuid)
