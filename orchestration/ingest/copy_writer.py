"""A COPY writer that sends data from a worker thread through a queue of bounded size.

psycopg's ``QueuedLibpqWriter`` lets the loader parse the next chunk while a thread sends the
previous one, but its queue holds up to 1,024 blocks of 128 KB: when Postgres is slower than
the parser (usual on 2 cores) that is 128 MB of waiting COPY data, a third of the loader's
peak memory on a 15M-row file.  This writer does the same with a queue of ``max_bytes``
(16 MB by default, three to four 4 MB chunks): the parser waits instead of buffering more.
"""

from __future__ import annotations

import threading
from queue import Queue
from typing import Any

from psycopg import Cursor
from psycopg.copy import LibpqWriter

BLOCK = 128 << 10  # psycopg's own block size for libpq (bigger blocks make libpq slow)


class BoundedQueueWriter(LibpqWriter):
    """``LibpqWriter`` fed by a worker thread; at most ``max_bytes`` of data wait in between."""

    def __init__(self, cursor: Cursor[Any], max_bytes: int = 16 << 20) -> None:
        super().__init__(cursor)
        self._blocks: Queue[bytes] = Queue(maxsize=max(2, max_bytes // BLOCK))
        self._sender: threading.Thread | None = None
        self._send_error: BaseException | None = None

    def _send(self) -> None:
        try:
            while data := self._blocks.get():
                super().write(data)
        except BaseException as exc:  # re-raised in the caller's thread
            self._send_error = exc
            while self._blocks.get():  # keep draining, or write() would block forever
                pass

    def write(self, data: Any) -> None:
        """Queue ``data`` in 128 KB blocks; blocks while the queue is full."""
        if self._sender is None:
            self._sender = threading.Thread(target=self._send, name="copy-sender", daemon=True)
            self._sender.start()
        if self._send_error is not None:
            raise self._send_error
        data = bytes(data)
        for i in range(0, len(data), BLOCK):
            self._blocks.put(data[i : i + BLOCK])

    def finish(self, exc: BaseException | None = None) -> None:
        """Wait until every block is sent, then end the COPY."""
        self._blocks.put(b"")
        if self._sender is not None:
            self._sender.join()
            self._sender = None
        if self._send_error is not None:
            raise self._send_error
        super().finish(exc)
