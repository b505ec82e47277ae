"""Scratch databases on the server under test (tests and benchmarks share this)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql


@contextmanager
def scratch_database(server_dsn: str, label: str) -> Iterator[str]:
    """Create a brand-new empty database, yield its DSN, drop it afterwards."""
    name = f"t_{label[:30].lower()}_{uuid.uuid4().hex[:8]}"
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        yield psycopg.conninfo.make_conninfo(server_dsn, dbname=name)
    finally:
        drop_database(server_dsn, name)


def drop_database(server_dsn: str, name: str) -> None:
    """Drop a scratch database. FORCE needs superuser when an autovacuum worker is inside,
    so fall back to a plain DROP (which waits for autovacuum to leave) after a moment."""
    statement = sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
    for attempt in range(10):
        try:
            with psycopg.connect(server_dsn, autocommit=True) as conn:
                conn.execute(statement)
            return
        except psycopg.errors.InsufficientPrivilege:
            statement = sql.SQL("drop database if exists {}").format(sql.Identifier(name))
        except psycopg.errors.ObjectInUse:
            pass
        time.sleep(0.5 * (attempt + 1))
    raise RuntimeError(f"could not drop scratch database {name}")
