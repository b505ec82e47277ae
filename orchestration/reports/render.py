"""Fill the Jinja2 template with the report's data, narrative and charts: one self-contained HTML file.

The template (``templates/executive_report.html.j2``) has its CSS inline (print rules for A4
included) and its images as ``data:`` URIs; it loads nothing from anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import jinja2

from orchestration.reports import charts
from orchestration.reports import formatting as fmt
from orchestration.reports.data import ReportData
from orchestration.reports.narrative import Narrative

TEMPLATES = Path(__file__).with_name("templates")
TEMPLATE = "executive_report.html.j2"


@dataclass(frozen=True)
class Charts:
    """The report's images as ``data:`` URIs (None when a section has nothing to draw)."""

    channels: str | None
    cohorts: str | None
    segments: str | None
    forecast: str | None

    @classmethod
    def draw(cls, data: ReportData) -> Charts:
        """Draw every chart of ``data``."""
        return cls(
            channels=charts.channel_chart(data.channels),
            cohorts=charts.cohort_heatmap(data.cohorts),
            segments=charts.segment_chart(data.segments),
            forecast=charts.forecast_chart(data.forecast),
        )


def environment() -> jinja2.Environment:
    """The Jinja2 environment: autoescaping, strict undefined, the display filters of :mod:`.formatting`."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        money=fmt.money,
        ratio=fmt.ratio,
        count=fmt.count,
        percent=fmt.percent,
        signed_percent=fmt.signed_percent,
        signed_ratio=fmt.signed_ratio,
        day=fmt.day,
        month=fmt.month,
        channel=fmt.channel_label,
    )
    return env


def render_html(data: ReportData, narrative: Narrative) -> str:
    """The report as one HTML document."""
    template = environment().get_template(TEMPLATE)
    return template.render(
        data=data,
        narrative=narrative,
        charts=Charts.draw(data),
        generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )
