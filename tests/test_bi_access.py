"""The BI role: reads every mart (also marts created later), nothing else, and writes nothing.

Real Postgres: a scratch database with the dashboards' marts built by dbt from demo files,
and a role of its own per run (roles are cluster-wide), revoked and dropped afterwards.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from orchestration import bi_access
from tests.dashboards_support import bi_role, build_dashboard_marts, marts_read_by_dashboards, unique_role

REPO_ROOT = Path(__file__).resolve().parent.parent
PRIVATE_SCHEMAS = ("raw", "staging", "intermediate", "seeds", "klaviyo_raw", "ml")


@pytest.fixture(scope="module")
def warehouse(module_db: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    build_dashboard_marts(module_db, tmp_path_factory.mktemp("bi_access"))
    return module_db


@pytest.fixture(scope="module")
def reader(warehouse: str) -> Iterator[bi_access.Credentials]:
    with bi_role(warehouse) as creds:
        yield creds


def _connect(creds: bi_access.Credentials) -> psycopg.Connection:
    return psycopg.connect(creds.dsn(), autocommit=True)


def _relations(dsn: str, schema: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [
            name
            for (name,) in conn.execute(
                "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                "where n.nspname = %s and c.relkind in ('r', 'v', 'm', 'p') order by 1",
                (schema,),
            ).fetchall()
        ]


def test_reader_selects_every_mart(warehouse: str, reader: bi_access.Credentials) -> None:
    marts = _relations(warehouse, "marts")
    assert set(marts_read_by_dashboards()) <= set(marts)
    with _connect(reader) as conn:
        for name in marts:
            count = conn.execute(sql.SQL("select count(*) from marts.{}").format(sql.Identifier(name))).fetchone()[0]
            if name in marts_read_by_dashboards():
                assert count > 0, name


def test_reader_cannot_read_any_other_schema(warehouse: str, reader: bi_access.Credentials) -> None:
    checked = []
    for schema in PRIVATE_SCHEMAS:
        for name in _relations(warehouse, schema):
            with _connect(reader) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql.SQL("select * from {}.{} limit 1").format(sql.Identifier(schema), sql.Identifier(name)))
            checked.append(f"{schema}.{name}")
    assert any(c.startswith("raw.") for c in checked) and any(c.startswith("staging.") for c in checked), checked
    with _connect(reader) as conn:
        visible = conn.execute(
            "select distinct table_schema from information_schema.tables "
            "where table_schema not in ('pg_catalog', 'information_schema')"
        ).fetchall()
    assert {s for (s,) in visible} <= {"marts"}, visible


WRITES = [
    "insert into marts.fct_campaign_performance (campaign_key) values ('x')",
    "update marts.fct_campaign_performance set spend = 0",
    "delete from marts.fct_campaign_performance",
    "truncate marts.fct_campaign_daily",
    "create table marts.bi_reader_was_here (x int)",
    "create view marts.bi_reader_view as select 1 as x",
    "drop table marts.fct_channel_performance",
    "alter table marts.fct_campaign_daily add column x int",
    "create table public.bi_reader_was_here (x int)",
    "create table raw.bi_reader_was_here (x int)",
    "create schema bi_reader_schema",
]


@pytest.mark.parametrize("statement", WRITES)
def test_reader_writes_nothing(reader: bi_access.Credentials, statement: str) -> None:
    # Read-only by default (default_transaction_read_only) ...
    with _connect(reader) as conn, pytest.raises(
        (psycopg.errors.ReadOnlySqlTransaction, psycopg.errors.InsufficientPrivilege)
    ):
        conn.execute(statement)
    # ... and without the privileges even when a session turns that off.
    with _connect(reader) as conn:
        conn.execute("set default_transaction_read_only = off")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)


def test_marts_created_after_the_grant_are_readable(warehouse: str, reader: bi_access.Credentials) -> None:
    with psycopg.connect(warehouse, autocommit=True) as owner:
        assert owner.execute("select current_user").fetchone()[0] != reader.user
        owner.execute("create table marts.new_mart as select 1 as x")
        owner.execute("create view marts.new_mart_view as select x from marts.new_mart")
        # dbt's table materialization: build under a temporary name, swap, drop the old one
        owner.execute("create table marts.fct_campaign_performance__dbt_tmp as select * from marts.fct_campaign_performance")
        owner.execute("alter table marts.fct_campaign_performance rename to fct_campaign_performance__dbt_backup")
        owner.execute("alter table marts.fct_campaign_performance__dbt_tmp rename to fct_campaign_performance")
        owner.execute("drop table marts.fct_campaign_performance__dbt_backup")
    try:
        with _connect(reader) as conn:
            assert conn.execute("select x from marts.new_mart").fetchone() == (1,)
            assert conn.execute("select x from marts.new_mart_view").fetchone() == (1,)
            assert conn.execute("select count(*) from marts.fct_campaign_performance").fetchone()[0] > 0
    finally:
        with psycopg.connect(warehouse, autocommit=True) as owner:
            owner.execute("drop view if exists marts.new_mart_view")
            owner.execute("drop table if exists marts.new_mart")


def test_role_attributes(reader: bi_access.Credentials, warehouse: str) -> None:
    with psycopg.connect(warehouse) as conn:
        row = conn.execute(
            "select rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin, rolconfig "
            "from pg_roles where rolname = %s",
            (reader.user,),
        ).fetchone()
    assert row[:6] == (False, False, False, False, False, True)
    assert "default_transaction_read_only=on" in row[6]


def test_grant_is_idempotent_and_refreshes_the_password(warehouse: str) -> None:
    role = unique_role()
    try:
        first = bi_access.grant(warehouse, role=role, password="first-password")
        bi_access.grant(warehouse, role=role, password="first-password")
        second = bi_access.grant(warehouse, role=role, password="second-password")
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(first.dsn()).close()
        with psycopg.connect(second.dsn()) as conn:
            assert conn.execute("select count(*) from marts.fct_campaign_daily").fetchone()[0] > 0
        with psycopg.connect(warehouse) as conn:
            acl = conn.execute(
                "select relacl::text from pg_class where oid = 'marts.fct_campaign_daily'::regclass"
            ).fetchone()[0]
        assert acl.count(f"{role}=r/") == 1, acl
    finally:
        bi_access.drop_role(warehouse, role)
    with psycopg.connect(warehouse) as conn:
        assert conn.execute("select count(*) from pg_roles where rolname = %s", (role,)).fetchone()[0] == 0


def test_password_file_is_private_and_stable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAREHOUSE_HOME", str(tmp_path))
    monkeypatch.delenv(bi_access.PASSWORD_ENV, raising=False)
    with pytest.raises(bi_access.BiAccessError, match="make bi-credentials"):
        bi_access.reader_password(create=False)
    first = bi_access.reader_password()
    path = tmp_path / "bi_reader.password"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert bi_access.reader_password() == first and len(first) >= 24
    monkeypatch.setenv(bi_access.PASSWORD_ENV, "from-the-environment")
    assert bi_access.reader_password() == "from-the-environment"


def test_cli_grant_and_credentials(warehouse: str, tmp_path: Path) -> None:
    role = unique_role()
    env = {**os.environ, "WAREHOUSE_DSN": warehouse, "WAREHOUSE_HOME": str(tmp_path)}
    env.pop(bi_access.PASSWORD_ENV, None)
    command = [sys.executable, "-m", "orchestration.bi_access"]
    try:
        granted = subprocess.run(
            [*command, "grant", "--role", role], env=env, cwd=REPO_ROOT, capture_output=True, text=True
        )
        assert granted.returncode == 0, granted.stderr
        dsn = granted.stdout.strip()
        assert dsn.startswith(f"postgresql://{role}:")
        with psycopg.connect(dsn) as conn:
            assert conn.execute("select current_user").fetchone()[0] == role
        shown = subprocess.run(
            [*command, "credentials", "--role", role, "--format", "evidence"],
            env=env, cwd=REPO_ROOT, capture_output=True, text=True,
        )
        assert shown.returncode == 0, shown.stderr
        exports = dict(line.removeprefix("export ").split("=", 1) for line in shown.stdout.splitlines())
        assert exports["EVIDENCE_SOURCE__warehouse__user"] == role
        assert exports["EVIDENCE_SOURCE__warehouse__password"].strip("'") == (tmp_path / "bi_reader.password").read_text().strip()
    finally:
        bi_access.drop_role(warehouse, role)

    # No password yet: one sentence, and for eval a failing command.
    empty = {**env, "WAREHOUSE_HOME": str(tmp_path / "empty")}
    missing = subprocess.run(
        [*command, "credentials", "--format", "env"], env=empty, cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert missing.returncode == 1
    assert missing.stdout.startswith("echo ") and missing.stdout.rstrip().endswith("false")
    assert "make bi-credentials" in missing.stdout and "Traceback" not in missing.stderr
