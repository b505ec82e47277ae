"""The report's charts: matplotlib (Agg, no display) → PNG → ``data:`` URI, so the HTML is self-contained.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot state); see
:mod:`orchestration.figures`.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from orchestration.figures import png_data_uri
from orchestration.reports import formatting as fmt
from orchestration.reports.data import ChannelRow, CohortCell, ForecastData, SegmentRow

DPI = 150
INK = "#1f2933"
MUTED = "#7b8794"
SPEND = "#9aa5b1"
REVENUE = "#2563eb"
FORECAST = "#d97706"


def _style(ax) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8, colors=INK)
    ax.grid(axis="x", color="#e4e7eb", linewidth=0.6)
    ax.set_axisbelow(True)


def _thousands(value: float, _pos: int | None = None) -> str:
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.0f}"


def channel_chart(channels: Sequence[ChannelRow]) -> str | None:
    """Horizontal bars of spend and revenue per channel in the current period."""
    rows = [c for c in channels if c.current.spend or c.current.revenue][:12]
    if not rows:
        return None
    rows = rows[::-1]  # largest at the top
    fig = Figure(figsize=(7.0, 0.42 * len(rows) + 0.9))
    ax = fig.subplots()
    y = range(len(rows))
    ax.barh([i + 0.2 for i in y], [c.current.revenue for c in rows], height=0.38, color=REVENUE, label="revenue")
    ax.barh([i - 0.2 for i in y], [c.current.spend for c in rows], height=0.38, color=SPEND, label="spend")
    ax.set_yticks(list(y), [fmt.channel_label(c.channel) for c in rows])
    ax.xaxis.set_major_formatter(_thousands)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    _style(ax)
    return png_data_uri(fig, DPI)


def cohort_heatmap(cells: Sequence[CohortCell]) -> str | None:
    """Retention by cohort month (rows) and months since first purchase (columns)."""
    cells = [c for c in cells if c.retention_rate is not None]
    if not cells:
        return None
    cohorts = sorted({c.cohort_month for c in cells})
    months = max(c.months_since_first_purchase for c in cells) + 1
    grid = [[float("nan")] * months for _ in cohorts]
    partial: set[tuple[int, int]] = set()
    index = {cohort: i for i, cohort in enumerate(cohorts)}
    for c in cells:
        grid[index[c.cohort_month]][c.months_since_first_purchase] = c.retention_rate
        if c.is_partial_month:
            partial.add((index[c.cohort_month], c.months_since_first_purchase))
    fig = Figure(figsize=(7.0, 0.34 * len(cohorts) + 1.1))
    ax = fig.subplots()
    # Month 0 is 100 % by definition; scale the colours on the later months so they differ.
    later = [c.retention_rate for c in cells if c.months_since_first_purchase > 0]
    top = max(later) if later else 1.0
    image = ax.imshow(grid, aspect="auto", cmap="Blues", vmin=0, vmax=max(top, 0.01))
    for i, row in enumerate(grid):
        for k, value in enumerate(row):
            if value == value:  # not NaN
                label = fmt.percent(value).rstrip("%") + ("*" if (i, k) in partial else "")
                ax.text(k, i, label, ha="center", va="center", fontsize=7,
                        color="white" if value > 0.6 * top else INK)
    ax.set_xticks(range(months), [str(k) for k in range(months)])
    ax.set_yticks(range(len(cohorts)), [fmt.month(c) for c in cohorts])
    ax.set_xlabel("months since first purchase", fontsize=8, color=MUTED)
    ax.tick_params(labelsize=8, colors=INK, length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    bar = fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02)
    bar.ax.tick_params(labelsize=7)
    bar.ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    return png_data_uri(fig, DPI)


def segment_chart(segments: Sequence[SegmentRow]) -> str | None:
    """Share of customers next to share of revenue, per segment."""
    rows = [s for s in segments if s.customer_share is not None and s.revenue_share is not None]
    if not rows:
        return None
    rows = rows[::-1]
    fig = Figure(figsize=(7.0, 0.42 * len(rows) + 0.9))
    ax = fig.subplots()
    y = range(len(rows))
    ax.barh([i + 0.2 for i in y], [s.revenue_share for s in rows], height=0.38, color=REVENUE,
            label="share of revenue")
    ax.barh([i - 0.2 for i in y], [s.customer_share for s in rows], height=0.38, color=SPEND,
            label="share of customers")
    ax.set_yticks(list(y), [s.segment_label for s in rows])
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    _style(ax)
    return png_data_uri(fig, DPI)


def forecast_chart(forecast: ForecastData | None) -> str | None:
    """Daily total revenue: recent actuals, then the forecast with its interval."""
    if forecast is None or not forecast.points:
        return None
    actual = [p for p in forecast.points if p.actual is not None]
    ahead = [p for p in forecast.points if p.is_forecast and p.yhat is not None]
    if not actual and not ahead:
        return None
    fig = Figure(figsize=(7.0, 2.8))
    ax = fig.subplots()
    if actual:
        ax.plot([p.ds for p in actual], [p.actual for p in actual], color=INK, linewidth=1.0, label="actual")
    if ahead:
        days = [p.ds for p in ahead]
        lower = [p.yhat_lower if p.yhat_lower is not None else p.yhat for p in ahead]
        upper = [p.yhat_upper if p.yhat_upper is not None else p.yhat for p in ahead]
        ax.fill_between(days, lower, upper, color=FORECAST, alpha=0.22, linewidth=0, label="forecast interval")
        ax.plot(days, [p.yhat for p in ahead], color=FORECAST, linewidth=1.4, label="forecast")
    ax.yaxis.set_major_formatter(_thousands)
    ax.legend(fontsize=8, frameon=False, loc="upper left", ncols=3)
    _style(ax)
    ax.grid(axis="y", color="#e4e7eb", linewidth=0.6)
    fig.autofmt_xdate()
    return png_data_uri(fig, DPI)
