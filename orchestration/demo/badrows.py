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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from orchestration.demo.campaigns import CAMPAIGN_COLUMNS, CampaignData
from orchestration.demo.config import DemoConfig
from orchestration.demo.customers import CUSTOMER_COLUMNS, customer_ids
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


def format_row(frame: pd.DataFrame, i: int, columns: list[str]) -> list[str]:
    """Fields of valid row ``i`` as the writer formats them (floats with 2 decimals)."""
    out = []
    for col in columns:
        v = frame[col].iat[i]
        if isinstance(v, (float, np.floating)):
            out.append(f"{v:.2f}")
        elif isinstance(v, np.datetime64):
            out.append(str(v).replace("T", " "))
        else:
            out.append(str(v))
    return out


def _set(fields: list[str], columns: list[str], col: str, value: str) -> list[str]:
    fields = list(fields)
    fields[columns.index(col)] = value
    return fields


def _column_count(fields: list[str], k: int) -> tuple[list[str], str]:
    return (fields + ["extra"], "+1 field") if k % 2 == 0 else (fields[:-1], "-1 field")


def campaign_bad_rows(cfg: DemoConfig, data: CampaignData, rng: np.random.Generator,
                      per_reason: int) -> list[BadRow]:
    """Planted rows for campaign_performance; each non-duplicate has a fresh natural key."""
    frame, camps, cols = data.frame, data.campaigns, CAMPAIGN_COLUMNS
    n = len(frame)
    first_row = frame.reset_index(drop=True).drop_duplicates("campaign_id")
    row_of_campaign = dict(zip(first_row["campaign_id"], first_row.index))
    first, last = camps["first_day"].to_numpy(), camps["last_day"].to_numpy()
    part_time = np.flatnonzero(last - first + 1 < cfg.days)
    used: set[tuple[int, int]] = set()
    next_extra_day = [cfg.days]  # days after the window: keys no valid row has

    def fresh_template() -> list[str]:
        """A copy of a valid row moved to a day its campaign was not active."""
        for _ in range(200 if len(part_time) else 0):
            c, day = int(rng.choice(part_time)), int(rng.integers(0, cfg.days))
            if (day < first[c] or day > last[c]) and (c, day) not in used:
                used.add((c, day))
                break
        else:
            c, day = int(rng.integers(0, len(camps))), next_extra_day[0]
            next_extra_day[0] += 1
        fields = format_row(frame, row_of_campaign[camps["campaign_id"].iat[c]], cols)
        return _set(fields, cols, "date", str(np.datetime64(cfg.start, "D") + day))

    rows: list[BadRow] = []
    dup_sources = rng.choice(n, size=min(per_reason, n), replace=False)
    for k in range(per_reason):
        col = ["cost", "impressions", "clicks", "conversions", "revenue"][k % 5]
        rows.append(BadRow(_set(fresh_template(), cols, col, BAD_NUMBERS[k % len(BAD_NUMBERS)]),
                           "invalid_number", col, -2))
        bad_date = BAD_DATES[k % len(BAD_DATES)].format(y=cfg.start.year)
        rows.append(BadRow(_set(fresh_template(), cols, "date", bad_date), "invalid_date", "date", -2))
        col = ["cost", "revenue", "conversions"][k % 3]
        f = fresh_template()
        value = -(abs(float(f[cols.index(col)])) + round(float(rng.uniform(1, 50)), 2))
        rows.append(BadRow(_set(f, cols, col, f"{value:.2f}" if col != "conversions" else str(int(value))),
                           "negative_value", col, -2))
        f = fresh_template()
        imps = int(f[cols.index("impressions")])
        rows.append(BadRow(_set(f, cols, "clicks", str(imps + 1 + int(rng.integers(0, 50)))),
                           "clicks_exceed_impressions", "clicks", -2))
        col = ["campaign_name", "channel", "cost", "date"][k % 4]
        rows.append(BadRow(_set(fresh_template(), cols, col, ""), "missing_required", col, -2))
        if k < len(dup_sources):
            i = int(dup_sources[k])
            f = format_row(frame, i, cols)
            f = _set(f, cols, "impressions", str(int(f[cols.index("impressions")]) + 7))
            rows.append(BadRow(f, "duplicate_key", "date,campaign_name,channel",
                               int(rng.integers(i, n))))
        f, what = _column_count(fresh_template(), k)
        rows.append(BadRow(f, "wrong_column_count", what, -2))
    return _place(rows, n, rng)


