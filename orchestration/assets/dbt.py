"""dbt models as Dagster assets: staging → intermediate → marts, tests as asset checks."""


import json
import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.automation import FOLLOW_INPUTS
from orchestration.errors import UserFacingError
from orchestration.project import ML_FED, dbt_project, ensure_manifest
from orchestration.resources import WarehouseResource

# Raw tables are produced by the CSV loader assets under the key raw/<table>.
RAW_SCHEMA = "raw"


class WarehouseDbtTranslator(DagsterDbtTranslator):
    """Asset keys <schema>/<name> and groups named for the warehouse layer."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        resource_type = dbt_resource_props["resource_type"]
        if resource_type == "source":
            # ads.campaign_performance → raw/campaign_performance (the loader's asset);
            # ml.forecasts → ml/forecasts (the ML asset's).
            return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])
        layer = _layer(dbt_resource_props)
        return dg.AssetKey([layer, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return RAW_SCHEMA
        if "ml" in dbt_resource_props.get("fqn", [])[1:-1]:
            # Models fed by the ML assets (models/*/ml/) join them in group ml, so the groups
            # stay a DAG (marts → ml → reports) and the lineage view reads left to right.
            return "ml"
        return _layer(dbt_resource_props)

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str] | None:
        return ["team:analytics-engineering"]

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition | None:
        # every model and seed follows its inputs (orchestration/automation.py)
        return FOLLOW_INPUTS


def _layer(props: Mapping[str, Any]) -> str:
    """staging / intermediate / marts from the model's folder; seeds for seeds."""
    if props["resource_type"] == "seed":
        return "seeds"
    fqn = props.get("fqn", [])
    for layer in ("staging", "intermediate", "marts"):
        if layer in fqn:
            return layer
    return "marts"


translator = WarehouseDbtTranslator(
    settings=DagsterDbtTranslatorSettings(
        enable_asset_checks=True,
        # Tests declared on the raw sources become checks of the loader's raw/* assets.
        enable_source_tests_as_checks=True,
        # Link each model asset to its SQL file in the UI.
        enable_code_references=True,
    )
)


#: Rows loaded this long before the previous build started are tested again (a raw
#: transaction may commit late; the same margin as klaviyo__events_reload_overlap_hours).
TEST_WINDOW_MARGIN = timedelta(hours=1)


class DbtBuildConfig(dg.Config):
    """``full_refresh``: rebuild incremental models from scratch (``dbt build --full-refresh``),
    needed once after a change to an incremental model's columns. ``full_tests``: run every
    data test on every row and the unit tests, as a first build does; by default a build
    after an earlier one tests only the rows loaded since (var ``data_tests_since``)."""

    full_refresh: bool = False
    full_tests: bool = False

    def build_args(self, tests_since: datetime | None = None) -> list[str]:
        """``dbt build`` arguments; ``tests_since``: the window of the data tests (None: all rows)."""
        if self.full_refresh:
            return ["build", "--full-refresh"]
        if self.full_tests or tests_since is None:
            return ["build"]
        # unit tests pin SQL logic, which a data refresh does not change: CI and full builds run them
        return ["build", "--exclude-resource-type", "unit_test",
                "--vars", json.dumps({"data_tests_since": tests_since.isoformat(sep=" ")})]


def tests_since(context: dg.AssetExecutionContext) -> datetime | None:
    """Start of the oldest run that last built one of the selected assets, less
    :data:`TEST_WINDOW_MARGIN`: every row loaded after it is new to the data tests. None when
    a selected asset was never built (everything is new)."""
    starts = []
    for key in context.selected_asset_keys:
        event = context.instance.get_latest_materialization_event(key)
        if event is None:
            return None
        record = context.instance.get_run_record_by_id(event.run_id)
        starts.append(record.start_time if record is not None and record.start_time else event.timestamp)
    if not starts:
        return None
    return datetime.fromtimestamp(min(starts), timezone.utc) - TEST_WINDOW_MARGIN


def _build(context: dg.AssetExecutionContext, config: DbtBuildConfig, dbt: DbtCliResource) -> Iterator[Any]:
    """``dbt build`` of the asset's selection, with row counts; an incremental table whose
    columns no longer match its model fails with one sentence naming the fix."""
    from dagster_dbt.errors import DagsterDbtCliRuntimeError

    try:
        yield from dbt.cli(config.build_args(tests_since(context)), context=context).stream().fetch_row_counts()
    except DagsterDbtCliRuntimeError as exc:
        model = out_of_sync_model(str(exc))
        if model is None:
            raise
        # from None: the sentence is the whole error, not dbt's message under it
        raise UserFacingError(
            f"The table of the incremental dbt model {model} no longer has the model's columns "
            "(a pulled change altered them); rebuild the incremental tables once with "
            "`make run FULL_REFRESH=1` (or `warehouse run --full-refresh`)."
        ) from None


def out_of_sync_model(dbt_error: str) -> str | None:
    """The model named by dbt's "schemas on this incremental model are out of sync" error."""
    if "incremental model are out of sync" not in dbt_error:
        return None
    match = re.search(r"Error in model (\w+)", dbt_error)
    return match.group(1) if match else "(see the dbt log)"


@dbt_assets(
    manifest=ensure_manifest(),
    project=dbt_project,
    dagster_dbt_translator=translator,
    exclude=ML_FED,
)
def warehouse_dbt_models(
    context: dg.AssetExecutionContext, config: DbtBuildConfig, dbt: DbtCliResource, warehouse: WarehouseResource
):
    """Build (run + test) the selected dbt models; failing tests fail their asset checks."""
    warehouse.export_dbt_env()
    yield from _build(context, config, dbt)


@dbt_assets(
    manifest=ensure_manifest(),
    project=dbt_project,
    dagster_dbt_translator=translator,
    select=ML_FED,
    name="ml_dbt_models",
)
def ml_dbt_models(
    context: dg.AssetExecutionContext, config: DbtBuildConfig, dbt: DbtCliResource, warehouse: WarehouseResource
):
    """Build the staging models and marts that read the ML assets' tables (newest model version)."""
    warehouse.export_dbt_env()
    yield from _build(context, config, dbt)
