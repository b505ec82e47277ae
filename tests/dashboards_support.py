"""Helpers for the BI tests: a small warehouse with the marts the dashboards read, and a BI role.

``build_dashboard_marts(dsn, workdir)`` writes demo files (small, seeded), loads them with
the project's loader and runs ``dbt build`` for the marts that ``dashboards/sources/**/*.sql``
name (and everything upstream), seeds and models only: about 6 s.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from orchestration import bi_access, settings
from orchestration.demo import DemoConfig, generate
from orchestration.ingest import load_landing
from tests.dbt_cli import dbt_test_env, run_dbt

REPO_ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS = REPO_ROOT / "dashboards"
SOURCES = DASHBOARDS / "sources"
VENV_BIN = REPO_ROOT / ".venv" / "bin"
#: 240 days, so the overview's last 30 days vs the 30 before have data, and 40 campaigns.
DEMO = DemoConfig(seed=7, customers=200, campaigns=40, days=240, orders_target=2_000)


def source_queries() -> list[Path]:
    """Every Evidence source query, ``dashboards/sources/<source>/<query>.sql``."""
    return sorted(SOURCES.glob("*/*.sql"))


def marts_read_by_dashboards() -> list[str]:
    """Names of the marts the source queries read (``marts.<name>``)."""
    names: set[str] = set()
    for path in source_queries():
        names.update(re.findall(r"\bmarts\.([a-z_][a-z0-9_]*)", path.read_text(), flags=re.IGNORECASE))
    return sorted(names)


def build_dashboard_marts(dsn: str, workdir: Path, models: list[str] | None = None) -> None:
    """Demo files → raw (the project's loader) → ``dbt build`` of ``models`` and their parents."""
    landing = workdir / "landing"
    generate(landing, DEMO)
    results = load_landing(dsn, landing, progress=False)
    assert all(r.ok for r in results), [r.line() for r in results]
    selected = [f"+{name}" for name in (models or marts_read_by_dashboards())]
    args = ["build", "--select", *selected, "--resource-type", "seed", "--resource-type", "model"]
    result = run_dbt(args, dbt_test_env(settings.dbt_env(dsn)), workdir)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]


def unique_role() -> str:
    """A role name of its own for one test run (roles are cluster-wide)."""
    return f"bi_reader_t{uuid.uuid4().hex[:10]}"


@contextmanager
def bi_role(dsn: str) -> Iterator[bi_access.Credentials]:
    """A freshly granted BI role on the database of ``dsn``; revoked and dropped afterwards."""
    role = unique_role()
    creds = bi_access.grant(dsn, role=role, password=uuid.uuid4().hex)
    try:
        yield creds
    finally:
        bi_access.drop_role(dsn, role)
