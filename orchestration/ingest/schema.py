"""DDL, created idempotently by the loader: schema raw, the load registry, raw and rejected tables."""

from __future__ import annotations

from collections.abc import Iterable

import psycopg
from psycopg import sql

from orchestration.ingest.spec import SourceSpec

SCHEMA = "raw"
STATUSES = ("loading", "loaded", "superseded", "refused", "failed")
_DDL_LOCK = 7_301_001  # advisory lock key: one DDL run at a time


def ident(*names: str) -> sql.Identifier:
    return sql.Identifier(*names)


REGISTRY_DDL = sql.SQL(
    """
    create table if not exists {reg} (
        file_id bigserial primary key,
        source text not null,
        spec text,
        path text not null,
        sha256 text not null,
        version int not null,
        rows_read bigint,
        rows_loaded bigint,
        rows_rejected bigint,
        started_at timestamptz not null default now(),
        finished_at timestamptz,
        status text not null check (status in ({statuses})),
        message text
    )
    """
).format(reg=ident(SCHEMA, "load_registry"), statuses=sql.SQL(", ").join(map(sql.Literal, STATUSES)))


def ensure_schema(conn: psycopg.Connection, specs: Iterable[SourceSpec]) -> None:
    """Create schema raw, the registry and every target's tables if they do not exist."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", [_DDL_LOCK])
        conn.execute(sql.SQL("create schema if not exists {}").format(ident(SCHEMA)))
        conn.execute(REGISTRY_DDL)
        conn.execute(
            sql.SQL("create index if not exists load_registry_path_idx on {} (path, version)").format(
                ident(SCHEMA, "load_registry")
            )
        )
        done: set[str] = set()
        for spec in specs:
            if spec.target not in done:
                _ensure_target(conn, spec)
                done.add(spec.target)


def _ensure_target(conn: psycopg.Connection, spec: SourceSpec) -> None:
    table = ident(SCHEMA, spec.target)
    columns = [sql.SQL("{} {}").format(ident(c.name), sql.SQL(c.sql_type)) for c in spec.columns]
    columns += [
        sql.SQL("_file_id bigint not null"),
        sql.SQL("_line_number bigint not null"),
        sql.SQL("_loaded_at timestamptz not null default now()"),
    ]
    conn.execute(sql.SQL("create table if not exists {} ({})").format(table, sql.SQL(", ").join(columns)))
    for col in spec.columns:  # a spec that gained a column
        conn.execute(
            sql.SQL("alter table {} add column if not exists {} {}").format(table, ident(col.name), sql.SQL(col.sql_type))
        )
    # Staging reads and superseding deletes go by _file_id.  A BRIN index costs almost nothing
    # per row on bulk appends (a btree adds ~15% to a load) and still finds a file's pages.
    conn.execute(
        sql.SQL("create index if not exists {} on {} using brin (_file_id)").format(
            ident(f"{spec.target}_file_id_brin"), table
        )
    )
    rejected = ident(SCHEMA, spec.rejected_table)
    conn.execute(
        sql.SQL(
            """
            create table if not exists {} (
                _file_id bigint not null,
                file_path text not null,
                line_number bigint not null,
                raw_line text not null,
                reason text not null,
                rejected_at timestamptz not null default now()
            )
            """
        ).format(rejected)
    )
    conn.execute(
        sql.SQL("create index if not exists {} on {} (_file_id, line_number)").format(
            ident(f"{spec.rejected_table}_file_idx"), rejected
        )
    )
