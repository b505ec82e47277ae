"""The numbers of the executive report, read from the marts into plain dataclasses.

Periods are anchored on the newest day in the data, never on today: the *current* period
is the last ``period_days`` days of ``marts.fct_channel_performance`` (grain ``day``) up to
and including that day, the *previous* period the ``period_days`` days before it.

Required marts (missing or empty → :class:`~orchestration.errors.UserFacingError`):
``fct_channel_performance``, ``fct_campaign_performance``, ``fct_campaign_daily``,
``fct_customer_cohorts``. The ML marts ``fct_segment_revenue`` and
``fct_forecast_vs_actual`` are optional: when missing or empty their section carries a note
instead of numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import psycopg

from orchestration import errors
from orchestration.reports.formatting import relative_change
from orchestration.summary import CampaignRoi, campaigns_by_roi, table_exists

REQUIRED_MARTS = (
    "fct_channel_performance",
    "fct_campaign_performance",
    "fct_campaign_daily",
    "fct_customer_cohorts",
)
OPTIONAL_MARTS = ("fct_segment_revenue", "fct_forecast_vs_actual")
#: Cohorts and months shown in the retention heatmap.
COHORT_MONTHS = 12
#: Days of actuals drawn before the forecast in the chart.
FORECAST_HISTORY_DAYS = 120


# --------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class Period:
    """An inclusive range of days."""

    start: date
    end: date

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class Totals:
    """Sums over a period (all channels, or one); ratios are None when their denominator is 0."""

    spend: float = 0.0
    revenue: float = 0.0
    conversions: float = 0.0
    clicks: float = 0.0
    impressions: float = 0.0

    @property
    def profit(self) -> float:
        """revenue − spend."""
        return self.revenue - self.spend

    @property
    def roi(self) -> float | None:
        """(revenue − spend) / spend, as in the marts."""
        return (self.revenue - self.spend) / self.spend if self.spend else None

    @property
    def roas(self) -> float | None:
        """revenue / spend."""
        return self.revenue / self.spend if self.spend else None

    @property
    def cpa(self) -> float | None:
        """spend / conversions."""
        return self.spend / self.conversions if self.conversions else None

    @property
    def is_empty(self) -> bool:
        """True when the period has no spend, revenue, conversions or clicks at all."""
        return not (self.spend or self.revenue or self.conversions or self.clicks)


@dataclass(frozen=True)
class Kpi:
    """One headline figure, this period against the previous one.

    ``kind`` is ``money``, ``count`` or ``ratio``: money and counts compare as a relative
    change, ratios as a difference."""

    name: str
    label: str
    kind: str
    current: float | None
    previous: float | None

    @property
    def change(self) -> float | None:
        """Relative change (money, count) or difference (ratio); None when not comparable."""
        if self.kind == "ratio":
            if self.current is None or self.previous is None:
                return None
            return self.current - self.previous
        return relative_change(self.current, self.previous)


@dataclass(frozen=True)
class ChannelRow:
    """One channel: current and previous period sums."""

    channel: str
    current: Totals
    previous: Totals
    revenue_share: float | None = None

    @property
    def spend_change(self) -> float | None:
        """Relative change of spend."""
        return relative_change(self.current.spend, self.previous.spend)

    @property
    def revenue_change(self) -> float | None:
        """Relative change of revenue."""
        return relative_change(self.current.revenue, self.previous.revenue)


@dataclass(frozen=True)
class CohortCell:
    """One cell of the retention matrix (``marts.fct_customer_cohorts``)."""

    cohort_month: date
    months_since_first_purchase: int
    cohort_size: int
    active_customers: int
    retention_rate: float | None
    is_partial_month: bool = False


@dataclass(frozen=True)
class SegmentRow:
    """One ML customer segment (``marts.fct_segment_revenue``)."""

    segment_id: int
    segment_label: str
    customers: int
    customer_share: float | None
    orders: int | None
    revenue: float | None
    revenue_share: float | None
    revenue_per_customer: float | None = None
    orders_per_customer: float | None = None
    avg_recency_days: float | None = None
    avg_order_value: float | None = None


@dataclass(frozen=True)
class ForecastPoint:
    """One day of ``marts.fct_forecast_vs_actual`` for total revenue."""

    ds: date
    actual: float | None
    yhat: float | None
    yhat_lower: float | None
    yhat_upper: float | None
    is_forecast: bool


@dataclass(frozen=True)
class ForecastSummary:
    """The forecast over the ``days`` days after the last actual day, against the last ``days`` actual days."""

    last_actual_day: date
    days: int
    forecast_total: float
    actual_total: float

    @property
    def change(self) -> float | None:
        """Forecast relative to the last actual days."""
        return relative_change(self.forecast_total, self.actual_total)


@dataclass(frozen=True)
class ForecastData:
    """Total revenue: recent actuals and the newest forecast with its interval."""

    model_version: str
    points: tuple[ForecastPoint, ...]
    summary: ForecastSummary | None

    @classmethod
    def from_points(cls, model_version: str, points: Sequence[ForecastPoint], period_days: int) -> ForecastData:
        """Build from the daily points, computing the summary with :func:`summarize_forecast`."""
        points = tuple(sorted(points, key=lambda p: p.ds))
        return cls(model_version, points, summarize_forecast(points, period_days))


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows. Optional sections are empty with a note in ``notes``."""

    current: Period
    previous: Period
    data_start: date
    totals_current: Totals
    totals_previous: Totals
    channels: tuple[ChannelRow, ...] = ()
    top_campaigns: tuple[CampaignRoi, ...] = ()
    bottom_campaigns: tuple[CampaignRoi, ...] = ()
    cohorts: tuple[CohortCell, ...] = ()
    segments: tuple[SegmentRow, ...] = ()
    forecast: ForecastData | None = None
    notes: Mapping[str, str] = field(default_factory=dict)

    @property
    def has_previous(self) -> bool:
        """True when the data covers the whole previous period and it has activity."""
        return self.data_start <= self.previous.start and not self.totals_previous.is_empty

    @property
    def kpis(self) -> tuple[Kpi, ...]:
        """The headline figures, current vs previous (previous None when not comparable)."""
        cur, prev = self.totals_current, self.totals_previous
        has_prev = self.has_previous
        rows = [
            ("revenue", "Revenue", "money", cur.revenue, prev.revenue),
            ("spend", "Spend", "money", cur.spend, prev.spend),
            ("profit", "Profit", "money", cur.profit, prev.profit),
            ("roi", "ROI", "ratio", cur.roi, prev.roi),
            ("roas", "ROAS", "ratio", cur.roas, prev.roas),
            ("conversions", "Conversions", "count", cur.conversions, prev.conversions),
            ("cpa", "Cost per acquisition", "money", cur.cpa, prev.cpa),
        ]
        return tuple(
            Kpi(name, label, kind, current, previous if has_prev else None)
            for name, label, kind, current, previous in rows
        )


