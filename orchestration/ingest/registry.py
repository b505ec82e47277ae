"""raw.load_registry: one row per file version the loader saw."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from orchestration.ingest.schema import SCHEMA, ident
from orchestration.ingest.spec import SourceSpec

REG = ident(SCHEMA, "load_registry")


@dataclass(frozen=True)
class Version:
    """An earlier registry row for the same path."""

    file_id: int
    sha256: str
    version: int
    status: str


def lock_path(conn: psycopg.Connection, path: str) -> None:
    """Serialize loads of the same path until the transaction ends."""
    conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"raw-load:{path}"])


def versions(conn: psycopg.Connection, path: str) -> list[Version]:
    rows = conn.execute(
        sql.SQL("select file_id, sha256, version, status from {} where path = %s order by version").format(REG),
        [path],
    ).fetchall()
    return [Version(*row) for row in rows]


def next_version(previous: list[Version]) -> int:
    return max((v.version for v in previous), default=0) + 1


def start(conn: psycopg.Connection, spec: SourceSpec, path: str, sha: str, version: int, status: str = "loading",
          message: str | None = None) -> int:
    """Insert the registry row of this attempt; returns its file_id."""
    row = conn.execute(
        sql.SQL(
            "insert into {} (source, spec, path, sha256, version, status, message, started_at)"
            " values (%s, %s, %s, %s, %s, %s, %s, clock_timestamp()) returning file_id"
        ).format(REG),
        [spec.target, spec.name, path, sha, version, status, message],
    ).fetchone()
    return int(row[0])


def finish(conn: psycopg.Connection, file_id: int, status: str, read: int, loaded: int, rejected: int,
           message: str | None = None) -> None:
    conn.execute(
        sql.SQL(
            "update {} set status = %s, rows_read = %s, rows_loaded = %s, rows_rejected = %s,"
            " finished_at = clock_timestamp(), message = %s where file_id = %s"
        ).format(REG),
        [status, read, loaded, rejected, message, file_id],
    )


def supersede(conn: psycopg.Connection, spec: SourceSpec, old: list[Version], by_file_id: int) -> None:
    """Delete the rows of earlier loaded versions and mark them superseded (same transaction)."""
    ids = [v.file_id for v in old if v.status == "loaded"]
    if not ids:
        return
    for table in (spec.target, spec.rejected_table):
        conn.execute(sql.SQL("delete from {} where _file_id = any(%s)").format(ident(SCHEMA, table)), [ids])
    conn.execute(
        sql.SQL("update {} set status = 'superseded', message = %s where file_id = any(%s)").format(REG),
        [f"superseded by file_id {by_file_id}", ids],
    )
