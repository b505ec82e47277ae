"""Move rows whose natural key already appeared earlier in the file to raw.<target>_rejected.

Runs inside the file's transaction, after its COPY: every valid row was copied, and
:class:`~orchestration.ingest.keyspill.KeySpill` named the later occurrences (line, span,
line of the first occurrence).  They go to a temporary table, are deleted from the raw table
by ``(_file_id, _line_number)``, and a second read of the file fetches their raw lines (the
only lines it decodes), which are copied to the rejected table with the reason
``duplicate_key: (<key columns>) already on line N``.  Nothing here holds more than one
block of duplicates in memory; a file without duplicates skips all of it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import psycopg
from psycopg import sql

from orchestration.ingest.errors import LoadError
from orchestration.ingest.reader import CsvFile
from orchestration.ingest.schema import SCHEMA, ident
from orchestration.ingest.spec import SourceSpec

_FETCH = 10_000


def move_duplicates(conn: psycopg.Connection, spec: SourceSpec, path: Path, rel: str, file_id: int,
                    count: int, blocks: Iterable[np.ndarray]) -> int:
    """Move the ``count`` duplicates given as ``blocks`` of keyspill.DUPLICATE rows from the raw table
    to the rejected one; returns ``count``."""
    with conn.cursor() as cur:
        cur.execute("create temp table if not exists _duplicate_lines"
                    " (line bigint not null, span int not null, first_line bigint not null) on commit drop")
        cur.execute("truncate _duplicate_lines")
        with cur.copy("copy _duplicate_lines (line, span, first_line) from stdin") as copy:
            for block in blocks:
                copy.write("".join(f"{a}\t{b}\t{c}\n" for a, b, c in block.tolist()).encode())
        cur.execute("analyze _duplicate_lines")
        cur.execute(
            sql.SQL("delete from {} t using _duplicate_lines d where t._file_id = %s and t._line_number = d.line")
            .format(ident(SCHEMA, spec.target)),
            [file_id],
        )
        deleted = cur.rowcount
    if deleted != count:
        raise LoadError(
            f"Duplicate accounting mismatch for {rel}: {count} duplicate rows found but {deleted} deleted; "
            f"nothing was committed (this is a loader bug, please report it)."
        )
    key_names = ", ".join(spec.natural_key)
    with tempfile.SpooledTemporaryFile(max_size=16 << 20) as spool:
        with conn.cursor(name="duplicate_lines") as named:
            named.itersize = _FETCH
            named.execute("select line, span, first_line from _duplicate_lines order by line")
            wanted = ((line, span, first) for line, span, first in named)
            for line, raw, first in raw_records(path, spec.encoding, wanted):
                reason = f"duplicate_key: ({key_names}) already on line {first}"
                spool.write(f"{file_id},{_quote(rel)},{line},{_quote(raw)},{_quote(reason)}\n".encode("utf-8"))
        spool.seek(0)
        with conn.cursor() as cur:
            with cur.copy(
                sql.SQL("copy {} (_file_id, file_path, line_number, raw_line, reason) from stdin (format csv)")
                .format(ident(SCHEMA, spec.rejected_table))
            ) as copy:
                while block := spool.read(4 << 20):
                    copy.write(block)
            moved = cur.rowcount
    if moved != count:
        raise LoadError(
            f"Duplicate accounting mismatch for {rel}: {count} duplicate rows found but {moved} raw lines "
            f"re-read; the file changed while it was loaded, load it again."
        )
    return count


def raw_records(path: Path, encoding: str, wanted: Iterator[tuple[int, int, int]]) -> Iterator[tuple[int, str, int]]:
    """Read the file again and yield ``(line, raw record, first)`` for each ``(line, span, first)``
    in ``wanted`` (ascending lines): the ``span`` physical lines from ``line`` on, joined by newlines,
    exactly as the loader's first pass saw them."""
    item = next(wanted, None)
    if item is None:
        return
    with CsvFile(path, encoding) as source:
        header = source.header()
        line = (header.lines if header else 0) + 1  # number of the chunk's first line
        partial: list[bytes] = []  # lines of a record that continues in the next chunk
        for body, final in source.chunks():
            if final and body and not body.endswith(b"\n"):
                body += b"\n"
            n = body.count(b"\n")
            if item is None or item[0] >= line + n:
                line += n
                continue
            lines = body.split(b"\n")
            while item is not None and item[0] < line + n:
                at, span, first = item
                start = max(at - line, 0)
                take = lines[start : min(at + span - line, n)]
                partial.extend(take)
                if at + span > line + n:  # continues in the next chunk
                    break
                yield at, b"\n".join(partial).decode("utf-8"), first
                partial = []
                item = next(wanted, None)
            line += n
    if item is not None:
        raise LoadError(f"Line {item[0]} of {path} was not found on a second read; the file changed while "
                        f"it was loaded, load it again.")


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'
