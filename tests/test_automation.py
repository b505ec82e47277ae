"""The landing sensor loads exactly the raw tables whose files appeared or changed; the automation
conditions then request exactly the dbt models downstream of them (not the campaign, Klaviyo or
ML assets), and the rest runs on its clock."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg

from orchestration.automation import AUTOMATION_SENSOR, DAILY, FOLLOW_INPUTS, HOURLY
from orchestration.definitions import build_defs
from orchestration.project import dbt_project
from orchestration.resources import WarehouseResource


def _tick(sensor: dg.SensorDefinition, landing: Path, cursor: str | None):
    context = dg.build_sensor_context(
        cursor=cursor, resources={"warehouse": WarehouseResource(dsn="unused", landing_dir=str(landing))}
    )
    result = sensor.evaluate_tick(context)
    return result, result.cursor


def test_landing_sensor_fires_on_new_and_changed_files_only(tmp_path: Path) -> None:
    defs = build_defs(WarehouseResource(dsn="unused", landing_dir=str(tmp_path)))
    sensor = defs.resolve_sensor_def("landing_files_sensor")

    result, cursor = _tick(sensor, tmp_path, None)
    assert not result.run_requests  # empty landing folder

    csv = tmp_path / "campaign_performance" / "jan.csv"
    csv.parent.mkdir()
    csv.write_text("date,campaign_name,channel,cost,impressions,clicks,conversions,revenue\n")
    (tmp_path / "notes.txt").write_text("not a source file")
    result, cursor = _tick(sensor, tmp_path, cursor)
    assert len(result.run_requests) == 1
    assert "campaign_performance/jan.csv" in result.run_requests[0].tags["landing_files"]
    assert result.run_requests[0].asset_selection == [dg.AssetKey(["raw", "campaign_performance"])]

    result, cursor = _tick(sensor, tmp_path, cursor)
    assert not result.run_requests  # nothing changed

    csv.write_text(csv.read_text() + "2024-01-01,a,fb,1,10,1,0,0\n")
    os.utime(csv, ns=(csv.stat().st_atime_ns, csv.stat().st_mtime_ns + 1_000_000))
    result, cursor = _tick(sensor, tmp_path, cursor)
    assert len(result.run_requests) == 1


def test_each_asset_has_its_automation_condition() -> None:
    """dbt models follow their inputs; Klaviyo syncs hourly; ML, dashboards and report run daily;
    the raw tables load from the landing sensor; no schedule rebuilds everything."""
    defs = build_defs(WarehouseResource(dsn="unused", landing_dir="/nonexistent"))
    conditions = {spec.key: spec.automation_condition for spec in defs.resolve_all_asset_specs()}
    by_group = {spec.key: spec.group_name for spec in defs.resolve_all_asset_specs()}
    for key, condition in conditions.items():
        group = by_group[key]
        if group in ("landing", "raw"):
            assert condition is None, key
        elif group == "klaviyo":
            assert condition == HOURLY, key
        elif key.path[0] in ("ml", "dashboards", "reports"):  # ML-fed dbt models are marts/...
            assert condition == DAILY, key
        else:
            assert condition == FOLLOW_INPUTS, key
    assert not list(defs.schedules or [])
    assert defs.resolve_sensor_def(AUTOMATION_SENSOR).default_status == dg.DefaultSensorStatus.STOPPED


def _dbt_descendants(unique_id: str) -> set[str]:
    """Names of the dbt models and seeds downstream of ``unique_id``, from dbt's own manifest."""
    manifest = json.loads(Path(dbt_project.manifest_path).read_text())
    seen: set[str] = set()
    todo = [unique_id]
    while todo:
        for child in manifest["child_map"].get(todo.pop(), []):
            if child.split(".")[0] in ("model", "seed") and child not in seen:
                seen.add(child)
                todo.append(child)
    return {child.split(".")[-1] for child in seen}


