"""Deliberately invalid rows planted in the landing files (quarantine ground truth).

Every planted row violates exactly one rule of docs/CONTRACTS.md, so the loader must
reject it with exactly that reason code; valid rows never violate any rule. Planted
rows are *extra* rows inserted between valid rows (never replacements), so they do not
change the customers ↔ orders consistency of the valid rows.

Rules, per reason code:

* ``wrong_column_count`` — one field too many or too few;
* ``missing_required`` — an empty field in a required column;
* ``invalid_number`` — a non-empty numeric field that does not parse (``abc``, ``1.2.3``…);
* ``invalid_date`` — an ISO-shaped but impossible date (``2024-02-30``);
* ``negative_value`` — a negative cost, conversions or revenue (campaign_performance);
* ``clicks_exceed_impressions`` — clicks > impressions (campaign_performance);
* ``duplicate_key`` — a second row with an earlier row's natural key (the later one is bad).

Reasons that the contract does not define for a source are not planted there
(orders have no natural key and no sign rules; customers have no sign rules).

The rows are *planned* before the valid rows exist (:class:`PlannedRow`: where it goes,
which valid row it copies, how it breaks it), so the writer can splice them into a
stream of valid rows: a duplicate copies a random earlier row, every other planted row
starts from the valid row it follows (the first row when it goes first).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from orchestration.demo.campaigns import CAMPAIGN_COLUMNS
from orchestration.demo.config import DemoConfig
from orchestration.demo.customers import CUSTOMER_COLUMNS, format_customer_ids
from orchestration.demo.orders import ORDER_COLUMNS

REASONS_BY_SOURCE: dict[str, tuple[str, ...]] = {
    "campaign_performance": (
        "invalid_number", "invalid_date", "negative_value", "clicks_exceed_impressions",
        "missing_required", "duplicate_key", "wrong_column_count",
    ),
    "customers": (
        "invalid_number", "invalid_date", "missing_required", "duplicate_key",
        "wrong_column_count",
    ),
    "orders": ("invalid_number", "invalid_date", "missing_required", "wrong_column_count"),
}

BAD_NUMBERS = ("abc", "1.2.3", "twelve", "#REF!", "4O0", "$12.40")
BAD_DATES = ("{y}-02-30", "{y}-04-31", "{y}-13-01", "{y}-06-31", "{y}-00-10", "{y}-11-31")


@dataclass
class BadRow:
    """A planted row: its raw fields, reason code, the column at fault and where it goes.

    ``after`` is the index of the valid row it follows (-1: before the first valid row).
    """

    fields: list[str]
    reason: str
    column: str
    after: int


Maker = Callable[[list[str]], list[str]]


@dataclass
class PlannedRow:
    """A planted row before the valid rows exist: ``make`` turns the fields of valid row
    ``template`` (never later than ``max(after, 0)``) into the planted row's fields."""

    after: int
    template: int
    reason: str
    column: str
    make: Maker

    def build(self, template_fields: list[str]) -> BadRow:
        """The planted row, from its template row's fields."""
        return BadRow(self.make(list(template_fields)), self.reason, self.column, self.after)


def format_row(frame: pd.DataFrame, i: int, columns: list[str]) -> list[str]:
    """Fields of row ``i`` of ``frame`` as the writer formats them (floats with 2 decimals)."""
    out = []
    for col in columns:
        v = frame[col].iat[i]
        if isinstance(v, (float, np.floating)):
            out.append(f"{v:.2f}")
        elif isinstance(v, (np.datetime64, pd.Timestamp)):
            out.append(str(v).replace("T", " "))
        else:
            out.append(str(v))
    return out


def _setter(columns: list[str], col: str, value: str) -> Maker:
    i = columns.index(col)

    def make(fields: list[str]) -> list[str]:
        fields[i] = value
        return fields
    return make


def _then(first: Maker, second: Maker) -> Maker:
    return lambda fields: second(first(fields))


def _column_count(k: int) -> tuple[Maker, str]:
    if k % 2 == 0:
        return (lambda f: f + ["extra"]), "+1 field"
    return (lambda f: f[:-1]), "-1 field"


class _Planner:
    """Collects planned rows; positions are drawn in creation order, then sorted."""

    def __init__(self, n: int, rng: np.random.Generator) -> None:
        self.n, self.rng, self.rows = n, rng, []

    def add(self, reason: str, column: str, make: Maker) -> None:
        after = int(self.rng.integers(-1, self.n))
        self.rows.append(PlannedRow(after, max(after, 0), reason, column, make))

    def duplicate(self, i: int, column: str, make: Maker) -> None:
        self.rows.append(PlannedRow(int(self.rng.integers(i, self.n)), i, "duplicate_key", column, make))

    def done(self) -> list[PlannedRow]:
        return sorted(self.rows, key=lambda r: r.after)  # stable: same-position rows keep their order


