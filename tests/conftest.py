"""Shared fixtures: a real Postgres server (never a mock), one fresh database per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration import localdb, settings
from tests.scratch import scratch_database

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def no_real_klaviyo_account() -> Iterator[None]:
    """Tests never reach a real Klaviyo account: without these variables the Klaviyo assets
    sync the local demo server (tests that want a key pass their own environment)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("KLAVIYO_API_KEY", raising=False)
        patch.delenv("KLAVIYO_ACCOUNTS", raising=False)
        yield


@pytest.fixture(scope="session")
def server_dsn() -> str:
    """DSN of the server under test: WAREHOUSE_DSN, or the project cluster (started if needed)."""
    if not os.environ.get("WAREHOUSE_DSN") and not os.environ.get("PGHOST"):
        localdb.start()
    return settings.warehouse_dsn()


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


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only ../shared/data folder; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared reference data not found at {SHARED_DATA} (only present beside a CI checkout)")
    return SHARED_DATA
