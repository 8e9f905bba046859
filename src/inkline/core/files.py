"""Files written inside a transaction that rolls back are removed with it.

A stage's write may store a file (an image) before the rows that name it commit. If the
item's transaction then rolls back (the item is gone, a constraint fails, the credit capture
is refused), the rows are undone by the database and the file must go too, or it is an orphan
nobody can reach. The engine wraps each item's transaction in `removed_on_rollback()`; a
service that stores a file inside it calls `written(storage, name)`.

    with removed_on_rollback(), transaction.atomic():
        image_file_store(...)        # calls written(storage, name)
        ...                          # anything raising here removes the file

Outside `removed_on_rollback()`, `written()` does nothing: the caller owns the file. A block
nested in another hands its files to the outer one when it ends normally, since the outer
block may still roll back. Put `removed_on_rollback()` around the outermost `atomic()`: a
block that exits normally inside a transaction that rolls back later cannot know it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.files.storage import Storage

log = logging.getLogger(__name__)

_local = threading.local()


def _stack() -> list[list[tuple[Storage, str]]]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def written(storage: Storage, name: str) -> None:
    """Record a file stored inside the current `removed_on_rollback()` block."""
    stack = _stack()
    if stack:
        stack[-1].append((storage, name))


@contextmanager
def removed_on_rollback() -> Iterator[None]:
    """Remove every file recorded with `written()` in this block if the block raises."""
    stack = _stack()
    files: list[tuple[Storage, str]] = []
    stack.append(files)
    try:
        yield
    except BaseException:
        stack.pop()
        for storage, name in files:
            try:
                storage.delete(name)
            except Exception:  # the error that rolled back matters more: log, go on
                log.warning("file %s not removed after a rollback", name, exc_info=True)
        raise
    stack.pop()
    if stack:  # the enclosing block may still roll back
        stack[-1].extend(files)
