"""``klaviyo_raw``: DDL, page writes (upsert / append), stream state and the sync log.

Layout (docs/CONTRACTS.md, "Klaviyo"): one table per stream with
``account_id, id, cursor_value, document, _sync_id, _loaded_at`` and primary key
``(account_id, id)``; ``_stream_state (account_id, stream, cursor_value, next_page_url,
updated_at)``; ``_syncs`` (one row per sync × account × stream: status, pages, rows,
requests, retries, cursor range, message). A page's rows, the stream state and the
stream's ``_syncs`` counters are written in one transaction by :func:`write_page`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from orchestration.klaviyo.streams import STREAMS

SCHEMA = "klaviyo_raw"

try:
    import orjson as _orjson

    def dumps(value: Any) -> str:
        """Compact JSON text of a document (orjson when available)."""
        return _orjson.dumps(value).decode()
except ImportError:  # pragma: no cover
    def dumps(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# Documents are compressed with lz4 (Postgres' pglz costs several times the CPU for about the
# same ratio). Postgres compresses only rows over ~2 KB (TOAST_TUPLE_THRESHOLD, fixed at build
# time; toast_tuple_target cannot lower it), so a typical 1.7 KB event is stored as it came.
# Tables made before this are switched by ensure_schema; rows already stored keep their form.
def _table_ddl(name: str) -> str:
    return f"""
create table if not exists {SCHEMA}.{name} (
    account_id   text        not null,
    id           text        not null,
    cursor_value timestamptz,
    document     jsonb       compression lz4 not null,
    _sync_id     text        not null,
    _loaded_at   timestamptz not null default now(),
    primary key (account_id, id)
);
create index if not exists {name}_cursor_idx on {SCHEMA}.{name} (account_id, cursor_value);
"""


# stg_klaviyo__events reads the events loaded since its last run. A btree, not BRIN: rows are
# not stored in load order once deletes free space (BRIN ranges then cover everything), and a
# btree gives the planner the newest value, so a day's rows are an index range scan.
LOADED_AT_INDEXES = f"create index if not exists events_loaded_at_idx on {SCHEMA}.events (_loaded_at);"


DDL = f"""
create schema if not exists {SCHEMA};
{''.join(_table_ddl(s.name) for s in STREAMS)}
create table if not exists {SCHEMA}._stream_state (
    account_id    text        not null,
    stream        text        not null,
    cursor_value  timestamptz,
    next_page_url text,
    updated_at    timestamptz not null default now(),
    primary key (account_id, stream)
);
create table if not exists {SCHEMA}._syncs (
    sync_id       text        not null,
    account_id    text        not null,
    stream        text        not null,
    status        text        not null,
    started_at    timestamptz not null default now(),
    finished_at   timestamptz,
    pages         integer     not null default 0,
    rows_received bigint      not null default 0,
    rows_written  bigint      not null default 0,
    requests      integer     not null default 0,
    retries       integer     not null default 0,
    cursor_from   timestamptz,
    cursor_to     timestamptz,
    message       text,
    primary key (sync_id, account_id, stream)
);
{LOADED_AT_INDEXES}
comment on table {SCHEMA}._syncs is
    'One row per Klaviyo sync x account x stream: status running|succeeded|failed|skipped, counters, cursor range.';
-- slices of an unfinished parallel sync (orchestration/klaviyo/slice_state.py)
create table if not exists {SCHEMA}._slice_state (
    account_id    text        not null,
    stream        text        not null,
    slice_from    timestamptz not null,
    slice_to      timestamptz,
    next_page_url text,
    done          boolean     not null default false,
    updated_at    timestamptz not null default now(),
    primary key (account_id, stream, slice_from)
);
"""


def ensure_schema(conn: psycopg.Connection) -> None:
    """Create the schema and tables if missing (idempotent; serialised by an advisory lock)."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtextextended('klaviyo_raw ddl', 0))")
        conn.execute(DDL)
        _upgrade_storage(conn)


def _upgrade_storage(conn: psycopg.Connection) -> None:
    """Tables made before lz4: switch them (metadata only, new rows onwards)."""
    stale = conn.execute(
        """select c.relname
           from pg_class as c
           join pg_namespace as n on n.oid = c.relnamespace
           join pg_attribute as a on a.attrelid = c.oid and a.attname = 'document'
           where n.nspname = %s and c.relname = any(%s) and a.attcompression <> 'l'""",
        (SCHEMA, [s.name for s in STREAMS]),
    ).fetchall()
    for (table,) in stale:
        conn.execute(sql.SQL("alter table {}.{} alter column document set compression lz4").format(
            sql.Identifier(SCHEMA), sql.Identifier(table)))


@dataclass(frozen=True)
class StreamState:
    cursor_value: datetime | None
    next_page_url: str | None


def get_state(conn: psycopg.Connection, account_id: str, stream: str) -> StreamState | None:
    row = conn.execute(
        f"select cursor_value, next_page_url from {SCHEMA}._stream_state where account_id = %s and stream = %s",
        (account_id, stream),
    ).fetchone()
    return StreamState(row[0], row[1]) if row else None


