"""``python -m orchestration.reports`` (``make report``): materialize only reports/executive_report
against the current warehouse, recorded in the Dagster instance, and print where the files are."""

from __future__ import annotations

import os
import sys


def main() -> int:
    """Run the report asset; 0 on success, 1 with one sentence on stderr otherwise."""
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    from orchestration import errors

    try:
        from orchestration.assets.reports import REPORT_KEY
        from orchestration.materialize import materialize_all

        # Our one sentence (or the paths) is the output, not Dagster's event log.
        result = materialize_all(only=[REPORT_KEY], log_level="CRITICAL")
    except errors.UserFacingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    event = next(e for e in result.get_asset_materialization_events() if e.asset_key == REPORT_KEY)
    metadata = event.materialization.metadata
    print(f"Executive report ({metadata['period'].value}):")
    print(f"  HTML: {metadata['html_path'].value}")
    print(f"  PDF:  {metadata['pdf_path'].value} ({metadata['pdf_pages'].value} pages)")
    print()
    print(metadata["narrative"].value)
    return 0


if __name__ == "__main__":
    sys.exit(main())
