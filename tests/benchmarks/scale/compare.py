"""Compare every table of schema ``marts`` between two databases (incremental vs full refresh).

Cross-database without extensions (dblink/postgres_fdw need a superuser to create): each
side hashes its rows server-side (``md5`` of the row's text form), streams the hashes in
order through a server-side cursor, and the two sorted streams are merged in Python, so
memory stays at one chunk per side. A row counts as differing when its hash is on one side
only (a multiset difference in both directions: EXCEPT ALL both ways); equal multisets
mean the tables hold the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
from psycopg import sql

CHUNK = 50_000
SCHEMA = "marts"


@dataclass(frozen=True)
class MartDiff:
    """One mart compared: row counts and rows found on one side only."""

    table: str
    rows_a: int
    rows_b: int
    only_in_a: int
    only_in_b: int
    missing_in: str | None = None  # "a" / "b" when the table exists on one side only

    @property
    def equal(self) -> bool:
        return self.missing_in is None and self.only_in_a == 0 and self.only_in_b == 0

    def line(self) -> str:
        if self.missing_in:
            return f"{self.table:<45} MISSING in {self.missing_in}"
        if self.equal:
            return f"{self.table:<45} equal ({self.rows_a:,} rows)"
        return (f"{self.table:<45} {self.only_in_a + self.only_in_b:,} rows differ "
                f"({self.only_in_a:,} only incremental, {self.only_in_b:,} only full refresh; "
                f"{self.rows_a:,} vs {self.rows_b:,} rows)")


#: Columns saying when an incremental run (re)computed a row: not part of the comparison.
RUN_TIME_COLUMNS = ("_resolved_at",)


def mart_tables(conn: psycopg.Connection, schema: str = SCHEMA) -> list[str]:
    """Base tables of ``schema``, by name."""
    rows = conn.execute(
        "select table_name from information_schema.tables where table_schema = %s "
        "and table_type = 'BASE TABLE' order by table_name", (schema,)).fetchall()
    return [r[0] for r in rows]


def _hashes(conn: psycopg.Connection, schema: str, table: str) -> Iterator[str]:
    # every column but the run-time ones (when a row was last recomputed differs by design)
    query = sql.SQL("select md5(cast(to_jsonb(t) - %s::text[] as text)) collate \"C\" as h "
                    "from {}.{} as t order by h").format(sql.Identifier(schema), sql.Identifier(table))
    with conn.transaction(), conn.cursor(name=f"hash_{table}") as cur:
        cur.itersize = CHUNK
        cur.execute(query, (list(RUN_TIME_COLUMNS),))
        for (h,) in cur:
            yield h


def compare_table(conn_a: psycopg.Connection, conn_b: psycopg.Connection, table: str,
                  schema: str = SCHEMA) -> MartDiff:
    """Merge the two sorted hash streams of ``schema.table``; count rows on one side only."""
    a, b = _hashes(conn_a, schema, table), _hashes(conn_b, schema, table)
    rows_a = rows_b = only_a = only_b = 0
    ha, hb = next(a, None), next(b, None)
    while ha is not None or hb is not None:
        if hb is None or (ha is not None and ha < hb):
            only_a += 1
            rows_a += 1
            ha = next(a, None)
        elif ha is None or hb < ha:
            only_b += 1
            rows_b += 1
            hb = next(b, None)
        else:
            rows_a += 1
            rows_b += 1
            ha, hb = next(a, None), next(b, None)
    return MartDiff(table, rows_a, rows_b, only_a, only_b)


def compare_marts(dsn_a: str, dsn_b: str, schema: str = SCHEMA) -> list[MartDiff]:
    """Every base table of ``schema`` on either side, compared (a = incremental, b = full)."""
    with psycopg.connect(dsn_a) as conn_a, psycopg.connect(dsn_b) as conn_b:
        tables_a, tables_b = set(mart_tables(conn_a, schema)), set(mart_tables(conn_b, schema))
        out = []
        for table in sorted(tables_a | tables_b):
            if table not in tables_b:
                out.append(MartDiff(table, 0, 0, 0, 0, missing_in="b"))
            elif table not in tables_a:
                out.append(MartDiff(table, 0, 0, 0, 0, missing_in="a"))
            else:
                out.append(compare_table(conn_a, conn_b, table, schema))
        return out


def compare_table_dsn(dsn_a: str, dsn_b: str, schema: str, table: str) -> MartDiff:
    """:func:`compare_table` of ``schema.table`` between two databases by DSN."""
    with psycopg.connect(dsn_a) as conn_a, psycopg.connect(dsn_b) as conn_b:
        diff = compare_table(conn_a, conn_b, table, schema)
    return MartDiff(f"{schema}.{table}", diff.rows_a, diff.rows_b, diff.only_in_a, diff.only_in_b)
