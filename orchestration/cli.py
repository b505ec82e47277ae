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
def run() -> None:
    """Materialize every Dagster asset (loads, dbt build and its checks), then print the summary."""
    from orchestration import summary
    from orchestration.materialize import materialize_all

    try:
        materialize_all()
        click.echo(summary.render())
    except errors.UserFacingError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


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
