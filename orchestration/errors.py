"""One clear sentence for the problems a user can fix, instead of a traceback."""

from __future__ import annotations

import psycopg


class UserFacingError(RuntimeError):
    """An error whose message names the problem and the fix, meant to be printed as is."""


def describe_connection_error(exc: BaseException, dsn: str) -> UserFacingError:
    """Turn a failed connection into a sentence naming the server and what to do."""
    from orchestration.settings import dsn_parts

    try:
        parts = dsn_parts(dsn)
    except Exception:
        parts = {}
    where = f"{parts.get('host', '?')}:{parts.get('port', '5432')}/{parts.get('dbname', '?')}"
    text = str(exc).lower()
    if "password authentication failed" in text or "no password supplied" in text:
        return UserFacingError(
            f"Postgres at {where} rejected the credentials for user {parts.get('user', '?')!r}; "
            "check WAREHOUSE_DSN (or .warehouse/warehouse.password for the local cluster)."
        )
    if "does not exist" in text and "database" in text:
        return UserFacingError(
            f"The database in {where} does not exist; create it or point WAREHOUSE_DSN at an existing one."
        )
    return UserFacingError(
        f"Cannot reach Postgres at {where}; start the local cluster with `make db-start` "
        "or set WAREHOUSE_DSN to a running server."
    )


def connect(dsn: str, **kwargs) -> psycopg.Connection:
    """``psycopg.connect`` that fails with one clear sentence."""
    try:
        return psycopg.connect(dsn, connect_timeout=10, **kwargs)
    except psycopg.OperationalError as exc:
        raise describe_connection_error(exc, dsn) from None
