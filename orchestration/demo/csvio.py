"""Deterministic streaming CSV writing: valid rows chunk by chunk, planted rows spliced in."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from orchestration.demo.badrows import BadRow, PlannedRow, format_row


@dataclass(frozen=True)
class WriteResult:
    """Data rows written (header excluded), sha256 of the file, (line number, row) per planted row."""

    rows: int
    sha256: str
    bad_lines: list[tuple[int, BadRow]] = field(default_factory=list)


def _csv_line(fields: list[str]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(fields)
    return buf.getvalue().encode("utf-8")


def _rows_text(frame: pd.DataFrame, lo: int, hi: int) -> bytes:
    if hi <= lo:
        return b""
    text = frame.iloc[lo:hi].to_csv(index=False, header=False, float_format="%.2f",
                                    lineterminator="\n")
    return text.encode("utf-8")


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class CsvSink:
    """Write a CSV file from chunks of valid rows, with planned bad rows spliced in.

    ``write(frame)`` appends the next valid rows (their ``columns``); a planned row with
    ``after = i`` goes right after valid row ``i`` (0-based over all chunks), built from
    the fields of its template row. Floats are written with 2 decimals, line ends are
    ``\\n``; gzip output has no name and mtime 0, so the same input always gives the same
    bytes. The file is written to a temporary name and renamed on :meth:`close`
    (readers never see a half-written file).
    """

    def __init__(self, path: Path, columns: list[str], planned: list[PlannedRow],
                 gzip_level: int | None = None) -> None:
        self.path, self.columns = Path(path), list(columns)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(f".{self.path.name}.tmp")
        self._raw: BinaryIO = self._tmp.open("wb")
        self._out: BinaryIO = (gzip.GzipFile(filename="", mode="wb", fileobj=self._raw,  # type: ignore[assignment]
                                             compresslevel=gzip_level, mtime=0)
                               if gzip_level else self._raw)
        self._planned = sorted(planned, key=lambda r: r.after)
        self._next = 0  # index of the next planned row to place
        self._wanted = {r.template for r in planned}
        self._templates: dict[int, list[str]] = {}
        self.valid_rows = 0
        self._line = 2  # file line of the next row (line 1 = header)
        self.bad_lines: list[tuple[int, BadRow]] = []
        self._out.write(_csv_line(self.columns))

    def write(self, frame: pd.DataFrame) -> None:
        """Append the next valid rows (any other columns of ``frame`` are ignored)."""
        n = len(frame)
        if n == 0:
            return
        frame = frame[self.columns]
        offset = self.valid_rows
        for t in [t for t in self._wanted if offset <= t < offset + n]:
            self._templates[t] = format_row(frame, t - offset, self.columns)
            self._wanted.discard(t)
        done = 0
        while self._next < len(self._planned) and self._planned[self._next].after < offset + n:
            row = self._planned[self._next]
            upto = max(row.after + 1 - offset, done)
            self._out.write(_rows_text(frame, done, upto))
            self._line += upto - done
            done = upto
            bad = row.build(self._templates[row.template])
            self._out.write(_csv_line(bad.fields))
            self.bad_lines.append((self._line, bad))
            self._line += 1
            self._next += 1
        self._out.write(_rows_text(frame, done, n))
        self._line += n - done
        self.valid_rows += n

    def close(self) -> WriteResult:
        """Finish the file (every planned row must have been placed) and rename it."""
        if self._next != len(self._planned):
            raise ValueError(f"{self.path}: {len(self._planned) - self._next} planted rows after "
                             f"the last of {self.valid_rows} valid rows")
        if self._out is not self._raw:
            self._out.close()
        self._raw.close()
        os.replace(self._tmp, self.path)
        return WriteResult(rows=self.valid_rows + len(self.bad_lines), sha256=sha256_of(self.path),
                           bad_lines=self.bad_lines)

    def abort(self) -> None:
        """Drop the temporary file (after an error)."""
        if self._out is not self._raw:
            self._out.close()
        self._raw.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> CsvSink:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is not None and not self._raw.closed:
            self.abort()
