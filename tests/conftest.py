"""Shared fixtures: a real Postgres server (never a mock), one fresh database per test."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from orchestration import localdb, settings

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def server_dsn() -> str:
    """DSN of the server under test: WAREHOUSE_DSN, or the project cluster (started if needed)."""
    if not os.environ.get("WAREHOUSE_DSN") and not os.environ.get("PGHOST"):
        localdb.start()
    return settings.warehouse_dsn()


def _with_dbname(dsn: str, dbname: str) -> str:
    return psycopg.conninfo.make_conninfo(dsn, dbname=dbname)


@contextmanager
def scratch_database(server_dsn: str, label: str) -> Iterator[str]:
    """Create a brand-new empty database, yield its DSN, drop it afterwards."""
    name = f"t_{label[:30].lower()}_{uuid.uuid4().hex[:8]}"
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        yield _with_dbname(server_dsn, name)
    finally:
        drop_database(server_dsn, name)


@pytest.fixture()
def fresh_db(server_dsn: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A brand-new empty database for one test; dropped afterwards. Yields its DSN."""
    with scratch_database(server_dsn, request.node.name) as dsn:
        yield dsn


@pytest.fixture(scope="module")
def module_db(server_dsn: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A brand-new empty database shared by the tests of one module."""
    with scratch_database(server_dsn, request.module.__name__.rsplit(".", 1)[-1]) as dsn:
        yield dsn


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


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only ../shared/data folder; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared reference data not found at {SHARED_DATA} (only present beside a CI checkout)")
    return SHARED_DATA
