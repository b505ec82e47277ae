"""Find duplicate natural keys in a file of any size in bounded memory (first occurrence wins).

Why a spill and not an in-memory set or SQL: remembering every distinct key of a file costs
memory in proportion to the file (24 bytes a key: 360 MB at 15M keys), and finding the
duplicates in Postgres after the COPY (a window or a GROUP BY over the file's rows) cost
~2 s per million rows on a 2-core machine, more than the whole load's budget.  So while the
file streams, every valid row's key fingerprint, line number and span (physical lines) is
appended to one of 64 partitions chosen by the fingerprint's top bits, kept in memory up to
``memory_bytes`` and then flushed to temporary files.  After the last chunk each partition is
read back in line order and checked with :class:`DuplicateTracker`; a partition too large for
``partition_bytes`` is first split again by the next bits (recursively), so memory stays
bounded whatever the file's size or its number of distinct keys.  Equal keys always land in the
same partition, and each partition keeps line order, so the first valid occurrence wins exactly
as in a single in-memory pass.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from orchestration.ingest.keys import DuplicateTracker

RECORD = np.dtype([("k1", "<u8"), ("k2", "<u8"), ("line", "<i8"), ("span", "<u4")])
DUPLICATE = np.dtype([("line", "<i8"), ("span", "<u4"), ("first", "<i8")])
FANOUT_BITS = 6  # 64 partitions per level
_LEVELS = 64 // FANOUT_BITS  # after that, all keys of a partition share their whole first fingerprint


@dataclass(frozen=True)
class KeyRows:
    """The valid rows of one chunk: absolute line numbers (ascending), spans and key fingerprints."""

    lines: np.ndarray
    spans: np.ndarray
    k1: np.ndarray
    k2: np.ndarray

    def records(self) -> np.ndarray:
        """The rows as :data:`RECORD` structs."""
        out = np.empty(len(self.lines), dtype=RECORD)
        out["k1"], out["k2"], out["line"], out["span"] = self.k1, self.k2, self.lines, self.spans
        return out


def _partition_of(k1: np.ndarray, level: int) -> np.ndarray:
    shift = np.uint64(max(64 - FANOUT_BITS * (level + 1), 0))
    return ((k1 >> shift) & np.uint64((1 << FANOUT_BITS) - 1)).astype(np.uint8)  # uint8: radix sort


def _split(records: np.ndarray, level: int) -> list[np.ndarray]:
    """``records`` split by partition at ``level``, each part in its original (line) order."""
    part = _partition_of(records["k1"], level)
    order = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange((1 << FANOUT_BITS) + 1))
    ordered = records[order]
    return [ordered[bounds[p] : bounds[p + 1]] for p in range(1 << FANOUT_BITS)]


class KeySpill:
    """Collects the key fingerprints of a file's valid rows; :meth:`duplicates` resolves them."""

    def __init__(self, memory_bytes: int = 16 << 20, partition_bytes: int = 16 << 20,
                 directory: str | Path | None = None) -> None:
        self.memory_bytes = memory_bytes
        self.partition_bytes = partition_bytes
        self._parent = directory
        self._dir: Path | None = None
        self._buffers: list[list[np.ndarray]] = [[] for _ in range(1 << FANOUT_BITS)]
        self._buffered = 0
        self._on_disk = [0] * (1 << FANOUT_BITS)  # records flushed per partition

    def __enter__(self) -> KeySpill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Delete the temporary files."""
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def _path(self, name: str) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="keyspill-", dir=self._parent))
        return self._dir / name

    def add(self, rows: KeyRows) -> None:
        """Append one chunk's valid rows (chunks in file order)."""
        if len(rows.lines) == 0:
            return
        for p, part in enumerate(_split(rows.records(), 0)):
            if len(part):
                self._buffers[p].append(part)
        self._buffered += len(rows.lines) * RECORD.itemsize
        if self._buffered > self.memory_bytes:
            for p in range(1 << FANOUT_BITS):
                self._flush(p)

    def _flush(self, p: int) -> None:
        """Append partition ``p``'s buffered records to its file."""
        parts = self._buffers[p]
        if not parts:
            return
        with open(self._path(f"p{p}"), "ab") as fh:
            for part in parts:
                part.tofile(fh)
                self._on_disk[p] += len(part)
                self._buffered -= part.nbytes
        parts.clear()

    def duplicates(self) -> Iterator[np.ndarray]:
        """Blocks of :data:`DUPLICATE` rows (line, span, line of the first occurrence), partition by partition."""
        for p in range(1 << FANOUT_BITS):
            if self._on_disk[p] == 0:
                parts, self._buffers[p] = self._buffers[p], []
                records = np.concatenate(parts) if parts else np.empty(0, dtype=RECORD)
                yield from self._resolve_memory(records, 1)
                continue
            self._flush(p)
            yield from self._resolve_file(self._path(f"p{p}"), self._on_disk[p], 1)

    def _resolve_memory(self, records: np.ndarray, level: int) -> Iterator[np.ndarray]:
        if len(records) == 0:
            return
        if len(records) * RECORD.itemsize > self.partition_bytes and level < _LEVELS:
            for part in _split(records, level):
                yield from self._resolve_memory(part, level + 1)
            return
        yield from self._check(DuplicateTracker(), records)

    def _resolve_file(self, path: Path, count: int, level: int) -> Iterator[np.ndarray]:
        """Resolve one partition file: in memory when small, else split by the next bits first."""
        block = max(self.partition_bytes // RECORD.itemsize, 1)
        if count <= block:
            records = np.fromfile(path, dtype=RECORD)
            path.unlink()
            yield from self._resolve_memory(records, level)
            return
        if level >= _LEVELS:  # every key here shares its first fingerprint: few distinct keys
            tracker = DuplicateTracker()
            with open(path, "rb") as fh:
                while len(records := np.fromfile(fh, dtype=RECORD, count=block)):
                    yield from self._check(tracker, records)
            path.unlink()
            return
        counts = [0] * (1 << FANOUT_BITS)
        outs: dict[int, BinaryIO] = {}  # opened on first use: most splits fill few parts
        try:
            with open(path, "rb") as fh:
                while len(records := np.fromfile(fh, dtype=RECORD, count=block)):
                    for p, part in enumerate(_split(records, level)):
                        if len(part):
                            if p not in outs:
                                outs[p] = open(path.with_name(f"{path.name}_{p}"), "wb")
                            part.tofile(outs[p])
                            counts[p] += len(part)
        finally:
            for out in outs.values():
                out.close()
        path.unlink()
        for p in sorted(outs):
            yield from self._resolve_file(path.with_name(f"{path.name}_{p}"), counts[p], level + 1)

    @staticmethod
    def _check(tracker: DuplicateTracker, records: np.ndarray) -> Iterator[np.ndarray]:
        dup, first = tracker.check(
            np.ascontiguousarray(records["line"]), np.ascontiguousarray(records["k1"]),
            np.ascontiguousarray(records["k2"]),
        )
        if dup.any():
            out = np.empty(int(dup.sum()), dtype=DUPLICATE)
            out["line"], out["span"], out["first"] = records["line"][dup], records["span"][dup], first[dup]
            yield out


class DuplicateSpool:
    """The duplicates a :class:`KeySpill` found, kept in a spooled temporary file (memory up to 8 MB)."""

    def __init__(self, blocks: Iterator[np.ndarray]) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=8 << 20)
        self.count = 0
        for block in blocks:
            self._file.write(block.tobytes())
            self.count += len(block)

    def blocks(self, rows: int = 65_536) -> Iterator[np.ndarray]:
        """The duplicates again, in blocks of at most ``rows``."""
        self._file.seek(0)
        while data := self._file.read(rows * DUPLICATE.itemsize):
            yield np.frombuffer(data, dtype=DUPLICATE)

    def close(self) -> None:
        """Free the file."""
        self._file.close()
