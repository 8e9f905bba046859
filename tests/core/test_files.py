"""Files written inside `removed_on_rollback()` go when the block raises, and only then."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage

from inkline.core.files import removed_on_rollback, written


class Refused(Exception):
    pass


def store(storage: FileSystemStorage, name: str) -> str:
    name = storage.save(name, ContentFile(b"png"))
    written(storage, name)
    return name


def test_a_block_that_raises_removes_its_files_and_the_error_goes_on(tmp_path: Path) -> None:
    storage = FileSystemStorage(location=tmp_path)
    with pytest.raises(Refused), removed_on_rollback():
        store(storage, "a.png")
        store(storage, "b.png")
        raise Refused
    assert list(tmp_path.iterdir()) == []


def test_a_block_that_ends_normally_keeps_its_files(tmp_path: Path) -> None:
    storage = FileSystemStorage(location=tmp_path)
    with removed_on_rollback():
        name = store(storage, "a.png")
    assert storage.exists(name)


def test_outside_a_block_the_caller_owns_the_file(tmp_path: Path) -> None:
    storage = FileSystemStorage(location=tmp_path)
    name = store(storage, "a.png")
    with pytest.raises(Refused), removed_on_rollback():
        raise Refused
    assert storage.exists(name)


def test_an_inner_block_hands_its_files_to_the_outer_one(tmp_path: Path) -> None:
    storage = FileSystemStorage(location=tmp_path)
    with pytest.raises(Refused), removed_on_rollback():
        with removed_on_rollback():
            inner = store(storage, "inner.png")
        assert storage.exists(inner)  # the inner block ended normally
        raise Refused  # ... but the outer one rolls back
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_cannot_be_removed_does_not_hide_the_error(tmp_path: Path) -> None:
    class Stubborn(FileSystemStorage):
        def delete(self, name: str) -> None:
            if name == "stuck.png":
                raise PermissionError(name)
            super().delete(name)

    storage = Stubborn(location=tmp_path)
    with pytest.raises(Refused), removed_on_rollback():
        store(storage, "stuck.png")
        store(storage, "other.png")
        raise Refused
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stuck.png"]
