"""Planning helpers on top of forecasts: ROI of planned spend, acquisition volume and CAC.

Spend for a day comes from ``planned_spend[ds, spend]`` when given, else from a spend
forecast (``ds, yhat``). Ratios of sums: aggregating to a period sums revenue, spend and
new customers first and divides afterwards (never a mean of daily ratios).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _spend(ds: pd.Series, planned_spend: pd.DataFrame | None,
           spend_forecast: pd.DataFrame | None) -> np.ndarray:
    if planned_spend is not None:
        s = planned_spend.assign(ds=pd.to_datetime(planned_spend["ds"])).groupby("ds")["spend"].sum()
    elif spend_forecast is not None:
        s = spend_forecast.assign(ds=pd.to_datetime(spend_forecast["ds"])).set_index("ds")["yhat"]
    else:
        raise ValueError("give planned_spend[ds, spend] or spend_forecast[ds, yhat]")
    return s.reindex(pd.to_datetime(ds)).to_numpy(dtype=float)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _aggregate(frame: pd.DataFrame, period: str | None, sums: list[str]) -> pd.DataFrame:
    if period is None:
        return frame
    if period == "total":
        out = frame[sums].sum().to_frame().T
        out.insert(0, "ds", frame["ds"].min())
        return out
    return frame.set_index("ds")[sums].resample(period).sum().reset_index()


def roi_forecast(revenue_forecast: pd.DataFrame, planned_spend: pd.DataFrame | None = None,
                 spend_forecast: pd.DataFrame | None = None, period: str | None = None) -> pd.DataFrame:
    """Forecast return on planned spend.

    ``revenue_forecast``: ``ds, yhat`` (e.g. :func:`ml.forecasting.forecast_series` output).
    Returns ``ds, revenue, spend, roas, roi`` with ``roas = revenue / spend`` (the
    "forecast revenue ÷ planned spend" ratio) and ``roi = (revenue − spend) / spend``;
    NaN where spend is 0 or unknown. ``period``: None (daily), a pandas frequency
    (``"W"``, ``"MS"``…) or ``"total"`` (one row over the whole horizon).
    """
    out = pd.DataFrame({"ds": pd.to_datetime(revenue_forecast["ds"]),
                        "revenue": revenue_forecast["yhat"].to_numpy(dtype=float)})
    out["spend"] = _spend(out["ds"], planned_spend, spend_forecast)
    out = _aggregate(out, period, ["revenue", "spend"])
    out["roas"] = _ratio(out["revenue"], out["spend"])
    out["roi"] = _ratio(out["revenue"] - out["spend"], out["spend"])
    return out.reset_index(drop=True)


def acquisition_forecast(new_customers_forecast: pd.DataFrame,
                         planned_spend: pd.DataFrame | None = None,
                         spend_forecast: pd.DataFrame | None = None,
                         period: str | None = None) -> pd.DataFrame:
    """Forecast new customers and CAC = spend / new customers.

    ``new_customers_forecast``: ``ds, yhat``. Returns ``ds, new_customers, spend, cac``
    (NaN where forecast new customers ≤ 0). ``period`` as in :func:`roi_forecast`.
    """
    out = pd.DataFrame({"ds": pd.to_datetime(new_customers_forecast["ds"]),
                        "new_customers": new_customers_forecast["yhat"].to_numpy(dtype=float)})
    out["spend"] = _spend(out["ds"], planned_spend, spend_forecast)
    out = _aggregate(out, period, ["new_customers", "spend"])
    out["cac"] = _ratio(out["spend"], out["new_customers"])
    return out.reset_index(drop=True)
