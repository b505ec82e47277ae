"""``warehouse`` command: build every asset and print the summary.

click is already a dependency of Dagster and gives us sub-commands, help and
exit codes for free, so it is used instead of hand-rolled argparse plumbing.
"""

from __future__ import annotations

import os
import sys

import click

from orchestration import errors


@click.group()
def main() -> None:
    """Marketing analytics warehouse."""


@main.command()
@click.option("--full-refresh", is_flag=True,
              help="Rebuild dbt's incremental models from scratch (once after a change to their columns).")
def run(full_refresh: bool) -> None:
    """Materialize every Dagster asset (loads, dbt build and its checks, ML, the dashboards),
    then print the summary and where the report and the dashboards are."""
    from orchestration import summary
    from orchestration.assets.dashboards import DASHBOARDS_KEY, NPM_MISSING, npm_available
    from orchestration.assets.reports import REPORT_KEY
    from orchestration.materialize import materialize_all

    # Without npm the dashboards cannot be built: build the rest and say so, rather than fail
    # a warehouse that is complete (the asset itself still fails with that sentence in the UI).
    skip_dashboards = not npm_available()
    try:
        result = materialize_all(exclude=[DASHBOARDS_KEY] if skip_dashboards else [], full_refresh=full_refresh)
        click.echo(summary.render())
    except errors.UserFacingError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        if event.asset_key == REPORT_KEY:
            click.echo(f"Executive report: {metadata['html_path'].value} and {metadata['pdf_path'].value}")
        if event.asset_key == DASHBOARDS_KEY:
            path = metadata["path"].value
            click.echo(f"Dashboards built in {path}; open them with `make dashboards-serve` (http://127.0.0.1:3001).")
    if skip_dashboards:
        click.echo(f"Dashboards skipped: {NPM_MISSING}")


@main.command(name="summary")
def summary_cmd() -> None:
    """Print the summary of what the warehouse holds now."""
    from orchestration import summary

    try:
        click.echo(summary.render())
    except errors.UserFacingError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    main()
