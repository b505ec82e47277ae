"""Deterministic CSV writing: valid rows via pandas, planted rows spliced in between."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from orchestration.demo.badrows import BadRow


@dataclass(frozen=True)
class WriteResult:
    """Data rows written (header excluded), sha256 of the file, (line number, row) per planted row."""

    rows: int
    sha256: str
    bad_lines: list[tuple[int, BadRow]]


def _csv_line(fields: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(fields)
    return buf.getvalue()


def _chunk(frame: pd.DataFrame, lo: int, hi: int) -> bytes:
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


def write_csv(path: Path, frame: pd.DataFrame, bad_rows: list[BadRow],
              gzip_level: int | None = None) -> WriteResult:
    """Write header + valid rows of ``frame`` with ``bad_rows`` inserted after row ``after``.

    Floats are written with 2 decimals, line ends are ``\\n``; gzip output has no name
    and mtime 0, so the same input always gives the same bytes. The file is written
    to a temporary name and renamed (readers never see a half-written file).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    bad_lines: list[tuple[int, BadRow]] = []
    with tmp.open("wb") as raw:
        out = (gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=gzip_level, mtime=0)
               if gzip_level else raw)
        try:
            out.write(_csv_line(list(frame.columns)).encode("utf-8"))
            line, done = 2, 0
            for bad in sorted(bad_rows, key=lambda r: r.after):
                upto = bad.after + 1
                out.write(_chunk(frame, done, upto))
                line += max(upto - done, 0)
                done = max(done, upto)
                out.write(_csv_line(bad.fields).encode("utf-8"))
                bad_lines.append((line, bad))
                line += 1
            out.write(_chunk(frame, done, len(frame)))
        finally:
            if out is not raw:
                out.close()
    os.replace(tmp, path)
    return WriteResult(rows=len(frame) + len(bad_rows), sha256=sha256_of(path),
                       bad_lines=bad_lines)