def plan_campaign_rows(cfg: DemoConfig, camps: pd.DataFrame, n: int, rng: np.random.Generator,
                       per_reason: int) -> list[PlannedRow]:
    """Planted rows for campaign_performance (``n`` valid rows); each non-duplicate gets a
    natural key no valid row has: a part-time campaign on a day it was not active (or,
    when every campaign is always on, a day after the window)."""
    cols = CAMPAIGN_COLUMNS
    first, last = camps["first_day"].to_numpy(), camps["last_day"].to_numpy()
    part_time = np.flatnonzero(last - first + 1 < cfg.days)
    used: set[tuple[int, int]] = set()
    next_extra_day = [cfg.days]  # days after the window: keys no valid row has
    index_of = {cid: k for k, cid in enumerate(camps["campaign_id"])}

    def fresh(fields: list[str]) -> list[str]:
        """The template's numbers under a campaign and day no valid row has."""
        for _ in range(200 if len(part_time) else 0):
            c, day = int(rng.choice(part_time)), int(rng.integers(0, cfg.days))
            if (day < first[c] or day > last[c]) and (c, day) not in used:
                used.add((c, day))
                break
        else:
            c, day = index_of[fields[cols.index("campaign_id")]], next_extra_day[0]
            next_extra_day[0] += 1
        for col in ("campaign_id", "campaign_name", "channel"):
            fields[cols.index(col)] = str(camps[col].iat[c])
        fields[cols.index("date")] = str(np.datetime64(cfg.start, "D") + day)
        return fields

    def negative(col: str) -> Maker:
        def make(fields: list[str]) -> list[str]:
            value = -(abs(float(fields[cols.index(col)])) + round(float(rng.uniform(1, 50)), 2))
            fields[cols.index(col)] = f"{value:.2f}" if col != "conversions" else str(int(value))
            return fields
        return make

    def clicks_over(fields: list[str]) -> list[str]:
        imps = int(fields[cols.index("impressions")])
        fields[cols.index("clicks")] = str(imps + 1 + int(rng.integers(0, 50)))
        return fields

    def more_impressions(fields: list[str]) -> list[str]:
        fields[cols.index("impressions")] = str(int(fields[cols.index("impressions")]) + 7)
        return fields

    plan = _Planner(n, rng)
    dup_sources = rng.choice(n, size=min(per_reason, n), replace=False)
    for k in range(per_reason):
        col = ["cost", "impressions", "clicks", "conversions", "revenue"][k % 5]
        plan.add("invalid_number", col, _then(fresh, _setter(cols, col, BAD_NUMBERS[k % len(BAD_NUMBERS)])))
        bad_date = BAD_DATES[k % len(BAD_DATES)].format(y=cfg.start.year)
        plan.add("invalid_date", "date", _then(fresh, _setter(cols, "date", bad_date)))
        col = ["cost", "revenue", "conversions"][k % 3]
        plan.add("negative_value", col, _then(fresh, negative(col)))
        plan.add("clicks_exceed_impressions", "clicks", _then(fresh, clicks_over))
        col = ["campaign_name", "channel", "cost", "date"][k % 4]
        plan.add("missing_required", col, _then(fresh, _setter(cols, col, "")))
        if k < len(dup_sources):
            plan.duplicate(int(dup_sources[k]), "date,campaign_name,channel", more_impressions)
        make, what = _column_count(k)
        plan.add("wrong_column_count", what, _then(fresh, make))
    return plan.done()


def plan_customer_rows(n: int, rng: np.random.Generator, per_reason: int) -> list[PlannedRow]:
    """Planted rows for customers (``n`` valid rows); non-duplicates get ids beyond the
    last valid customer."""
    cols = CUSTOMER_COLUMNS
    new_ids = iter(format_customer_ids(np.arange(n, n + 5 * per_reason + 1), n))

    def fresh(fields: list[str]) -> list[str]:
        fields[cols.index("customer_id")] = str(next(new_ids))
        return fields

    def bad_signup(k: int) -> Maker:
        def make(fields: list[str]) -> list[str]:
            year = fields[cols.index("signup_date")][:4]
            fields[cols.index("signup_date")] = BAD_DATES[k % len(BAD_DATES)].format(y=year)
            return fields
        return make

    def more_sessions(fields: list[str]) -> list[str]:
        fields[cols.index("sessions")] = str(int(fields[cols.index("sessions")]) + 3)
        return fields

    plan = _Planner(n, rng)
    dup_sources = rng.choice(n, size=min(per_reason, n), replace=False)
    numeric = ["age", "sessions", "avg_session_duration", "pages_per_session", "transactions",
               "revenue"]
    for k in range(per_reason):
        col = numeric[k % len(numeric)]
        plan.add("invalid_number", col, _then(fresh, _setter(cols, col, BAD_NUMBERS[k % len(BAD_NUMBERS)])))
        plan.add("invalid_date", "signup_date", _then(fresh, bad_signup(k)))
        plan.add("missing_required", "customer_id", _then(fresh, _setter(cols, "customer_id", "")))
        if k < len(dup_sources):
            plan.duplicate(int(dup_sources[k]), "customer_id", more_sessions)
        make, what = _column_count(k)
        plan.add("wrong_column_count", what, _then(fresh, make))
    return plan.done()


def plan_order_rows(n: int, rng: np.random.Generator, per_reason: int) -> list[PlannedRow]:
    """Planted order lines (``n`` valid lines): copies of valid lines with one defect each."""
    cols = ORDER_COLUMNS

    def bad_timestamp(k: int) -> Maker:
        def make(fields: list[str]) -> list[str]:
            ts = fields[cols.index("ordered_at")]
            fields[cols.index("ordered_at")] = BAD_DATES[k % len(BAD_DATES)].format(y=ts[:4]) + ts[10:]
            return fields
        return make

    plan = _Planner(n, rng)
    for k in range(per_reason):
        col = ["quantity", "unit_price"][k % 2]
        plan.add("invalid_number", col, _setter(cols, col, BAD_NUMBERS[k % len(BAD_NUMBERS)]))
        plan.add("invalid_date", "ordered_at", bad_timestamp(k))
        col = ["order_id", "ordered_at", "quantity"][k % 3]
        plan.add("missing_required", col, _setter(cols, col, ""))
        make, what = _column_count(k)
        plan.add("wrong_column_count", what, make)
    return plan.done()


def count_by_reason(rows: list[BadRow], source: str) -> dict[str, int]:
    """{reason: count} in the fixed reason order of the source (only non-zero counts)."""
    counts = {reason: sum(r.reason == reason for r in rows) for reason in REASONS_BY_SOURCE[source]}
    return {k: v for k, v in counts.items() if v}
