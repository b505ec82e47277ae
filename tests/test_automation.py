"""The landing sensor asks for a run exactly when a file appears or changes; the schedule exists."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from orchestration.definitions import build_defs
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

    result, cursor = _tick(sensor, tmp_path, cursor)
    assert not result.run_requests  # nothing changed

    csv.write_text(csv.read_text() + "2024-01-01,a,fb,1,10,1,0,0\n")
    os.utime(csv, ns=(csv.stat().st_atime_ns, csv.stat().st_mtime_ns + 1_000_000))
    result, cursor = _tick(sensor, tmp_path, cursor)
    assert len(result.run_requests) == 1


def test_daily_schedule_targets_the_refresh_job() -> None:
    defs = build_defs(WarehouseResource(dsn="unused", landing_dir="/nonexistent"))
    schedule = defs.resolve_schedule_def("daily_refresh")
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.job_name == "refresh_warehouse"


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
