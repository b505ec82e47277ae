"""Read-only access for BI tools: the ``bi_reader`` role, which sees the marts and nothing else.

::

    python -m orchestration.bi_access grant         # create/refresh the role and its grants, print a DSN
    python -m orchestration.bi_access credentials   # print the DSN (--format env|evidence for shell exports)

What :func:`grant` does, idempotently, in the warehouse database (connected as the
warehouse owner, which needs ``CREATEROLE``):

* creates the LOGIN role (or refreshes its password): no superuser, createdb,
  createrole, replication; ``default_transaction_read_only = on`` and a statement
  timeout, so a dashboard can neither write nor run away;
* ``CONNECT`` on the database, ``USAGE`` on schema ``marts`` and ``SELECT`` on every
  table and view in it;
* ``ALTER DEFAULT PRIVILEGES FOR ROLE <owner> IN SCHEMA marts GRANT SELECT ON TABLES``,
  so every mart dbt (re)creates later as that owner is readable at once;
* revokes whatever the role may have been given on any other schema (raw, staging,
  intermediate, seeds, klaviyo_raw, ml, ...): BI reads marts only.

The password: ``BI_READER_PASSWORD`` when set (use it for an external server),
otherwise generated once and kept in ``.warehouse/bi_reader.password`` (mode 0600,
under ``WAREHOUSE_HOME``).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from orchestration import localdb, settings
from orchestration.errors import UserFacingError, describe_connection_error

ROLE = "bi_reader"
SCHEMA = "marts"
PASSWORD_ENV = "BI_READER_PASSWORD"
#: Name of the Evidence source (dashboards/sources/<name>/connection.yaml).
EVIDENCE_SOURCE = "warehouse"
STATEMENT_TIMEOUT = "300s"


class BiAccessError(UserFacingError):
    """The BI role could not be set up; the message says why and what to do."""


@dataclass(frozen=True)
class Credentials:
    """How a BI tool connects: host, port, database, role and password."""

    host: str
    port: str
    dbname: str
    user: str
    password: str

    def dsn(self) -> str:
        return (
            f"postgresql://{quote(self.user, safe='')}:{quote(self.password, safe='')}"
            f"@{quote(self.host, safe='')}:{self.port}/{quote(self.dbname, safe='')}"
        )

    def env(self) -> dict[str, str]:
        """libpq variables (PGHOST, ...)."""
        return {
            "PGHOST": self.host,
            "PGPORT": self.port,
            "PGDATABASE": self.dbname,
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
        }

    def evidence_env(self, source: str = EVIDENCE_SOURCE) -> dict[str, str]:
        """Evidence's per-source overrides (EVIDENCE_SOURCE__<source>__<option>)."""
        prefix = f"EVIDENCE_SOURCE__{source}__"
        return {
            prefix + "host": self.host,
            prefix + "port": self.port,
            prefix + "database": self.dbname,
            prefix + "user": self.user,
            prefix + "password": self.password,
        }


def password_file() -> Path:
    """Where the generated password of the local setup is kept."""
    return localdb.default_cluster().home / "bi_reader.password"


