"""Helpers for the BI tests: a small warehouse with the marts the dashboards read, and a BI role.

``build_dashboard_marts(dsn, workdir)`` writes demo files (small, seeded), loads them with
the project's loader, syncs a small Klaviyo demo account (the local Klaviyo-compatible
server, its customers and orders mirroring the demo files) with the project's client, and
runs ``dbt build`` for the marts that ``dashboards/sources/**/*.sql`` name (and everything
upstream), seeds and models only; for the marts fed by the ML assets it then runs those
assets in-process (segmentation, Prophet forecasts) and ``dbt build -s source:ml+``.
About 30 s on a 2-core machine (files + load 0.2 s, Klaviyo 1 s, dbt 8-10 s, ML assets
14 s, ML-fed dbt models 4 s); without ML-fed marts about 10 s.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

from orchestration import bi_access, settings
from orchestration.project import ML_FED
# The dashboards asset's own parser of the source queries (its deps): one copy, re-exported here.
from orchestration.assets.dashboards import marts_read_by_dashboards, source_queries  # noqa: F401
from orchestration.demo import DemoConfig, generate
from orchestration.ingest import load_landing
from tests.dbt_cli import dbt_test_env, run_dbt

REPO_ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS = REPO_ROOT / "dashboards"
VENV_BIN = REPO_ROOT / ".venv" / "bin"
#: 240 days, so the overview's last 30 days vs the 30 before have data, and 40 campaigns.
DEMO = DemoConfig(seed=7, customers=200, campaigns=40, days=240, orders_target=2_000)


def build_dashboard_marts(dsn: str, workdir: Path, models: list[str] | None = None) -> None:
    """Demo files → raw (the project's loader) + Klaviyo (demo account) → ``dbt build`` of
    ``models`` and their parents; when some of them are fed by the ML assets, the run goes on
    as Dagster orders it: the marts the ML assets read → the ML assets, in-process → ``dbt
    build -s source:ml+`` (the models of the ``ml_dbt_models`` asset)."""
    landing = workdir / "landing"
    generate(landing, DEMO)
    results = load_landing(dsn, landing, progress=False)
    assert all(r.ok for r in results), [r.line() for r in results]
    sync_demo_klaviyo(dsn)
    env = dbt_test_env(settings.dbt_env(dsn))
    wanted = models or marts_read_by_dashboards()
    # Whether some wanted mart is ML-fed is read from the manifest this build writes, so the
    # marts the ML assets read (cheap) are built either way: that saves a `dbt ls` (~5 s).
    selected = [f"+{name}" for name in [*wanted, *ml_asset_inputs()]]
    args = ["build", "--select", *selected, "--exclude", ML_FED, "--resource-type", "seed", "--resource-type", "model"]
    result = run_dbt(args, env, workdir)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    if not set(wanted) & ml_fed_models(workdir / "target" / "manifest.json"):
        return
    materialize_ml_assets(dsn)
    args = ["build", "--select", ML_FED, "--resource-type", "model"]
    result = run_dbt(args, env, workdir)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]


def ml_fed_models(manifest: Path) -> set[str]:
    """Names of the models downstream of the ML assets' tables (dbt's ``source:ml+``), from
    the manifest a dbt run just wrote."""
    graph = json.loads(manifest.read_text())
    todo = [uid for uid, source in graph["sources"].items() if source["source_name"] == "ml"]
    seen: set[str] = set()
    while todo:
        for child in graph["child_map"].get(todo.pop(), []):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return {graph["nodes"][uid]["name"] for uid in seen if uid.startswith("model.")}


def ml_asset_inputs() -> list[str]:
    """The marts the ML assets read (their ``marts/<model>`` dependencies)."""
    from orchestration.assets.ml import ml_assets

    keys = {dep.asset_key for asset in ml_assets for spec in asset.specs for dep in spec.deps}
    return sorted(key.path[-1] for key in keys if key.path[0] == "marts")


def materialize_ml_assets(dsn: str) -> None:
    """Run the ML assets (segmentation, forecasts) in-process on the warehouse at ``dsn``."""
    import dagster as dg

    from orchestration.assets.ml import ml_assets
    from orchestration.materialize import _first_failure
    from orchestration.resources import WarehouseResource

    result = dg.materialize(
        ml_assets,
        resources={"warehouse": WarehouseResource(dsn=dsn)},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
        # Dagster's DEBUG event stream would fill the output of `pytest -s`.
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    assert result.success, _first_failure(result)


def sync_demo_klaviyo(dsn: str) -> None:
    """Sync every stream of a demo Klaviyo account (the local server) into ``klaviyo_raw``.

    The account mirrors ``DEMO``'s customers and orders; the sync runs two days after the
    data ends, as ``make run`` does, so the campaign values report covers the demo period."""
    from orchestration.klaviyo.config import AccountConfig
    from orchestration.klaviyo.fake.app import create_app
    from orchestration.klaviyo.fake.data import FakeAccount, FakeAccountConfig
    from orchestration.klaviyo.fake.server import ThreadedServer
    from orchestration.klaviyo.sync import sync_accounts

    account = FakeAccount(FakeAccountConfig.mirroring(DEMO, account_id="demo"))
    key = "pk_dashboards_" + uuid.uuid4().hex
    now = datetime.combine(DEMO.end + timedelta(days=2), time.min, tzinfo=timezone.utc)
    with ThreadedServer(create_app({key: account})) as server:
        sync_accounts(dsn, [AccountConfig("demo", key, base_url=server.base_url)], now=now)


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
