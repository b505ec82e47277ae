"""``klaviyo_raw._slice_state``: progress of the time slices a parallel sync runs side by side
(the table is created with the others by :func:`store.ensure_schema`).

One row per (account, stream, slice): the slice's filter bounds ``[slice_from, slice_to)``
(``slice_to`` null: open-ended), ``next_page_url`` (the next request inside the slice; null
before its first page) and ``done``. A run writes all its slices in one transaction before
the first request (:func:`plan`); each page's rows, its slice's progress and the stream's
``_syncs`` counters are committed together (:func:`write_slice_page`); the transaction that
finishes the run deletes the slices and moves ``_stream_state`` (:func:`finish`). So a killed
run leaves exactly the slices still to do, each resuming at its first uncommitted page.

Rows are written by :func:`orchestration.klaviyo.store._write_rows`, unchanged: the same
tables, the same row shape as the serial sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from orchestration.klaviyo import store

SCHEMA = store.SCHEMA

@dataclass(frozen=True)
class Slice:
    """One time slice: filter bounds (``until`` None: open-ended) and where to continue."""

    since: datetime
    until: datetime | None
    next_page_url: str | None = None
    done: bool = False


def pending(conn: psycopg.Connection, account_id: str, stream: str) -> list[Slice]:
    """Every slice of the unfinished run (done ones too), in time order; [] when none."""
    rows = conn.execute(
        f"""select slice_from, slice_to, next_page_url, done from {SCHEMA}._slice_state
            where account_id = %s and stream = %s order by slice_from""",
        (account_id, stream),
    ).fetchall()
    return [Slice(*row) for row in rows]


def plan(conn: psycopg.Connection, account_id: str, stream: str, slices: list[Slice],
         cursor_value: datetime | None) -> None:
    """Record a run's slices and the stream's cursor (no link: slices hold them) at once."""
    with conn.transaction():
        conn.execute(f"delete from {SCHEMA}._slice_state where account_id = %s and stream = %s",
                     (account_id, stream))
        with conn.cursor() as cur:
            cur.executemany(
                f"""insert into {SCHEMA}._slice_state (account_id, stream, slice_from, slice_to, next_page_url)
                    values (%s, %s, %s, %s, %s)""",
                [(account_id, stream, s.since, s.until, s.next_page_url) for s in slices],
            )
        store.put_state(conn, account_id, stream, cursor_value, None)


def write_slice_page(conn: psycopg.Connection, *, table: str, account_id: str, sync_id: str,
                     rows: list[store.Row], append_only: bool, slice_from: datetime,
                     next_page_url: str | None, requests: int, retries: int) -> int:
    """A page's rows + its slice's progress (done when ``next_page_url`` is None) + the
    stream's ``_syncs`` counters in ONE transaction; returns the rows written."""
    with conn.transaction():
        written = store._write_rows(conn, table, account_id, sync_id, rows, append_only)
        conn.execute(
            f"""update {SCHEMA}._slice_state set next_page_url = %s, done = %s, updated_at = now()
                where account_id = %s and stream = %s and slice_from = %s""",
            (next_page_url, next_page_url is None, account_id, table, slice_from),
        )
        # last: the shared _syncs row is locked only for the end of the transaction
        conn.execute(
            f"""update {SCHEMA}._syncs set pages = pages + 1, rows_received = rows_received + %s,
                    rows_written = rows_written + %s, requests = greatest(requests, %s),
                    retries = greatest(retries, %s)
                where sync_id = %s and account_id = %s and stream = %s""",
            (len(rows), written, requests, retries, sync_id, account_id, table),
        )
    return written


def restart_slice(conn: psycopg.Connection, account_id: str, stream: str, slice_from: datetime) -> None:
    """Forget a slice's saved link (Klaviyo refused it): it restarts at its first page."""
    conn.execute(
        f"""update {SCHEMA}._slice_state set next_page_url = null, updated_at = now()
            where account_id = %s and stream = %s and slice_from = %s""",
        (account_id, stream, slice_from),
    )


def finish(conn: psycopg.Connection, account_id: str, stream: str, cursor_value: datetime | None,
           *, advance_to_max: bool = False) -> datetime | None:
    """The run is complete: drop its slices and set the stream's cursor (with
    ``advance_to_max``, the highest cursor landed if higher) — one transaction; returns it."""
    with conn.transaction():
        if advance_to_max:
            landed = store.max_cursor(conn, account_id, stream)
            if landed is not None and (cursor_value is None or landed > cursor_value):
                cursor_value = landed
        conn.execute(f"delete from {SCHEMA}._slice_state where account_id = %s and stream = %s",
                     (account_id, stream))
        store.put_state(conn, account_id, stream, cursor_value, None)
    return cursor_value