def reader_password(create: bool = True) -> str:
    """``BI_READER_PASSWORD``, else the 0600 file under .warehouse/ (generated when missing)."""
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    path = password_file()
    if path.exists():
        return path.read_text().strip()
    if not create:
        raise BiAccessError(
            f"No password for the BI role yet ({path} is missing); run `make bi-credentials` "
            f"(python -m orchestration.bi_access grant) or set {PASSWORD_ENV}."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(24)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process wrote it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


def credentials(dsn: str | None = None, role: str = ROLE, password: str | None = None) -> Credentials:
    """Connection details of ``role`` on the warehouse server and database of ``dsn``."""
    parts = settings.dsn_parts(dsn or settings.warehouse_dsn())
    return Credentials(
        host=parts.get("host", "127.0.0.1"),
        port=parts.get("port", "5432"),
        dbname=parts.get("dbname", localdb.DATABASE),
        user=role,
        password=password if password is not None else reader_password(create=False),
    )


def _connect(dsn: str) -> psycopg.Connection:
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise describe_connection_error(exc, dsn) from exc


def _ensure_role(conn: psycopg.Connection, role: str, password: str) -> None:
    ident = sql.Identifier(role)
    # Postgres 15 lets only a superuser name the SUPERUSER/REPLICATION/BYPASSRLS attributes in
    # ALTER ROLE, so those are given at CREATE (defaults anyway) and checked afterwards.
    common = sql.SQL("login nocreatedb nocreaterole inherit password {}").format(sql.Literal(password))
    try:
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
        if not exists:
            try:
                conn.execute(
                    sql.SQL("create role {} with nosuperuser noreplication nobypassrls {}").format(ident, common)
                )
            except psycopg.errors.DuplicateObject:  # created concurrently
                exists = True
        if exists:
            conn.execute(sql.SQL("alter role {} with {}").format(ident, common))
        for setting, value in (
            ("default_transaction_read_only", "on"),
            ("statement_timeout", STATEMENT_TIMEOUT),
        ):
            conn.execute(
                sql.SQL("alter role {} set {} = {}").format(ident, sql.Identifier(setting), sql.Literal(value))
            )
    except psycopg.errors.InsufficientPrivilege as exc:
        user = conn.execute("select current_user").fetchone()[0]
        raise BiAccessError(
            f"Role {user!r} may not create or alter role {role!r} ({exc.diag.message_primary}); "
            "run the grant as a role with CREATEROLE (the local cluster's `warehouse` has it), "
            f"or have an administrator create {role!r} and rerun."
        ) from exc
    powers = conn.execute(
        "select rolsuper or rolreplication or rolbypassrls from pg_roles where rolname = %s", (role,)
    ).fetchone()[0]
    if powers:
        raise BiAccessError(
            f"Role {role!r} exists with SUPERUSER, REPLICATION or BYPASSRLS, which a read-only BI role "
            "must not have; have a superuser remove them (alter role ... nosuperuser noreplication nobypassrls)."
        )


def grant(dsn: str | None = None, role: str = ROLE, password: str | None = None) -> Credentials:
    """Create or refresh ``role`` with read access to schema marts only; return its credentials.

    ``dsn`` is the warehouse owner's connection (default: :func:`settings.warehouse_dsn`);
    the grants apply to the database it names. Safe to run any number of times.
    """
    dsn = dsn or settings.warehouse_dsn()
    password = password if password is not None else reader_password(create=True)
    ident = sql.Identifier(role)
    schema = sql.Identifier(SCHEMA)
    with _connect(dsn) as conn:
        _ensure_role(conn, role, password)
        owner, database = conn.execute("select current_user, current_database()").fetchone()
        # dbt creates the schema with "create schema if not exists"; creating it here
        # (empty, owned by the same role) lets the default privileges exist before the first build.
        conn.execute(sql.SQL("create schema if not exists {}").format(schema))
        with conn.transaction():
            conn.execute(sql.SQL("grant connect on database {} to {}").format(sql.Identifier(database), ident))
            conn.execute(sql.SQL("grant usage on schema {} to {}").format(schema, ident))
            conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(schema, ident))
            conn.execute(
                sql.SQL("alter default privileges for role {} in schema {} grant select on tables to {}").format(
                    sql.Identifier(owner), schema, ident
                )
            )
            _revoke_elsewhere(conn, role)
    return credentials(dsn, role=role, password=password)