def put_state(conn: psycopg.Connection, account_id: str, stream: str, cursor_value: datetime | None,
              next_page_url: str | None) -> None:
    conn.execute(
        f"""insert into {SCHEMA}._stream_state (account_id, stream, cursor_value, next_page_url, updated_at)
            values (%s, %s, %s, %s, now())
            on conflict (account_id, stream) do update
            set cursor_value = excluded.cursor_value, next_page_url = excluded.next_page_url, updated_at = now()""",
        (account_id, stream, cursor_value, next_page_url),
    )


def max_cursor(conn: psycopg.Connection, account_id: str, stream: str) -> datetime | None:
    """Highest cursor value landed for the account (the watermark of upserted streams)."""
    return conn.execute(
        sql.SQL("select max(cursor_value) from {}.{} where account_id = %s").format(
            sql.Identifier(SCHEMA), sql.Identifier(stream)),
        (account_id,),
    ).fetchone()[0]


def forget_accounts(conn: psycopg.Connection, account_ids: list[str]) -> int:
    """Delete every row and the sync state of ``account_ids`` (not the ``_syncs`` log);
    returns the number of rows deleted."""
    deleted = 0
    with conn.transaction():
        for table in [s.name for s in STREAMS] + ["_stream_state", "_slice_state"]:
            deleted += conn.execute(
                sql.SQL("delete from {}.{} where account_id = any(%s)").format(
                    sql.Identifier(SCHEMA), sql.Identifier(table)),
                (account_ids,),
            ).rowcount
    return deleted


def _strip_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_strip_nul(k): _strip_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_nul(v) for v in value]
    return value


def json_text(value: Any) -> str:
    """JSON text for jsonb (Postgres jsonb cannot hold NUL characters: they are dropped)."""
    text = dumps(value)
    if "\\u0000" in text:
        text = dumps(_strip_nul(value))
    return text


@dataclass(frozen=True)
class Row:
    """One resource to land: its id, cursor value (ISO text as received) and document."""

    id: str
    cursor_value: str | None
    document: dict[str, Any]


def _write_rows(conn: psycopg.Connection, table: str, account_id: str, sync_id: str, rows: list[Row],
                append_only: bool) -> int:
    """One statement per page: the page travels as ONE JSON array parameter that Postgres
    unpacks (``jsonb_array_elements``) — far cheaper than binding thousands of values."""
    if not rows:
        return 0
    if append_only:
        conflict = "do nothing"
    else:
        # the same id twice in one statement would fail an upsert: the last one wins
        rows = list({r.id: r for r in rows}.values())
        conflict = ("do update set cursor_value = excluded.cursor_value, document = excluded.document, "
                    "_sync_id = excluded._sync_id, _loaded_at = now()")
    payload = json_text([[r.id, r.cursor_value, r.document] for r in rows])
    cur = conn.execute(
        f"""insert into {SCHEMA}.{table} (account_id, id, cursor_value, document, _sync_id)
            select %s, r ->> 0, (r ->> 1)::timestamptz, r -> 2, %s
            from jsonb_array_elements(%s::jsonb) as r
            on conflict (account_id, id) {conflict}""",
        (account_id, sync_id, payload),
    )
    return cur.rowcount


def write_page(conn: psycopg.Connection, *, table: str, account_id: str, sync_id: str, rows: list[Row],
               append_only: bool, cursor_value: datetime | None, next_page_url: str | None,
               requests: int, retries: int, advance_to_max: bool = False) -> int:
    """Rows + stream state + this stream's sync counters, in ONE transaction; returns rows written.

    ``advance_to_max`` (last page of an upserted stream): the saved cursor becomes the highest
    cursor value now in the table for the account (never lower than ``cursor_value``).
    """
    with conn.transaction():
        written = _write_rows(conn, table, account_id, sync_id, rows, append_only)
        if advance_to_max:
            landed = max_cursor(conn, account_id, table)
            if landed is not None and (cursor_value is None or landed > cursor_value):
                cursor_value = landed
        put_state(conn, account_id, table, cursor_value, next_page_url)
        conn.execute(
            f"""update {SCHEMA}._syncs set pages = pages + 1, rows_received = rows_received + %s,
                    rows_written = rows_written + %s, requests = %s, retries = %s, cursor_to = %s
                where sync_id = %s and account_id = %s and stream = %s""",
            (len(rows), written, requests, retries, cursor_value, sync_id, account_id, table),
        )
    return written


def start_stream(conn: psycopg.Connection, sync_id: str, account_id: str, stream: str,
                 cursor_from: datetime | None) -> None:
    """Log the stream as running (committed at once, so a killed sync leaves a 'running' row)."""
    with conn.transaction():
        conn.execute(
            f"""insert into {SCHEMA}._syncs (sync_id, account_id, stream, status, cursor_from)
                values (%s, %s, %s, 'running', %s)
                on conflict (sync_id, account_id, stream) do update set status = 'running'""",
            (sync_id, account_id, stream, cursor_from),
        )


def finish_stream(conn: psycopg.Connection, sync_id: str, account_id: str, stream: str, status: str, *,
                  requests: int, retries: int, cursor_to: datetime | None = None,
                  message: str | None = None) -> None:
    with conn.transaction():
        conn.execute(
            f"""update {SCHEMA}._syncs set status = %s, finished_at = now(), requests = %s, retries = %s,
                    cursor_to = coalesce(%s, cursor_to), message = %s
                where sync_id = %s and account_id = %s and stream = %s""",
            (status, requests, retries, cursor_to, message, sync_id, account_id, stream),
        )
