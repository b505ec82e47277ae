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
from orchestration.assets.raw import globs_by_raw_asset, landing_specs, raw_assets
from orchestration.assets.reconciliation import klaviyo_campaigns_reconcile
from orchestration.assets.reports import report_assets
from orchestration.automation import DAILY, HOURLY, build_automation, with_condition
from orchestration.project import dbt_project
from orchestration.resources import WarehouseResource


def build_defs(
    warehouse: WarehouseResource | None = None, klaviyo: KlaviyoResource | None = None
) -> dg.Definitions:
    """Definitions wired to ``warehouse`` and ``klaviyo`` (default: configured from the environment)."""
    # automation (orchestration/automation.py): raw tables load when their files change (the
    # landing sensor), dbt models follow their inputs, Klaviyo syncs hourly, ML, dashboards
    # and the report run daily
    daily = [with_condition(a, DAILY) for a in (*ml_assets, evidence_site, *report_assets)]
    all_assets = [*raw_assets, with_condition(klaviyo_streams, HOURLY), warehouse_dbt_models, ml_dbt_models, *daily]
    job, landing_sensor, automation_sensor = build_automation(globs_by_raw_asset)
    return dg.Definitions(
        assets=[*landing_specs, *all_assets],
        asset_checks=[*ml_checks, klaviyo_campaigns_reconcile],
        jobs=[job],
        sensors=[landing_sensor, automation_sensor],
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
