"""The whole report in one call: marts → data → narrative → HTML → PDF, written to a folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from orchestration import errors
from orchestration.reports.data import ReportData, load_report_data
from orchestration.reports.narrative import Narrative, NarrativeWriter, RuleBasedNarrative
from orchestration.reports.pdf import html_to_pdf
from orchestration.reports.render import render_html
from orchestration.settings import REPO_ROOT

HTML_NAME = "executive_report.html"
PDF_NAME = "executive_report.pdf"


def reports_dir(configured: str | None = None) -> Path:
    """Where the report goes: ``configured``, else ``$WAREHOUSE_REPORTS_DIR``, else
    ``.warehouse/artifacts/reports/`` under the repository root."""
    chosen = configured or os.environ.get("WAREHOUSE_REPORTS_DIR") or REPO_ROOT / ".warehouse" / "artifacts" / "reports"
    return Path(chosen).resolve()


@dataclass(frozen=True)
class BuiltReport:
    """What :func:`build_report` wrote and the numbers it wrote it from."""

    data: ReportData
    narrative: Narrative
    html_path: Path
    pdf_path: Path
    pdf_pages: int


def build_report(
    dsn: str, out_dir: Path, period_days: int = 30, writer: NarrativeWriter | None = None
) -> BuiltReport:
    """Read the marts at ``dsn``, write ``executive_report.html`` and ``.pdf`` into ``out_dir``.

    The HTML is written before the PDF, so it is there even when Chromium is missing (which
    raises :class:`~orchestration.errors.UserFacingError`)."""
    with errors.connect(dsn) as conn:
        data = load_report_data(conn, period_days=period_days)
    narrative = (writer or RuleBasedNarrative()).write(data)
    html = render_html(data, narrative)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / HTML_NAME
    html_path.write_text(html, encoding="utf-8")
    pdf_path = out_dir / PDF_NAME
    pdf_path.unlink(missing_ok=True)  # never leave an older PDF beside a newer HTML
    pages = html_to_pdf(html, pdf_path)
    return BuiltReport(data, narrative, html_path, pdf_path, pages)
