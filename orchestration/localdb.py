"""Project-local PostgreSQL cluster: install, init, start, stop, status.

Standard library only, so ``make`` can run it before the virtualenv exists::

    python3 -m orchestration.localdb start   # idempotent: install, initdb, start, create roles/db
    python3 -m orchestration.localdb stop
    python3 -m orchestration.localdb status
    python3 -m orchestration.localdb dsn     # print the connection string

The cluster lives under ``.warehouse/`` in the repository (git-ignored), listens on
127.0.0.1 only, on ``WAREHOUSE_PORT`` (default 55432), with scram password auth.
Passwords are generated once and kept in 0600 files under ``.warehouse/``.

When ``WAREHOUSE_DSN`` is set the project uses that server instead and this
module does nothing but say so.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 55432
DATABASE = "analytics"
OWNER_ROLE = "warehouse"


class LocalDbError(RuntimeError):
    """A problem with the local cluster, phrased as one sentence for the user."""


@dataclass(frozen=True)
class Cluster:
    """Where the project-local cluster keeps its files and how to reach it."""

    home: Path  # .warehouse/
    port: int

    @property
    def data_dir(self) -> Path:
        return self.home / "pg"

    @property
    def socket_dir(self) -> Path:
        return self.home / "run"

    @property
    def log_file(self) -> Path:
        # Beside the data dir, which the postgres OS user can always reach (see _prepare_dirs).
        return self.data_dir.resolve().parent / "server.log"

    @property
    def superuser_password_file(self) -> Path:
        return self.home / "postgres.password"

    @property
    def password_file(self) -> Path:
        return self.home / "warehouse.password"

    def password(self) -> str:
        return self.password_file.read_text().strip()

    def dsn(self, database: str = DATABASE) -> str:
        return (
            f"postgresql://{OWNER_ROLE}:{quote(self.password(), safe='')}"
            f"@127.0.0.1:{self.port}/{database}"
        )


def default_cluster() -> Cluster:
    """The cluster for this checkout, honouring WAREHOUSE_HOME and WAREHOUSE_PORT."""
    home = Path(os.environ.get("WAREHOUSE_HOME", REPO_ROOT / ".warehouse")).resolve()
    port = int(os.environ.get("WAREHOUSE_PORT", DEFAULT_PORT))
    return Cluster(home=home, port=port)


# --------------------------------------------------------------------------- binaries


def _pg_bindir() -> Path:
    """Directory holding initdb/pg_ctl; installs Debian's postgresql when missing."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    if candidates:
        return candidates[0].parent
    which = shutil.which("pg_ctl")
    if which and Path(which).resolve().parent.joinpath("initdb").exists():
        return Path(which).resolve().parent
    if os.geteuid() != 0:
        raise LocalDbError(
            "PostgreSQL server binaries (pg_ctl, initdb) are not installed; "
            "run `sudo apt-get install -y postgresql` or set WAREHOUSE_DSN to an existing server."
        )
    print("Installing Debian's postgresql (pg_ctl not found)...", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # A fresh machine may have no package lists yet.
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    res = subprocess.run(
        ["apt-get", "install", "-y", "-qq", "postgresql"], env=env, capture_output=True, text=True
    )
    if res.returncode != 0:
        raise LocalDbError(
            "Could not install postgresql with apt-get (" + res.stderr.strip().splitlines()[-1]
            + "); install it by hand or set WAREHOUSE_DSN to an existing server."
        )
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    if not candidates:
        raise LocalDbError("apt-get installed postgresql but no pg_ctl was found under /usr/lib/postgresql.")
    return candidates[0].parent


def _as_root() -> bool:
    return os.geteuid() == 0


def _run_pg(args: list[str], **kw) -> subprocess.CompletedProcess:
    """Run a server binary as the postgres OS user when we are root (pg_ctl refuses root)."""
    if _as_root():
        args = ["runuser", "-u", "postgres", "--", *args]
        kw.setdefault("cwd", "/")  # the checkout itself may be closed to the postgres user
    return subprocess.run(args, capture_output=True, text=True, **kw)


def _postgres_can_reach(path: Path) -> bool:
    res = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-w", str(path)], capture_output=True)
    return res.returncode == 0


# --------------------------------------------------------------------------- lifecycle


def _prepare_dirs(cluster: Cluster) -> None:
    cluster.home.mkdir(parents=True, exist_ok=True)
    cluster.socket_dir.mkdir(exist_ok=True)
    if not _as_root():
        return
    pg = pwd.getpwnam("postgres")
    # The postgres user must reach the data dir. Where the checkout sits under a
    # directory it cannot enter (a 0700 temp dir, say), keep the data in /var/tmp
    # and link to it, so the cluster still belongs to this checkout.
    os.chown(cluster.home, pg.pw_uid, pg.pw_gid)
    os.chown(cluster.socket_dir, pg.pw_uid, pg.pw_gid)
    if not cluster.data_dir.exists() and not _postgres_can_reach(cluster.home):
        digest = hashlib.sha256(str(cluster.home).encode()).hexdigest()[:12]
        outside = Path("/var/tmp") / f"marketing-warehouse-{digest}"
        outside.mkdir(parents=True, exist_ok=True)
        os.chown(outside, pg.pw_uid, pg.pw_gid)
        for sub in ("pg", "run"):
            target = outside / sub
            target.mkdir(exist_ok=True)
            os.chown(target, pg.pw_uid, pg.pw_gid)
            link = cluster.home / sub
            if link.is_dir() and not link.is_symlink():
                link.rmdir()
            if not link.exists():
                link.symlink_to(target)


def _write_secret(path: Path, owner_postgres: bool = False) -> str:
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    if owner_postgres and _as_root():
        pg = pwd.getpwnam("postgres")
        os.chown(path, pg.pw_uid, pg.pw_gid)
    return value


def _initdb(cluster: Cluster, bindir: Path) -> None:
    _write_secret(cluster.superuser_password_file, owner_postgres=True)
    _write_secret(cluster.password_file)
    cluster.data_dir.mkdir(mode=0o700, exist_ok=True)
    if _as_root():
        pg = pwd.getpwnam("postgres")
        os.chown(cluster.data_dir.resolve(), pg.pw_uid, pg.pw_gid)
    os.chmod(cluster.data_dir.resolve(), 0o700)
    # initdb reads the password as the postgres user: hand it a copy beside the data dir.
    pwfile = cluster.data_dir.resolve().parent / ".initdb-password"
    pwfile.write_text(cluster.superuser_password_file.read_text())
    os.chmod(pwfile, 0o600)
    if _as_root():
        pg = pwd.getpwnam("postgres")
        os.chown(pwfile, pg.pw_uid, pg.pw_gid)
    try:
        res = _run_pg(
            [
                str(bindir / "initdb"),
                "-D", str(cluster.data_dir.resolve()),
                "-U", "postgres",
                "-E", "UTF8",
                "--locale=C.UTF-8",
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
            ]
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if res.returncode != 0:
        raise LocalDbError(f"initdb failed for {cluster.data_dir}: {res.stderr.strip()}")


def is_running(cluster: Cluster | None = None) -> bool:
    """True when the project cluster's postmaster answers."""
    cluster = cluster or default_cluster()
    if not (cluster.data_dir / "PG_VERSION").exists():
        return False
    res = _run_pg([str(_pg_bindir() / "pg_ctl"), "-D", str(cluster.data_dir.resolve()), "status"])
    return res.returncode == 0


def _psql_super(cluster: Cluster, bindir: Path, sql: str, database: str = "postgres") -> str:
    env = dict(os.environ, PGPASSWORD=cluster.superuser_password_file.read_text().strip())
    res = subprocess.run(
        [
            str(bindir / "psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
            "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", "-d", database,
            "-c", sql,
        ],
        capture_output=True, text=True, env=env,
    )
    if res.returncode != 0:
        raise LocalDbError(f"Setting up roles failed: {res.stderr.strip()}")
    return res.stdout.strip()


def _ensure_roles_and_db(cluster: Cluster, bindir: Path) -> None:
    password = cluster.password().replace("'", "''")
    exists = _psql_super(cluster, bindir, f"select 1 from pg_roles where rolname = '{OWNER_ROLE}'")
    verb = "alter" if exists == "1" else "create"
    _psql_super(
        cluster, bindir,
        f"{verb} role {OWNER_ROLE} with login createdb createrole password '{password}'",
    )
    if _psql_super(cluster, bindir, f"select 1 from pg_database where datname = '{DATABASE}'") != "1":
        _psql_super(cluster, bindir, f"create database {DATABASE} owner {OWNER_ROLE}")


def start(cluster: Cluster | None = None, fsync: bool | None = None) -> Cluster:
    """Install (if needed), initialise (if needed) and start the cluster; idempotent."""
    cluster = cluster or default_cluster()
    bindir = _pg_bindir()
    _prepare_dirs(cluster)
    if not (cluster.data_dir / "PG_VERSION").exists():
        print(f"Creating the local Postgres cluster in {cluster.data_dir} ...", flush=True)
        _initdb(cluster, bindir)
    if fsync is None:
        fsync = os.environ.get("WAREHOUSE_PG_FSYNC", "on").lower() not in ("off", "0", "false")
    if not is_running(cluster):
        if len(str(cluster.socket_dir.resolve())) > 100:
            raise LocalDbError(
                f"The socket directory path {cluster.socket_dir} is too long for a unix socket; "
                "set WAREHOUSE_HOME to a shorter path."
            )
        opts = (
            f"-p {cluster.port} -k {cluster.socket_dir.resolve()} -c listen_addresses=127.0.0.1"
            f" -c fsync={'on' if fsync else 'off'}"
            + ("" if fsync else " -c synchronous_commit=off -c full_page_writes=off")
        )
        res = _run_pg(
            [
                str(bindir / "pg_ctl"), "-D", str(cluster.data_dir.resolve()),
                "-l", str(cluster.log_file), "-w", "-t", "60", "-o", opts, "start",
            ]
        )
        if res.returncode != 0:
            tail = ""
            if cluster.log_file.exists():
                tail = cluster.log_file.read_text(errors="replace").strip().splitlines()[-1:]
                tail = tail[0] if tail else ""
            raise LocalDbError(
                f"The local Postgres cluster did not start on port {cluster.port} ({tail or res.stderr.strip()}); "
                "if another server uses that port, set WAREHOUSE_PORT to a free one."
            )
    _ensure_roles_and_db(cluster, bindir)
    return cluster


def stop(cluster: Cluster | None = None) -> None:
    """Stop the cluster if it runs (fast shutdown)."""
    cluster = cluster or default_cluster()
    if is_running(cluster):
        _run_pg([str(_pg_bindir() / "pg_ctl"), "-D", str(cluster.data_dir.resolve()), "-m", "fast", "-w", "stop"])


def wait_ready(cluster: Cluster, timeout: float = 30.0) -> None:
    """Block until the server accepts connections."""
    bindir = _pg_bindir()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        res = subprocess.run(
            [str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(cluster.port)], capture_output=True
        )
        if res.returncode == 0:
            return
        time.sleep(0.2)
    raise LocalDbError(f"The local Postgres cluster on port {cluster.port} did not become ready in {timeout:.0f} s.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.localdb", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop", "status", "dsn"])
    args = parser.parse_args(argv)
    if os.environ.get("WAREHOUSE_DSN") and args.command != "dsn":
        print("WAREHOUSE_DSN is set: the project uses that server, not the local cluster.")
        return 0
    cluster = default_cluster()
    try:
        if args.command == "start":
            start(cluster)
            print(f"Postgres is running on 127.0.0.1:{cluster.port} (data in {cluster.data_dir}).")
        elif args.command == "stop":
            stop(cluster)
            print("Postgres is stopped.")
        elif args.command == "status":
            running = is_running(cluster)
            print(f"Postgres on 127.0.0.1:{cluster.port}: {'running' if running else 'stopped'} (data in {cluster.data_dir}).")
            return 0 if running else 3
        elif args.command == "dsn":
            print(os.environ.get("WAREHOUSE_DSN") or cluster.dsn())
    except LocalDbError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
