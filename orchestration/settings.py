"""Where the warehouse lives: one connection string, resolved the same way everywhere.

Order of precedence:

1. ``WAREHOUSE_DSN`` (any libpq URI or key=value string);
2. the standard libpq variables, when ``PGHOST`` is set (``PGPORT``, ``PGUSER``,
   ``PGPASSWORD``, ``PGDATABASE``);
3. the project-local cluster under ``.warehouse/`` (``make db-start``).

dbt reads the same settings: :func:`dbt_env` turns the DSN into the ``PG*``
variables that ``profiles.yml`` reads.
"""

from __future__ import annotations

import os
from pathlib import Path

from orchestration import localdb
from orchestration.errors import UserFacingError

REPO_ROOT = localdb.REPO_ROOT


class SettingsError(UserFacingError):
    """Configuration is missing or wrong; the message says how to fix it."""


def landing_dir() -> Path:
    """Folder the CSV sources are read from (``WAREHOUSE_LANDING_DIR``, default ``landing/``)."""
    return Path(os.environ.get("WAREHOUSE_LANDING_DIR", REPO_ROOT / "landing")).resolve()


def warehouse_dsn() -> str:
    """The connection string of the warehouse database."""
    dsn = os.environ.get("WAREHOUSE_DSN")
    if dsn:
        return dsn
    if os.environ.get("PGHOST"):
        parts = {
            "host": os.environ["PGHOST"],
            "port": os.environ.get("PGPORT", "5432"),
            "user": os.environ.get("PGUSER", ""),
            "password": os.environ.get("PGPASSWORD", ""),
            "dbname": os.environ.get("PGDATABASE", localdb.DATABASE),
        }
        return " ".join(f"{k}={_quote(v)}" for k, v in parts.items() if v)
    cluster = localdb.default_cluster()
    if not cluster.password_file.exists():
        raise SettingsError(
            "No warehouse is configured: run `make db-start` to create the local Postgres, "
            "or set WAREHOUSE_DSN to an existing server."
        )
    return cluster.dsn()


def _quote(value: str) -> str:
    if value and all(c not in value for c in " '\\"):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def dsn_parts(dsn: str) -> dict[str, str]:
    """Split a DSN into libpq keywords (host, port, user, password, dbname)."""
    from psycopg.conninfo import conninfo_to_dict

    return {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}


def dbt_env(dsn: str | None = None) -> dict[str, str]:
    """Environment for a dbt subprocess pointed at ``dsn`` (default: the warehouse)."""
    parts = dsn_parts(dsn or warehouse_dsn())
    env = {
        "PGHOST": parts.get("host", "127.0.0.1"),
        "PGPORT": parts.get("port", "5432"),
        "PGUSER": parts.get("user", os.environ.get("USER", "postgres")),
        "PGPASSWORD": parts.get("password", ""),
        "PGDATABASE": parts.get("dbname", localdb.DATABASE),
        "DBT_PROFILES_DIR": str(REPO_ROOT),
        "DBT_PROJECT_DIR": str(REPO_ROOT),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }
    return env