def _revoke_elsewhere(conn: psycopg.Connection, role: str) -> None:
    """Take back anything ``role`` holds on schemas other than marts (owned by us)."""
    others = [
        name
        for (name,) in conn.execute(
            "select nspname from pg_namespace "
            "where nspname <> %s and nspname not like 'pg\\_%%' and nspname <> 'information_schema' "
            "and pg_has_role(current_user, nspowner, 'USAGE') order by 1",
            (SCHEMA,),
        ).fetchall()
    ]
    ident = sql.Identifier(role)
    for name in others:
        schema = sql.Identifier(name)
        conn.execute(sql.SQL("revoke all on all tables in schema {} from {}").format(schema, ident))
        conn.execute(sql.SQL("revoke all on all sequences in schema {} from {}").format(schema, ident))
        conn.execute(sql.SQL("revoke all on all functions in schema {} from {}").format(schema, ident))
        if name != "public":  # PUBLIC's usage on schema public is Postgres' default, not ours
            conn.execute(sql.SQL("revoke all on schema {} from {}").format(schema, ident))


def revoke(dsn: str, role: str = ROLE) -> None:
    """Remove every privilege :func:`grant` gave ``role`` in the database of ``dsn``."""
    ident = sql.Identifier(role)
    schema = sql.Identifier(SCHEMA)
    with _connect(dsn) as conn:
        if not conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone():
            return
        owner, database = conn.execute("select current_user, current_database()").fetchone()
        with conn.transaction():
            if conn.execute("select 1 from pg_namespace where nspname = %s", (SCHEMA,)).fetchone():
                conn.execute(
                    sql.SQL(
                        "alter default privileges for role {} in schema {} revoke select on tables from {}"
                    ).format(sql.Identifier(owner), schema, ident)
                )
                conn.execute(sql.SQL("revoke all on all tables in schema {} from {}").format(schema, ident))
                conn.execute(sql.SQL("revoke all on schema {} from {}").format(schema, ident))
            _revoke_elsewhere(conn, role)
            conn.execute(sql.SQL("revoke all on database {} from {}").format(sql.Identifier(database), ident))


def drop_role(dsn: str, role: str = ROLE) -> None:
    """:func:`revoke` in the database of ``dsn``, then drop ``role`` (it must hold nothing elsewhere)."""
    revoke(dsn, role)
    with _connect(dsn) as conn:
        try:
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))
        except psycopg.errors.DependentObjectsStillExist as exc:
            raise BiAccessError(
                f"Role {role!r} still holds privileges in another database ({exc.diag.message_detail}); "
                "revoke them there first."
            ) from exc


def _mart_count(dsn: str) -> int:
    with _connect(dsn) as conn:
        return conn.execute(
            "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = %s and c.relkind in ('r', 'v', 'm', 'p')",
            (SCHEMA,),
        ).fetchone()[0]


def _render(creds: Credentials, fmt: str) -> str:
    if fmt == "uri":
        return creds.dsn()
    values = creds.env() if fmt == "env" else creds.evidence_env()
    return "\n".join(f"export {key}={shlex.quote(value)}" for key, value in values.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.bi_access", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["grant", "credentials"])
    parser.add_argument("--role", default=ROLE, help=f"role name (default {ROLE})")
    parser.add_argument(
        "--format",
        choices=["uri", "env", "evidence"],
        default="uri",
        help="uri: a postgresql:// string; env: PG* exports; evidence: EVIDENCE_SOURCE__warehouse__* exports",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "grant":
            creds = grant(role=args.role)
            print(f"Role {args.role} can read schema {SCHEMA} only (read-only); connect with:", file=sys.stderr)
            if not _mart_count(settings.warehouse_dsn()):
                print(f"note: schema {SCHEMA} has no tables yet; build the marts with `make run`.", file=sys.stderr)
        else:
            creds = credentials(role=args.role)
    except UserFacingError as exc:
        if args.command == "credentials" and args.format != "uri":
            # meant for eval "$(...)": make the eval fail with the sentence
            print(f"echo {shlex.quote('error: ' + str(exc))} >&2; false")
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 1
    print(_render(creds, args.format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
