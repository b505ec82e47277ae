"""Long daily series frames (``series, ds, y``) for :func:`ml.forecasting.forecast_many`.

The warehouse builds the same frame in SQL from the marts; these helpers do it from
campaign-performance and customer frames (tests, notebooks, the demo). Series names
are ``<metric>|<group>`` with group ``total`` for the sum over all groups, e.g.
``revenue|total``, ``spend|paid_search``, ``new_customers|email``.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

#: metric name → campaign_performance column
CAMPAIGN_METRICS: dict[str, str] = {"revenue": "revenue", "conversions": "conversions",
                                    "spend": "cost"}


def series_name(metric: str, group: str = "total") -> str:
    """``<metric>|<group>``."""
    return f"{metric}|{group}"


def _long(frame: pd.DataFrame, day: pd.Series, values: Mapping[str, pd.Series],
          by: str | None) -> pd.DataFrame:
    parts = []
    for metric, col in values.items():
        d = pd.DataFrame({"ds": day, "y": pd.to_numeric(col, errors="coerce")})
        total = d.groupby("ds", as_index=False)["y"].sum()
        parts.append(total.assign(series=series_name(metric)))
        if by is not None:
            d["group"] = frame[by].astype(str).to_numpy()
            per = d.groupby(["group", "ds"], as_index=False)["y"].sum()
            per["series"] = metric + "|" + per["group"]
            parts.append(per.drop(columns="group"))
    out = pd.concat(parts, ignore_index=True)[["series", "ds", "y"]]
    return out.sort_values(["series", "ds"], kind="stable").reset_index(drop=True)


def campaign_daily_series(campaigns: pd.DataFrame, by: str | None = "channel",
                          metrics: Mapping[str, str] = CAMPAIGN_METRICS) -> pd.DataFrame:
    """Daily revenue, conversions and spend (cost), in total and per ``by`` group
    (``None``: totals only), from a ``campaign_performance``-shaped frame."""
    day = pd.to_datetime(campaigns["date"]).dt.normalize()
    return _long(campaigns, day, {m: campaigns[c] for m, c in metrics.items()}, by)


def new_customers_daily(customers: pd.DataFrame, date_column: str = "signup_date",
                        by: str | None = "acquisition_channel") -> pd.DataFrame:
    """Daily count of new customers (by ``date_column``), in total and per ``by`` group."""
    day = pd.to_datetime(customers[date_column]).dt.normalize()
    ones = pd.Series(1.0, index=customers.index)
    keep = day.notna()
    return _long(customers[keep], day[keep], {"new_customers": ones[keep]}, by)
