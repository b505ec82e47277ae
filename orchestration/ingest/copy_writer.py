"""A COPY writer that sends data from a worker thread through a queue of bounded size.

psycopg's ``QueuedLibpqWriter`` lets the loader parse the next chunk while a thread sends the
previous one, but its queue holds up to 1,024 blocks of 128 KB: when Postgres is slower than
the parser (usual on 2 cores) that is 128 MB of waiting COPY data, a third of the loader's
peak memory on a 15M-row file.  This writer queues whole writes (the loader writes one
~4 MB chunk at a time) and holds at most ``max_writes`` of them (4 by default, ~20 MB): the
parser waits instead of buffering more, and hands over one chunk at a time rather than 128 KB
blocks (a full queue of small blocks costs a thread switch per block).  The worker thread
cuts them into libpq-sized blocks (``LibpqWriter.write``).
"""

from __future__ import annotations

import threading
from queue import Queue
from typing import Any

from psycopg import Cursor
from psycopg.copy import LibpqWriter


class BoundedQueueWriter(LibpqWriter):
    """``LibpqWriter`` fed by a worker thread; at most ``max_writes`` writes wait in between."""

    def __init__(self, cursor: Cursor[Any], max_writes: int = 4) -> None:
        super().__init__(cursor)
        self._blocks: Queue[Any] = Queue(maxsize=max_writes)
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
        """Queue ``data`` for the worker thread; waits while the queue is full."""
        if self._sender is None:
            self._sender = threading.Thread(target=self._send, name="copy-sender", daemon=True)
            self._sender.start()
        if self._send_error is not None:
            raise self._send_error
        if len(data):  # an empty write would read as the end
            self._blocks.put(data)

    def finish(self, exc: BaseException | None = None) -> None:
        """Wait until every block is sent, then end the COPY."""
        self._blocks.put(b"")
        if self._sender is not None:
            self._sender.join()
            self._sender = None
        if self._send_error is not None:
            raise self._send_error
        super().finish(exc)
