"""The executive report asset: the marts → a self-contained HTML report and its PDF.

The work happens in :mod:`orchestration.reports`; this module only wires it into Dagster.
"""

import dagster as dg
from pydantic import Field

from orchestration.reports.build import build_report, reports_dir
from orchestration.reports.data import OPTIONAL_MARTS, REQUIRED_MARTS
from orchestration.reports.narrative import load_writer
from orchestration.resources import WarehouseResource

REPORT_KEY = dg.AssetKey(["reports", "executive_report"])


def _mart_deps() -> list[dg.AssetKey]:
    """The marts the report reads (the optional ML marts too: the dbt project builds them; the
    report only leaves their sections out while they are empty)."""
    return [dg.AssetKey(["marts", name]) for name in (*REQUIRED_MARTS, *OPTIONAL_MARTS)]


class ExecutiveReportConfig(dg.Config):
    """Run configuration of the report (every field optional)."""

    output_dir: str | None = Field(default=None, description=(
        "Folder for executive_report.html and .pdf; default $WAREHOUSE_REPORTS_DIR, else "
        ".warehouse/artifacts/reports/."
    ))
    period_days: int = Field(default=30, ge=1, description=(
        "Days in the current and in the previous period; the current one ends on the newest day in the data."
    ))
    narrative_writer: str | None = Field(default=None, description=(
        "package.module:ClassName of a NarrativeWriter to use instead of the built-in rule-based one."
    ))


@dg.asset(
    key=REPORT_KEY,
    deps=_mart_deps(),
    group_name="reports",
    kinds={"python", "html", "pdf"},
    owners=["team:analytics-engineering"],
    description=(
        "Executive report from the marts: headline KPIs of the last 30 days of data vs the 30 before, "
        "channel table, top/bottom campaigns by ROI, cohort retention heatmap, ML segments, revenue "
        "forecast with its interval, and a plain-language summary written deterministically from the "
        "numbers. One self-contained HTML file (charts embedded) and its A4 PDF printed by headless "
        "Chromium, in $WAREHOUSE_REPORTS_DIR (default .warehouse/artifacts/reports/)."
    ),
)
def executive_report(
    context: dg.AssetExecutionContext, config: ExecutiveReportConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Build the report and record where it is, its page count, its summary and its KPIs."""
    built = build_report(
        warehouse.get_dsn(),
        reports_dir(config.output_dir),
        period_days=config.period_days,
        writer=load_writer(config.narrative_writer),
    )
    data = built.data
    context.log.info(f"Executive report: {built.html_path} and {built.pdf_path} ({built.pdf_pages} pages)")
    kpis = {f"kpi/{k.name}": float(k.current) for k in data.kpis if k.current is not None}
    kpis.update({f"kpi/{k.name}_previous": float(k.previous) for k in data.kpis if k.previous is not None})
    return dg.MaterializeResult(
        metadata={
            "html_path": dg.MetadataValue.path(str(built.html_path)),
            "pdf_path": dg.MetadataValue.path(str(built.pdf_path)),
            "pdf_pages": built.pdf_pages,
            "period": f"{data.current.start} to {data.current.end} vs {data.previous.start} to {data.previous.end}",
            "narrative": dg.MetadataValue.md(built.narrative.markdown()),
            "missing_sections": dg.MetadataValue.json(dict(data.notes)),
            **kpis,
        }
    )


report_assets = [executive_report]
