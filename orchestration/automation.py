"""When each asset refreshes: declarative automation per asset, and a sensor on the landing folder.

- ``landing_files_sensor`` loads exactly the raw tables whose landing files appeared or changed.
- dbt models are *eager*: they run as soon as a table they read has changed (and nothing they
  read is missing or still running), so a new orders file rebuilds the order marts and leaves
  the campaign and Klaviyo models alone.
- Klaviyo streams sync every hour; the ML models, the dashboards and the executive report run
  once a day (06:00 UTC) after their inputs have changed since then.
- ``refresh_warehouse`` materializes everything, for a manual full refresh.

The sensors (``landing_files_sensor`` and ``warehouse_automation``, which evaluates the
conditions) are stopped by default, so ``make dev`` starts no run by itself; switch them on in
the UI (Automation) or with ``dagster sensor start``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import dagster as dg

from orchestration.resources import WarehouseResource

REFRESH_JOB = "refresh_warehouse"
AUTOMATION_SENSOR = "warehouse_automation"

# dbt models follow their inputs; the rest runs on a clock (once its inputs changed since).
FOLLOW_INPUTS = dg.AutomationCondition.eager()
HOURLY = dg.AutomationCondition.on_cron("0 * * * *", "UTC")
DAILY = dg.AutomationCondition.on_cron("0 6 * * *", "UTC")


def landing_fingerprint(landing_dir: Path, globs: Iterable[str]) -> dict[str, str]:
    """{relative path: size-mtime} of every file the specs' globs match."""
    seen: dict[str, str] = {}
    for pattern in globs:
        for path in sorted(landing_dir.glob(pattern)):
            if path.is_file():
                stat = path.stat()
                seen[str(path.relative_to(landing_dir))] = f"{stat.st_size}-{stat.st_mtime_ns}"
    return seen


def raw_assets_for(paths: Iterable[str], globs_by_asset: Mapping[dg.AssetKey, list[str]]) -> list[dg.AssetKey]:
    """The raw assets whose landing globs match any of ``paths`` (relative to the landing folder)."""
    return sorted(
        (key for key, globs in globs_by_asset.items()
         if any(fnmatch.fnmatch(path, pattern) for path in paths for pattern in globs)),
        key=lambda key: key.to_user_string(),
    )


def with_condition(assets: dg.AssetsDefinition, condition: dg.AutomationCondition) -> dg.AssetsDefinition:
    """``assets`` with ``condition`` on every asset it produces."""
    return assets.map_asset_specs(lambda spec: spec.replace_attributes(automation_condition=condition))


def build_automation(
    globs_by_asset: Mapping[dg.AssetKey, list[str]],
) -> tuple[dg.UnresolvedAssetJobDefinition, dg.SensorDefinition, dg.AutomationConditionSensorDefinition]:
    """The full-refresh job, the landing-folder sensor and the automation-condition sensor."""
    globs = [pattern for patterns in globs_by_asset.values() for pattern in patterns]
    job = dg.define_asset_job(REFRESH_JOB, selection=dg.AssetSelection.all(), description=(
        "Everything: load the landing files, sync Klaviyo, rebuild and test every dbt model, "
        "the ML models, dashboards and report (day to day, each asset's automation condition "
        "refreshes only what changed)."
    ))

    @dg.sensor(
        name="landing_files_sensor",
        target=dg.AssetSelection.assets(*globs_by_asset),
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=(
            "Loads the raw tables whose landing files appeared or changed; the dbt models that "
            "read them follow through their automation condition."
        ),
    )
    def landing_files_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
        current = landing_fingerprint(warehouse.get_landing_dir(), globs)
        previous = json.loads(context.cursor) if context.cursor else {}
        changed = sorted(p for p, fp in current.items() if previous.get(p) != fp)
        context.update_cursor(json.dumps(current, sort_keys=True))
        if not changed:
            return dg.SkipReason("No new or changed files in the landing folder.")
        run_key = hashlib.sha256(json.dumps(current, sort_keys=True).encode()).hexdigest()[:16]
        return dg.RunRequest(
            run_key=run_key,
            asset_selection=raw_assets_for(changed, globs_by_asset),
            tags={"landing_files": ", ".join(changed)[:1000]},
        )

    automation = dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR,
        target=dg.AssetSelection.all(),
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Evaluates every asset's automation condition and requests what is due.",
    )
    return job, landing_files_sensor, automation
