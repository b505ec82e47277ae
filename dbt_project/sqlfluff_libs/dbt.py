"""Lint-time stand-ins for the dbt adapter macros the models call as ``dbt.x()``.

sqlfluff lints with its jinja templater (no database, no dbt process), which
knows ``ref``/``source``/``config`` but not dbt's global macro namespace.
``.sqlfluff`` points ``library_path`` at this folder, so ``{{ dbt.hash(x) }}``
renders through these functions. Each returns the SQL that dbt-postgres
renders, so the linter sees the real shape of the query.
"""

from __future__ import annotations


def type_numeric() -> str:
    return "numeric(28,6)"


def type_bigint() -> str:
    return "bigint"


def type_string() -> str:
    return "text"


def hash(field: str) -> str:  # noqa: A001 - mirrors dbt.hash
    return f"md5(cast({field} as text))"


def date_trunc(datepart: str, date: str) -> str:
    return f"date_trunc('{datepart}', {date})"


def dateadd(datepart: str, interval: object, from_date_or_timestamp: str) -> str:
    return f"{from_date_or_timestamp} + ((interval '1 {datepart}') * ({interval}))"


def current_timestamp() -> str:
    return "now()"


def type_timestamp() -> str:
    return "timestamp"