def customer_bad_rows(frame: pd.DataFrame, rng: np.random.Generator,
                      per_reason: int) -> list[BadRow]:
    """Planted rows for customers; non-duplicates get ids beyond the last valid customer."""
    cols, n = CUSTOMER_COLUMNS, len(frame)
    new_ids = iter(customer_ids(n + 5 * per_reason + 1)[n:])

    def fresh_template() -> list[str]:
        return _set(format_row(frame, int(rng.integers(0, n)), cols), cols, "customer_id",
                    str(next(new_ids)))

    rows: list[BadRow] = []
    dup_sources = rng.choice(n, size=min(per_reason, n), replace=False)
    numeric = ["age", "sessions", "avg_session_duration", "pages_per_session", "transactions",
               "revenue"]
    for k in range(per_reason):
        col = numeric[k % len(numeric)]
        rows.append(BadRow(_set(fresh_template(), cols, col, BAD_NUMBERS[k % len(BAD_NUMBERS)]),
                           "invalid_number", col, -2))
        f = fresh_template()
        year = f[cols.index("signup_date")][:4]
        rows.append(BadRow(_set(f, cols, "signup_date", BAD_DATES[k % len(BAD_DATES)].format(y=year)),
                           "invalid_date", "signup_date", -2))
        rows.append(BadRow(_set(fresh_template(), cols, "customer_id", ""), "missing_required",
                           "customer_id", -2))
        if k < len(dup_sources):
            i = int(dup_sources[k])
            f = format_row(frame, i, cols)
            f = _set(f, cols, "sessions", str(int(f[cols.index("sessions")]) + 3))
            rows.append(BadRow(f, "duplicate_key", "customer_id", int(rng.integers(i, n))))
        f, what = _column_count(fresh_template(), k)
        rows.append(BadRow(f, "wrong_column_count", what, -2))
    return _place(rows, n, rng)


def order_bad_rows(frame: pd.DataFrame, rng: np.random.Generator,
                   per_reason: int) -> list[BadRow]:
    """Planted order lines: copies of valid lines with one defect each."""
    cols, n = ORDER_COLUMNS, len(frame)

    def template() -> list[str]:
        return format_row(frame, int(rng.integers(0, n)), cols)

    rows: list[BadRow] = []
    for k in range(per_reason):
        col = ["quantity", "unit_price"][k % 2]
        rows.append(BadRow(_set(template(), cols, col, BAD_NUMBERS[k % len(BAD_NUMBERS)]),
                           "invalid_number", col, -2))
        f = template()
        ts = f[cols.index("ordered_at")]
        bad = BAD_DATES[k % len(BAD_DATES)].format(y=ts[:4]) + ts[10:]
        rows.append(BadRow(_set(f, cols, "ordered_at", bad), "invalid_date", "ordered_at", -2))
        col = ["order_id", "ordered_at", "quantity"][k % 3]
        rows.append(BadRow(_set(template(), cols, col, ""), "missing_required", col, -2))
        f, what = _column_count(template(), k)
        rows.append(BadRow(f, "wrong_column_count", what, -2))
    return _place(rows, n, rng)


def _place(rows: list[BadRow], n: int, rng: np.random.Generator) -> list[BadRow]:
    """Give every row without a position a random one; return rows in file order."""
    for r in rows:
        if r.after == -2:
            r.after = int(rng.integers(-1, n))
    return sorted(rows, key=lambda r: r.after)  # stable: same-position rows keep their order


def count_by_reason(rows: list[BadRow], source: str) -> dict[str, int]:
    """{reason: count} in the fixed reason order of the source (only non-zero counts)."""
    counts = {reason: sum(r.reason == reason for r in rows) for reason in REASONS_BY_SOURCE[source]}
    return {k: v for k, v in counts.items() if v}