def test_a_new_orders_file_requests_only_the_models_that_read_orders(tmp_path: Path) -> None:
    """Everything materialized once; then raw/orders changes: the automation conditions request
    the dbt models downstream of the orders source (as dbt's manifest lists them) and nothing
    else — no campaign or Klaviyo model, no ML, dashboards or report, no raw table."""
    defs = build_defs(WarehouseResource(dsn="unused", landing_dir=str(tmp_path)))
    keys = [spec.key for spec in defs.resolve_all_asset_specs()]
    instance = dg.DagsterInstance.ephemeral()
    for key in keys:
        instance.report_runless_asset_event(dg.AssetMaterialization(key))
    first = datetime(2026, 12, 7, 10, 15, tzinfo=timezone.utc)  # between two cron ticks
    settled = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=first)
    quiet = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=settled.cursor, evaluation_time=first.replace(minute=16))
    assert quiet.total_requested == 0  # nothing changed, no tick passed

    instance.report_runless_asset_event(dg.AssetMaterialization(dg.AssetKey(["raw", "orders"])))
    after = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=quiet.cursor, evaluation_time=first.replace(minute=17))
    requested = {key for key in keys if after.get_num_requested(key)}
    expected = _dbt_descendants("source.marketing_warehouse.shop.orders")
    assert {"fct_orders", "dim_customers", "fct_customer_cohorts", "fct_customer_rfm"} <= expected
    assert {key.path[-1] for key in requested} == expected
    assert all(key.path[0] in ("staging", "intermediate", "marts", "ml") for key in requested), requested
    for untouched in (["marts", "fct_campaign_daily"], ["staging", "stg_klaviyo__events"],
                      ["ml", "customer_segments"], ["dashboards", "evidence_site"], ["raw", "customers"]):
        assert dg.AssetKey(untouched) not in requested, untouched


def test_lineage_reads_landing_raw_staging_marts() -> None:
    defs = build_defs(WarehouseResource(dsn="unused", landing_dir="/nonexistent"))
    specs = {spec.key: spec for spec in defs.resolve_all_asset_specs()}
    deps = {key: {d.asset_key for d in spec.deps} for key, spec in specs.items()}
    groups = {key: spec.group_name for key, spec in specs.items()}
    for table in ("campaign_performance", "customers", "orders"):
        assert deps[dg.AssetKey(["raw", table])] == {dg.AssetKey(["landing", table])}
    assert dg.AssetKey(["raw", "campaign_performance"]) in deps[dg.AssetKey(["staging", "stg_ads__campaign_performance"])]

    def upstream(key: dg.AssetKey) -> set[dg.AssetKey]:
        seen, todo = set(), [key]
        while todo:
            for dep in deps.get(todo.pop(), ()):
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return seen

    for mart in ("fct_campaign_daily", "fct_campaign_performance", "fct_channel_performance"):
        key = dg.AssetKey(["marts", mart])
        assert groups[key] == "marts"
        layers = {groups[k] for k in upstream(key)}
        assert {"landing", "raw", "staging"} <= layers, (mart, layers)


def test_dbt_builds_test_the_rows_loaded_since_the_previous_build() -> None:
    """The dbt assets' data-test window: none on a first build (every row is new), then the
    start of the run that last built the assets less the margin, passed as var
    ``data_tests_since`` with the unit tests left to full builds and CI."""
    from orchestration.assets.dbt import TEST_WINDOW_MARGIN, DbtBuildConfig, tests_since

    seen: list[datetime | None] = []

    @dg.asset
    def some_model(context) -> None:  # noqa: ANN001 (dagster reads the annotation at run time)
        seen.append(tests_since(context))

    instance = dg.DagsterInstance.ephemeral()
    first = dg.materialize([some_model], instance=instance)
    dg.materialize([some_model], instance=instance)
    start = instance.get_run_record_by_id(first.run_id).start_time
    assert seen[0] is None
    assert seen[1] == datetime.fromtimestamp(start, timezone.utc) - TEST_WINDOW_MARGIN

    args = DbtBuildConfig().build_args(seen[1])
    assert args[:3] == ["build", "--exclude-resource-type", "unit_test"]
    assert json.loads(args[args.index("--vars") + 1]) == {"data_tests_since": seen[1].isoformat(sep=" ")}
    assert DbtBuildConfig().build_args(None) == ["build"]
    assert DbtBuildConfig(full_tests=True).build_args(seen[1]) == ["build"]
    assert DbtBuildConfig(full_refresh=True).build_args(seen[1]) == ["build", "--full-refresh"]
