"""Move pandas DataFrames in and out of Postgres: read with a query, append with COPY."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import psycopg
from psycopg import sql


def read_frame(conn: psycopg.Connection, query: str, params: tuple = ()) -> pd.DataFrame:
    """Run ``query`` and return its rows as a DataFrame with the query's column names."""
    cur = conn.execute(query, params)
    columns = [d.name for d in cur.description]
    return pd.DataFrame(cur.fetchall(), columns=columns)


def ensure_table(conn: psycopg.Connection, schema: str, table: str, columns: Mapping[str, str]) -> None:
    """``create schema/table if not exists`` with ``columns`` {name: SQL type}."""
    conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
    body = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(sql_type)) for name, sql_type in columns.items()
    )
    conn.execute(sql.SQL("create table if not exists {}.{} ({})").format(
        sql.Identifier(schema), sql.Identifier(table), body
    ))


def append_frame(conn: psycopg.Connection, schema: str, table: str, frame: pd.DataFrame,
                 columns: Mapping[str, str], replace_version: str | None = None) -> int:
    """Create the table if needed and COPY ``frame[columns]`` into it; returns the row count.

    With ``replace_version``, rows of that ``model_version`` are deleted first (in the same
    transaction), so rerunning a model on the same data does not duplicate its output."""
    ensure_table(conn, schema, table, columns)
    if replace_version is not None:
        conn.execute(
            sql.SQL("delete from {}.{} where model_version = %s").format(sql.Identifier(schema), sql.Identifier(table)),
            (replace_version,),
        )
    names = list(columns)
    copy_sql = sql.SQL("copy {}.{} ({}) from stdin").format(
        sql.Identifier(schema), sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    data = frame[names].astype(object).where(frame[names].notna(), None)
    with conn.cursor().copy(copy_sql) as copy:
        for row in data.itertuples(index=False, name=None):
            copy.write_row(row)
    return len(frame)