# --------------------------------------------------------------------------- pure helpers


def periods(last_day: date, period_days: int) -> tuple[Period, Period]:
    """(current, previous): the ``period_days`` days ending on ``last_day``, and the ones before."""
    if period_days < 1:
        raise ValueError("period_days must be >= 1")
    current = Period(last_day - timedelta(days=period_days - 1), last_day)
    previous = Period(current.start - timedelta(days=period_days), current.start - timedelta(days=1))
    return current, previous


def summarize_forecast(points: Sequence[ForecastPoint], period_days: int) -> ForecastSummary | None:
    """Sum the forecast over the first ``period_days`` days after the last actual day, and the
    actuals over the last ``period_days`` days up to it. None without actuals or without a
    forecast after them (a forecast older than the data)."""
    actual_days = [p.ds for p in points if p.actual is not None]
    if not actual_days:
        return None
    last = max(actual_days)
    ahead = [
        p for p in points
        if p.is_forecast and p.yhat is not None and last < p.ds <= last + timedelta(days=period_days)
    ]
    if not ahead:
        return None
    first_actual = last - timedelta(days=period_days - 1)
    recent = [p.actual for p in points if p.actual is not None and first_actual <= p.ds <= last]
    return ForecastSummary(
        last_actual_day=last,
        days=len(ahead),
        forecast_total=sum(p.yhat for p in ahead),
        actual_total=sum(recent),
    )


