"""One connection setting, resolved the same way for Python and dbt."""

from __future__ import annotations

import pytest

from orchestration import settings


def test_warehouse_dsn_wins_over_pg_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAREHOUSE_DSN", "postgresql://alice:s3cret@db.example.com:6543/mkt")
    monkeypatch.setenv("PGHOST", "ignored.example.com")
    assert settings.warehouse_dsn() == "postgresql://alice:s3cret@db.example.com:6543/mkt"
    env = settings.dbt_env()
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGPASSWORD"], env["PGDATABASE"]) == (
        "db.example.com", "6543", "alice", "s3cret", "mkt",
    )
    assert env["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "False"


def test_standard_pg_variables_are_used_when_pghost_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAREHOUSE_DSN", raising=False)
    for key, value in {"PGHOST": "pg.internal", "PGPORT": "5433", "PGUSER": "bob",
                       "PGPASSWORD": "it's secret", "PGDATABASE": "warehouse"}.items():
        monkeypatch.setenv(key, value)
    parts = settings.dsn_parts(settings.warehouse_dsn())
    assert parts == {"host": "pg.internal", "port": "5433", "user": "bob",
                     "password": "it's secret", "dbname": "warehouse"}


def test_without_any_setting_the_local_cluster_is_used_or_explained(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.delenv("WAREHOUSE_DSN", raising=False)
    monkeypatch.delenv("PGHOST", raising=False)
    monkeypatch.setenv("WAREHOUSE_HOME", str(tmp_path / "nowhere"))
    with pytest.raises(settings.SettingsError, match="make db-start"):
        settings.warehouse_dsn()
