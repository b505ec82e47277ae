"""Time-bucketed spill files: order lines of every block, read back in time order.

Blocks of customers produce order lines all over the window, but the orders file is
sorted by time (order ids ascend in time). Each block appends its lines to the bucket
file of their time range (contiguous day ranges holding about the same expected number
of lines); afterwards the buckets are read back one at a time, in order, each sorted in
memory. Memory is bounded by one bucket (``LINES_PER_BUCKET`` lines), and the output does
not depend on the number of buckets (the sort key is total).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from orchestration.demo.orders import LINE_DTYPE, SECONDS_PER_DAY, sort_lines

LINES_PER_BUCKET = 1_000_000
MAX_BUCKETS = 500


def bucket_edges(demand: np.ndarray, expected_lines: int,
                 lines_per_bucket: int = LINES_PER_BUCKET) -> np.ndarray:
    """Bucket boundaries in seconds since the window start: ``edges[b] <= ts < edges[b + 1]``.

    Day ranges of about equal demand (orders follow demand), whole days, at most one
    bucket per day."""
    days = len(demand)
    n = int(min(max(1, -(-expected_lines // lines_per_bucket)), days, MAX_BUCKETS))
    cum = np.cumsum(demand) / demand.sum()
    cuts = np.unique(np.searchsorted(cum, np.arange(1, n) / n) + 1)
    cuts = cuts[(cuts > 0) & (cuts < days)]
    return np.concatenate([[0], cuts, [days]]).astype(np.int64) * SECONDS_PER_DAY


class LineSpill:
    """Append-only bucket files under ``directory``; :meth:`sorted_buckets` reads them back."""

    def __init__(self, directory: Path, edges: np.ndarray) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.edges = np.asarray(edges, dtype=np.int64)
        self.paths = [self.directory / f"bucket-{b:04d}.bin" for b in range(len(self.edges) - 1)]
        self._files: list[BinaryIO] = [p.open("wb") for p in self.paths]
        self.lines = 0

    def add(self, lines: np.ndarray) -> None:
        """Append ``lines`` (:data:`LINE_DTYPE`) to their buckets."""
        bucket = np.searchsorted(self.edges, lines["ts"], side="right") - 1
        bucket = np.clip(bucket, 0, len(self.paths) - 1)
        by_bucket = np.argsort(bucket, kind="stable")
        bounds = np.searchsorted(bucket[by_bucket], np.arange(len(self.paths) + 1))
        for b in range(len(self.paths)):
            if bounds[b + 1] > bounds[b]:
                lines[by_bucket[bounds[b]:bounds[b + 1]]].tofile(self._files[b])
        self.lines += len(lines)

    def sorted_buckets(self) -> Iterator[np.ndarray]:
        """Each bucket's lines in file order (:func:`orders.sort_lines`), first bucket first."""
        self.close()
        for path in self.paths:
            lines = np.fromfile(path, dtype=LINE_DTYPE)
            path.unlink()
            yield sort_lines(lines)

    def close(self) -> None:
        """Close the bucket files (idempotent)."""
        for fh in self._files:
            fh.close()
        self._files = []

    def __enter__(self) -> LineSpill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
        for path in self.paths:
            path.unlink(missing_ok=True)
