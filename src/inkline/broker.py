"""The embedded broker: kombu's filesystem transport, made safe between processes.

kombu's own transport creates a message file and then writes it, while consumers claim any
file they see by moving it away (by default into the system temp dir, which may be another
file system: a copy, not an atomic rename). A consumer can claim a file the producer has not
finished writing and fail to decode it: the message is lost. Under load (several processes,
large messages) most messages were lost this way. Here a message is written under a name
consumers ignore and renamed into place once complete, and a consumer claims a message with
one atomic rename inside the broker directory, so exactly one consumer reads it, whole.

The database stays the queue of record (a lost message costs one reconciler tick); this
keeps the embedded default from losing messages in the first place.
"""

from __future__ import annotations

import os
import uuid
from queue import Empty
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads


class Channel(filesystem.Channel):
    # (the stubs of kombu name this parameter differently in the two base classes)
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = f"{final}.part"  # not "<queue>.msg": consumers skip it
        try:
            with open(partial, "wb") as fh:
                fh.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        suffix = f"{queue}.msg"
        claimed_dir = self.processed_folder
        os.makedirs(claimed_dir, exist_ok=True)
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != suffix:
                continue
            claimed = os.path.join(claimed_dir, name)
            try:  # one atomic rename: exactly one consumer gets the message
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except OSError:
                continue  # another consumer took it
            try:
                with open(claimed, "rb") as fh:
                    payload = fh.read()
            finally:
                if not self.store_processed:
                    os.unlink(claimed)
            return loads(bytes_to_str(payload))
        raise Empty()


class Transport(filesystem.Transport):
    Channel = Channel

    # Celery's worker loop for a polled transport waits for messages 2 s at a time and looks
    # at its shutdown flag in between: a SIGTERM took up to 2 s to be noticed.
    MAX_WAIT = 0.5

    # (the stubs of kombu give this method different parameters in the two base classes)
    def drain_events(self, connection: Any, timeout: float | None = None) -> None:  # type: ignore[override]
        if timeout is not None:
            timeout = min(timeout, self.MAX_WAIT)
        super().drain_events(connection, timeout=timeout)