def _f(value: Decimal | float | int | None) -> float | None:
    return None if value is None else float(value)


# --------------------------------------------------------------------------- queries


def _require_marts(conn: psycopg.Connection) -> None:
    missing = [name for name in REQUIRED_MARTS if not table_exists(conn, f"marts.{name}")]
    if missing:
        raise errors.UserFacingError(
            f"The marts the report reads are not built yet (missing: {', '.join(f'marts.{m}' for m in missing)}); "
            "run `make run` (or materialize the marts in `make dev`) first."
        )


CHANNEL_TOTALS_SQL = """
    select
        channel,
        period_start >= %(current_start)s as is_current,
        sum(spend), sum(revenue), sum(conversions), sum(clicks), sum(impressions)
    from marts.fct_channel_performance
    where grain = 'day' and period_start between %(previous_start)s and %(current_end)s
    group by channel, period_start >= %(current_start)s
    order by channel
"""


def _channels(conn: psycopg.Connection, current: Period, previous: Period) -> tuple[ChannelRow, ...]:
    rows = conn.execute(CHANNEL_TOTALS_SQL, {
        "current_start": current.start, "current_end": current.end, "previous_start": previous.start,
    }).fetchall()
    sums: dict[str, dict[bool, Totals]] = {}
    for channel, is_current, spend, revenue, conversions, clicks, impressions in rows:
        sums.setdefault(channel, {})[is_current] = Totals(
            float(spend), float(revenue), float(conversions), float(clicks), float(impressions)
        )
    total_revenue = float(sum(Decimal(str(r[3])) for r in rows if r[1]))
    channels = [
        ChannelRow(
            channel,
            by.get(True, Totals()),
            by.get(False, Totals()),
            by.get(True, Totals()).revenue / total_revenue if total_revenue else None,
        )
        for channel, by in sums.items()
    ]
    return tuple(sorted(channels, key=lambda c: (-c.current.revenue, -c.current.spend, c.channel)))


def _sum_totals(channels: Sequence[ChannelRow], current: bool) -> Totals:
    """All-channel totals, added up exactly (Decimal) from the per-channel sums."""
    picked = [c.current if current else c.previous for c in channels]

    def total(attr: str) -> float:
        return float(sum((Decimal(repr(getattr(t, attr))) for t in picked), Decimal(0)))

    return Totals(*(total(a) for a in ("spend", "revenue", "conversions", "clicks", "impressions")))


COHORTS_SQL = """
    select cohort_month, months_since_first_purchase, cohort_size, active_customers,
           retention_rate, is_partial_month
    from marts.fct_customer_cohorts
    where cohort_month > (select max(cohort_month) from marts.fct_customer_cohorts) - %s::integer * interval '1 month'
      and months_since_first_purchase < %s::integer
    order by cohort_month, months_since_first_purchase
"""


def _cohorts(conn: psycopg.Connection) -> tuple[CohortCell, ...]:
    rows = conn.execute(COHORTS_SQL, (COHORT_MONTHS, COHORT_MONTHS)).fetchall()
    return tuple(CohortCell(r[0], int(r[1]), int(r[2]), int(r[3]), _f(r[4]), bool(r[5])) for r in rows)


SEGMENTS_SQL = """
    select segment_id, segment_label, customers, customer_share, orders, revenue, revenue_share,
           revenue_per_customer, orders_per_customer, avg_recency_days, avg_order_value
    from marts.fct_segment_revenue
    order by revenue desc nulls last, segment_id
"""


