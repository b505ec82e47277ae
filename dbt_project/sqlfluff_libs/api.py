"""Lint-time stand-in for dbt's ``api`` namespace (``api.Relation.create``): the relation
renders as its dotted name, as dbt-postgres would quote it, without a database."""

from __future__ import annotations


class Relation:
    """``api.Relation.create(database=..., schema=..., identifier=...)`` as text."""

    @staticmethod
    def create(database: str | None = None, schema: str | None = None, identifier: str | None = None,
               type: str | None = None) -> str:  # noqa: A002 - mirrors dbt's argument
        return ".".join(f'"{part}"' for part in (database, schema, identifier) if part)
