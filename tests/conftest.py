"""Shared fixtures: a real Postgres server (never a mock), one fresh database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
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


@pytest.fixture()
def fresh_db(server_dsn: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A brand-new empty database for one test; dropped afterwards. Yields its DSN."""
    name = f"t_{request.node.name[:30].lower()}_{uuid.uuid4().hex[:8]}"
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        yield _with_dbname(server_dsn, name)
    finally:
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only ../shared/data folder; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared reference data not found at {SHARED_DATA} (only present beside a CI checkout)")
    return SHARED_DATA
