"""Build every asset in-process, recording runs in the Dagster instance (``DAGSTER_HOME``)."""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path

import dagster as dg

from orchestration.errors import UserFacingError
from orchestration.settings import REPO_ROOT


def _instance() -> dg.DagsterInstance:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / ".warehouse" / "dagster")))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        # No network here and none wanted: no telemetry.
        config.write_text("telemetry:\n  enabled: false\n")
    return dg.DagsterInstance.get()


def materialize_all(
    instance: dg.DagsterInstance | None = None,
    log_level: str = "INFO",
    exclude: Collection[dg.AssetKey] = (),
    only: Collection[dg.AssetKey] | None = None,
    full_refresh: bool = False,
) -> dg.ExecuteInProcessResult:
    """Run the whole asset graph once (but the ``exclude`` assets; or ``only`` those assets);
    raise a one-sentence error naming the failed step. ``full_refresh`` rebuilds the dbt
    models' incremental tables from scratch (whole-graph runs only)."""
    from orchestration.definitions import defs

    job = defs.resolve_implicit_global_asset_job_def()
    if only is not None:
        selection = sorted(set(only) - set(exclude), key=lambda k: k.to_user_string())
    else:
        selection = selection_without(defs, exclude) if exclude else None
    # Step-level INFO (files loaded, dbt commands) without Dagster's DEBUG event stream.
    run_config: dict = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    if full_refresh:
        if only is not None:
            raise ValueError("full_refresh applies to whole-graph runs, not to an 'only' selection")
        run_config["ops"] = full_refresh_ops()
    result = job.execute_in_process(
        instance=instance or _instance(),
        raise_on_error=False,
        asset_selection=selection,
        run_config=run_config,
    )
    if not result.success:
        raise UserFacingError(_first_failure(result))
    return result


def full_refresh_ops() -> dict:
    """Run config (``ops`` section) that makes both dbt assets rebuild incremental tables."""
    from orchestration.assets.dbt import ml_dbt_models, warehouse_dbt_models

    return {asset.op.name: {"config": {"full_refresh": True}} for asset in (warehouse_dbt_models, ml_dbt_models)}


def selection_without(defs: dg.Definitions, exclude: Collection[dg.AssetKey]) -> list[dg.AssetKey]:
    """Every materializable asset of ``defs`` but ``exclude`` (their checks come along)."""
    keys = defs.resolve_asset_graph().materializable_asset_keys
    return sorted(set(keys) - set(exclude), key=lambda k: k.to_user_string())


def _first_failure(result: dg.ExecuteInProcessResult) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data:
            error = event.step_failure_data.error
            # The innermost cause is our own one-sentence error when we raised one.
            while error is not None and error.cause is not None:
                error = error.cause
            message = (error.message if error else "unknown error").strip()
            message = message.split(": ", 1)[1] if message.split(": ", 1)[0].endswith("Error") else message
            return f"step {event.step_key} failed: {message}"
    return "the run failed before any step started; see the Dagster UI (make dev) for the run's logs."