def _segments(conn: psycopg.Connection) -> tuple[SegmentRow, ...]:
    rows = conn.execute(SEGMENTS_SQL).fetchall()
    return tuple(
        SegmentRow(
            int(r[0]), str(r[1]), int(r[2]), _f(r[3]), None if r[4] is None else int(r[4]), _f(r[5]), _f(r[6]),
            _f(r[7]), _f(r[8]), _f(r[9]), _f(r[10]),
        )
        for r in rows
    )


FORECAST_SQL = """
    select model_version, ds, actual, yhat, yhat_lower, yhat_upper, is_forecast
    from marts.fct_forecast_vs_actual
    where metric = 'revenue' and channel = 'total'
      and ds > (
        select max(ds) from marts.fct_forecast_vs_actual
        where metric = 'revenue' and channel = 'total' and actual is not null
      ) - %s::integer
    order by ds
"""


def _forecast(conn: psycopg.Connection, period_days: int) -> ForecastData | None:
    rows = conn.execute(FORECAST_SQL, (max(FORECAST_HISTORY_DAYS, period_days),)).fetchall()
    if not rows:
        return None
    points = [ForecastPoint(r[1], _f(r[2]), _f(r[3]), _f(r[4]), _f(r[5]), bool(r[6])) for r in rows]
    version = next((r[0] for r in rows if r[6]), rows[-1][0])
    return ForecastData.from_points(str(version), points, period_days)


NO_SEGMENTS = (
    "No segmentation yet: marts.fct_segment_revenue is {state}; run the ml/customer_segments asset "
    "and dbt (`make run`) to fill it."
)
NO_FORECAST = (
    "No revenue forecast yet: marts.fct_forecast_vs_actual is {state}; run the ml/forecasts asset "
    "and dbt (`make run`) to fill it."
)


def load_report_data(conn: psycopg.Connection, period_days: int = 30) -> ReportData:
    """Read every section of the report from the marts (see the module docstring)."""
    _require_marts(conn)
    first_day, last_day = conn.execute(
        "select min(period_start), max(period_start) from marts.fct_channel_performance where grain = 'day'"
    ).fetchone()
    if last_day is None:
        raise errors.UserFacingError(
            "marts.fct_channel_performance has no rows, so there is nothing to report; "
            "put campaign files in landing/campaign_performance/ and run `make run`."
        )
    current, previous = periods(last_day, period_days)
    channels = _channels(conn, current, previous)
    top, bottom = campaigns_by_roi(conn, limit=5)
    notes: dict[str, str] = {}

    segments: tuple[SegmentRow, ...] = ()
    if not table_exists(conn, "marts.fct_segment_revenue"):
        notes["segments"] = NO_SEGMENTS.format(state="not built")
    else:
        segments = _segments(conn)
        if not segments:
            notes["segments"] = NO_SEGMENTS.format(state="empty")

    forecast = None
    if not table_exists(conn, "marts.fct_forecast_vs_actual"):
        notes["forecast"] = NO_FORECAST.format(state="not built")
    else:
        forecast = _forecast(conn, period_days)
        if forecast is None:
            notes["forecast"] = NO_FORECAST.format(state="empty")
        elif forecast.summary is None:
            notes["forecast"] = (
                "The newest revenue forecast ends before the newest data; rerun the ml/forecasts asset "
                "(`make run`) for a forecast of the days ahead."
            )

    cohorts = _cohorts(conn)
    if not cohorts:
        notes["cohorts"] = "No customer cohorts yet: load order files into landing/orders/ and run `make run`."
    return ReportData(
        current=current,
        previous=previous,
        data_start=first_day,
        totals_current=_sum_totals(channels, current=True),
        totals_previous=_sum_totals(channels, current=False),
        channels=channels,
        top_campaigns=tuple(top),
        bottom_campaigns=tuple(bottom),
        cohorts=cohorts,
        segments=segments,
        forecast=forecast,
        notes=notes,
    )
