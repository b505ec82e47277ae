"""Dagster resources, configured from environment variables."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from orchestration import settings


class WarehouseResource(dg.ConfigurableResource):
    """The Postgres warehouse and the landing folder the CSV sources come from.

    ``dsn`` and ``landing_dir`` default to ``WAREHOUSE_DSN`` (or the local cluster) and
    ``WAREHOUSE_LANDING_DIR`` (or ``landing/``); see :mod:`orchestration.settings`.
    """

    dsn: str | None = None
    landing_dir: str | None = None

    def get_dsn(self) -> str:
        """The connection string to use."""
        return self.dsn or settings.warehouse_dsn()

    def get_landing_dir(self) -> Path:
        """The folder the CSV specs' globs are matched in."""
        return Path(self.landing_dir) if self.landing_dir else settings.landing_dir()

    def export_dbt_env(self) -> None:
        """Point dbt subprocesses (which inherit the environment) at this warehouse."""
        os.environ.update(settings.dbt_env(self.get_dsn()))
