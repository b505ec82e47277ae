"""When the warehouse refreshes: a daily schedule and a sensor on the landing folder."""


import hashlib
import json
from collections.abc import Iterable
from typing import Any
from pathlib import Path

import dagster as dg

from orchestration.resources import WarehouseResource

REFRESH_JOB = "refresh_warehouse"


def landing_fingerprint(landing_dir: Path, globs: Iterable[str]) -> dict[str, str]:
    """{relative path: size-mtime} of every file the specs' globs match."""
    seen: dict[str, str] = {}
    for pattern in globs:
        for path in sorted(landing_dir.glob(pattern)):
            if path.is_file():
                stat = path.stat()
                seen[str(path.relative_to(landing_dir))] = f"{stat.st_size}-{stat.st_mtime_ns}"
    return seen


def build_automation(
    globs: Iterable[str],
) -> tuple[dg.JobDefinition | Any, dg.ScheduleDefinition, dg.SensorDefinition]:
    """The refresh job (every asset), its daily schedule and the landing-folder sensor."""
    globs = list(globs)
    job = dg.define_asset_job(REFRESH_JOB, selection=dg.AssetSelection.all(), description=(
        "Load new landing files, then rebuild and test every dbt model."
    ))
    schedule = dg.ScheduleDefinition(
        name="daily_refresh",
        job=job,
        cron_schedule="0 6 * * *",
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Refresh the whole warehouse every morning at 06:00 UTC.",
    )

    @dg.sensor(
        name="landing_files_sensor",
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Starts a refresh when a file appears or changes in the landing folder.",
    )
    def landing_files_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
        current = landing_fingerprint(warehouse.get_landing_dir(), globs)
        previous = json.loads(context.cursor) if context.cursor else {}
        changed = sorted(p for p, fp in current.items() if previous.get(p) != fp)
        context.update_cursor(json.dumps(current, sort_keys=True))
        if not changed:
            return dg.SkipReason("No new or changed files in the landing folder.")
        run_key = hashlib.sha256(json.dumps(current, sort_keys=True).encode()).hexdigest()[:16]
        return dg.RunRequest(run_key=run_key, tags={"landing_files": ", ".join(changed)[:1000]})

    return job, schedule, landing_files_sensor
