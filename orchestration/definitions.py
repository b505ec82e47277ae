"""The one Dagster ``Definitions`` of the warehouse: landing → raw → staging → marts."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.assets.dashboards import evidence_site
from orchestration.assets.dbt import ml_dbt_models, warehouse_dbt_models
from orchestration.assets.klaviyo import KlaviyoResource, klaviyo_streams
from orchestration.assets.ml import ml_assets, ml_checks
from orchestration.assets.raw import landing_globs, landing_specs, raw_assets
from orchestration.assets.reconciliation import klaviyo_campaigns_reconcile
from orchestration.assets.reports import report_assets
from orchestration.automation import build_automation
from orchestration.project import dbt_project
from orchestration.resources import WarehouseResource


def build_defs(
    warehouse: WarehouseResource | None = None, klaviyo: KlaviyoResource | None = None
) -> dg.Definitions:
    """Definitions wired to ``warehouse`` and ``klaviyo`` (default: configured from the environment)."""
    all_assets = [*raw_assets, klaviyo_streams, warehouse_dbt_models, *ml_assets, ml_dbt_models, evidence_site]
    all_assets += report_assets  # reports/executive_report: HTML + PDF from the marts
    job, schedule, sensor = build_automation(landing_globs)
    return dg.Definitions(
        assets=[*landing_specs, *all_assets],
        asset_checks=[*ml_checks, klaviyo_campaigns_reconcile],
        jobs=[job],
        schedules=[schedule],
        sensors=[sensor],
        resources={
            "warehouse": warehouse or WarehouseResource(),
            "klaviyo": klaviyo or KlaviyoResource(),
            "dbt": DbtCliResource(
                project_dir=dbt_project,
                dbt_executable=str(Path(sys.executable).with_name("dbt")),
            ),
        },
    )


defs = build_defs()
