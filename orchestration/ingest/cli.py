"""``python -m orchestration.ingest --landing DIR [--source NAME]``: one line per file."""

from __future__ import annotations

import argparse
import sys

from orchestration import settings
from orchestration.ingest.errors import LoadError
from orchestration.ingest.loader import load_landing


def main(argv: list[str] | None = None) -> int:
    """Exit 0 when every file loaded or was skipped, 1 when a file was refused/failed, 2 on errors."""
    parser = argparse.ArgumentParser(prog="python -m orchestration.ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--landing", help="landing folder (default: WAREHOUSE_LANDING_DIR or landing/)")
    parser.add_argument("--source", action="append", help="only this spec (or raw table); repeatable")
    parser.add_argument("--dsn", help="connection string (default: WAREHOUSE_DSN, PG*, or the local cluster)")
    parser.add_argument("--spec-dir", help="folder of *.yml specs (default: the packaged specs)")
    parser.add_argument("--progress", dest="progress", action="store_true", default=None, help="always show progress")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="never show progress")
    args = parser.parse_args(argv)
    try:
        dsn = args.dsn or settings.warehouse_dsn()
        landing = args.landing or settings.landing_dir()
        results = load_landing(dsn, landing, args.source, spec_dir=args.spec_dir, progress=args.progress)
    except (LoadError, settings.SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not results:
        print(f"no files to load under {landing}")
    for result in results:
        print(result.line(), flush=True)
    return 0 if all(r.ok for r in results) else 1
