"""Load landing CSV files into raw.<target>: one transaction per file, registry-tracked.

Public API::

    load_file(conn_or_dsn, path, spec, landing_dir) -> LoadResult
    load_landing(dsn, landing_dir, sources=None) -> list[LoadResult]

Per file: sha256 first (same content already loaded → ``skipped``); otherwise, inside ONE
transaction, a registry row is opened, rows of the path's earlier version are deleted and
that version marked ``superseded``, valid rows stream into ``COPY raw.<target> FROM STDIN``
and rejected lines into ``raw.<target>_rejected``; rows whose natural key appeared earlier in
the file are then moved from the raw table to the rejected one (``duplicates``), and
``loaded + rejected = read`` is asserted against the counts Postgres reports before committing.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import psycopg
from psycopg import sql

from orchestration.ingest import registry
from orchestration.ingest.chunks import ChunkProcessor
from orchestration.ingest.copy_writer import BoundedQueueWriter
from orchestration.ingest.discover import discover, relative_path
from orchestration.ingest.duplicates import move_duplicates
from orchestration.ingest.errors import (
    DatabaseUnavailableError,
    FileFailedError,
    LoadError,
    RefusedFileError,
    database_unavailable,
)
from orchestration.ingest.keyspill import DuplicateSpool, KeySpill
from orchestration.ingest.plan import parse_header, plan_for_header
from orchestration.ingest.progress import progress_bar
from orchestration.ingest.reader import CsvFile, sha256_of
from orchestration.ingest.schema import SCHEMA, ensure_schema, ident
from orchestration.ingest.spec import SourceSpec, load_specs


@dataclass(frozen=True)
class LoadResult:
    """The outcome of one file: loaded, skipped, refused or failed."""

    path: str
    spec: str
    target: str
    status: str
    sha256: str
    file_id: int | None = None
    version: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    seconds: float = 0.0
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("loaded", "skipped")

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        """One line for the CLI."""
        if self.status == "loaded":
            return (
                f"loaded   {self.path} (v{self.version}, file_id {self.file_id}): {self.rows_read:,} read, "
                f"{self.rows_loaded:,} loaded, {self.rows_rejected:,} rejected in {self.seconds:.2f} s"
            )
        if self.status == "skipped":
            return f"skipped  {self.path}: {self.message}"
        return f"{self.status:<8} {self.path}: {self.message}"


@contextmanager
def _connection(conn_or_dsn: psycopg.Connection | str) -> Iterator[psycopg.Connection]:
    if isinstance(conn_or_dsn, psycopg.Connection):
        yield conn_or_dsn
        return
    conn = connect(conn_or_dsn)
    try:
        yield conn
    finally:
        conn.close()


def connect(dsn: str) -> psycopg.Connection:
    """Open an autocommit connection; connection problems become one clear sentence."""
    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise database_unavailable(exc, dsn) from None
    conn.execute("set client_encoding to 'UTF8'")
    return conn


def _record_attempt(conn: psycopg.Connection, spec: SourceSpec, rel: str, sha: str, status: str, message: str) -> int | None:
    """Write a refused/failed registry row in its own transaction (best effort)."""
    try:
        with conn.transaction():
            registry.lock_path(conn, rel)
            version = registry.next_version(registry.versions(conn, rel))
            file_id = registry.start(conn, spec, rel, sha, version, status=status, message=message)
        return file_id
    except psycopg.Error:
        return None


def load_file(
    conn_or_dsn: psycopg.Connection | str,
    path: Path | str,
    spec: SourceSpec,
    landing_dir: Path | str,
    *,
    progress: bool | None = None,
    ensure_tables: bool = True,
) -> LoadResult:
    """Load one file with ``spec`` into ``raw.<spec.target>`` in one transaction.

    Returns a :class:`LoadResult` with status ``loaded`` or ``skipped``.  Raises
    :class:`RefusedFileError` (header lacks required columns; registry status ``refused``),
    :class:`FileFailedError` (anything else went wrong; rolled back, status ``failed``) or
    :class:`DatabaseUnavailableError`.
    """
    path = Path(path)
    rel = relative_path(path, Path(landing_dir))
    started = time.perf_counter()
    sha = sha256_of(path)
    with _connection(conn_or_dsn) as conn:
        try:
            if ensure_tables:
                ensure_schema(conn, [spec])
            return _load(conn, path, rel, sha, spec, started, progress)
        except RefusedFileError as exc:
            _record_attempt(conn, spec, rel, sha, "refused", str(exc))
            raise
        except psycopg.OperationalError as exc:
            if conn.closed or conn.broken:
                raise database_unavailable(exc, conn.info.dsn) from None
            message = f"Loading {rel} failed and was rolled back ({_first_line(exc)})."
            _record_attempt(conn, spec, rel, sha, "failed", message)
            raise FileFailedError(message) from exc
        except LoadError:
            raise
        except Exception as exc:  # any other bug or data error: roll back, record, one sentence
            message = f"Loading {rel} failed and was rolled back ({type(exc).__name__}: {_first_line(exc)})."
            if not (conn.closed or conn.broken):
                _record_attempt(conn, spec, rel, sha, "failed", message)
            raise FileFailedError(message) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].rstrip(".") if text else type(exc).__name__


def _load(conn: psycopg.Connection, path: Path, rel: str, sha: str, spec: SourceSpec, started: float,
          progress: bool | None) -> LoadResult:
    with conn.transaction():
        registry.lock_path(conn, rel)
        previous = registry.versions(conn, rel)
        done = [v for v in previous if v.sha256 == sha and v.status == "loaded"]
        if done:
            return LoadResult(
                rel, spec.name, spec.target, "skipped", sha, done[-1].file_id, done[-1].version,
                seconds=time.perf_counter() - started,
                message=f"already loaded as v{done[-1].version} (file_id {done[-1].file_id}), same sha256",
            )
        version = registry.next_version(previous)
        with CsvFile(path, spec.encoding) as source:
            header = source.header()
            plan = plan_for_header(spec, parse_header(header.text), rel) if header else None
            file_id = registry.start(conn, spec, rel, sha, version)
            registry.supersede(conn, spec, previous, file_id)
            if plan is None:
                read = loaded = rejected = 0
            else:
                read, loaded, rejected = _copy_rows(conn, source, plan, file_id, header.lines, progress)
        registry.finish(conn, file_id, "loaded", read, loaded, rejected)
    return LoadResult(
        rel, spec.name, spec.target, "loaded", sha, file_id, version, read, loaded, rejected,
        time.perf_counter() - started,
    )


def _copy_rows(conn: psycopg.Connection, source: CsvFile, plan, file_id: int, header_lines: int,
               progress: bool | None) -> tuple[int, int, int]:
    """Stream the file's data lines; returns (read, loaded, rejected) as counted by Postgres.

    Rows whose natural key appeared earlier in the file are copied too, then moved to the
    rejected table once the whole file has been seen (:mod:`orchestration.ingest.keyspill`).
    """
    spec = plan.spec
    processor = ChunkProcessor(plan, file_id)
    spill = KeySpill() if spec.natural_key else None
    duplicates: DuplicateSpool | None = None
    columns = [ident("_file_id"), ident("_line_number")] + [ident(c) for c in plan.copy_columns]
    copy_sql = sql.SQL("copy {} ({}) from stdin (format csv)").format(
        ident(SCHEMA, spec.target), sql.SQL(", ").join(columns)
    )
    rows_read = rows_ok = rows_bad = 0
    spool = tempfile.SpooledTemporaryFile(max_size=16 << 20)
    path_q = _always_quote(plan.path)
    bar = progress_bar(source.size, plan.path, progress)
    try:
        with conn.cursor() as cur:
            with cur.copy(copy_sql, writer=BoundedQueueWriter(cur)) as copy:
                line = header_lines + 1
                carry = b""
                for body, final in source.chunks():
                    buf = carry + body
                    res = processor.process(buf, line, final)
                    if res.copy_data:
                        copy.write(res.copy_data)
                    rows_read += res.rows_read
                    rows_ok += res.rows_loaded
                    rows_bad += len(res.rejects)
                    if spill is not None and res.keys is not None:
                        spill.add(res.keys)
                    if res.rejects:
                        spool.write(b"".join(
                            f"{file_id},{path_q},{ln},{_always_quote(raw)},{_always_quote(reason)}\n".encode("utf-8")
                            for ln, raw, reason in res.rejects
                        ))
                    if res.carry:
                        carry, line = res.carry, res.carry_line
                    else:
                        carry, line = b"", line + buf.count(b"\n")
                    bar.update(source.position - bar.n)
                if spill is not None:  # resolved while the writer thread still sends the last blocks
                    duplicates = DuplicateSpool(spill.duplicates())
                    spill.close()
            copied = cur.rowcount
            spool.seek(0)
            rejected_copied = 0
            if rows_bad:
                with cur.copy(
                    sql.SQL("copy {} (_file_id, file_path, line_number, raw_line, reason) from stdin (format csv)").format(
                        ident(SCHEMA, spec.rejected_table)
                    )
                ) as copy:
                    while block := spool.read(4 << 20):
                        copy.write(block)
                rejected_copied = cur.rowcount
        moved = 0  # move_duplicates checks its own counts against Postgres'
        if duplicates is not None and duplicates.count:
            moved = move_duplicates(conn, spec, source.path, plan.path, file_id, duplicates.count, duplicates.blocks())
    finally:
        bar.close()
        spool.close()
        if spill is not None:
            spill.close()
        if duplicates is not None:
            duplicates.close()
    if copied != rows_ok or rejected_copied != rows_bad or copied + rejected_copied != rows_read:
        raise LoadError(
            f"Row accounting mismatch for {plan.path}: read {rows_read}, COPY loaded {copied}, "
            f"rejected {rejected_copied}; nothing was committed (this is a loader bug, please report it)."
        )
    return rows_read, copied - moved, rejected_copied + moved


def _always_quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def load_landing(
    dsn: str,
    landing_dir: Path | str,
    sources: Iterable[str] | None = None,
    *,
    spec_dir: Path | None = None,
    progress: bool | None = None,
) -> list[LoadResult]:
    """Load every file of every spec (or only ``sources``: spec or target names), in a fixed order.

    A refused or failed file is reported in its result and the run goes on with the next file;
    an unreachable database raises :class:`DatabaseUnavailableError`.
    """
    landing_dir = Path(landing_dir)
    if not landing_dir.is_dir():
        raise LoadError(f"Landing folder {landing_dir} does not exist; create it or set WAREHOUSE_LANDING_DIR.")
    specs = load_specs(spec_dir)
    chosen = list(specs.values())
    if sources:
        wanted = set(sources)
        unknown = wanted - set(specs) - {s.target for s in chosen}
        if unknown:
            raise LoadError(
                f"Unknown source {', '.join(sorted(unknown))}; choose from {', '.join(sorted(specs))}."
            )
        chosen = [s for s in chosen if s.name in wanted or s.target in wanted]
    files = discover(landing_dir, specs.values())
    files = [(p, s) for p, s in files if s in chosen]
    results: list[LoadResult] = []
    conn = connect(dsn)
    try:
        ensure_schema(conn, chosen)
        for path, spec in files:
            rel = relative_path(path, landing_dir)
            try:
                results.append(load_file(conn, path, spec, landing_dir, progress=progress, ensure_tables=False))
            except DatabaseUnavailableError:
                raise
            except (RefusedFileError, FileFailedError) as exc:
                status = "refused" if isinstance(exc, RefusedFileError) else "failed"
                results.append(LoadResult(rel, spec.name, spec.target, status, "", message=str(exc)))
    finally:
        conn.close()
    return results
