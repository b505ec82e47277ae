"""Customers: latent segment, order timing skeleton, demographics and web behaviour."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from orchestration.demo.channels import RAW_TO_CANONICAL
from orchestration.demo.config import DemoConfig
from orchestration.demo.seasonality import daily_demand, day_dates
from orchestration.demo.segments import SEGMENTS
from orchestration.demo.timeline import plan_order_days

CUSTOMER_COLUMNS = [
    "customer_id", "age", "gender", "country", "sessions", "avg_session_duration",
    "pages_per_session", "transactions", "revenue", "signup_date", "acquisition_channel",
]

CANDIDATES = 8  # candidate recencies / spans per customer (see timeline.py)

COUNTRIES: dict[str, float] = {
    "United Kingdom": 0.52, "Germany": 0.08, "France": 0.07, "Netherlands": 0.05,
    "Ireland": 0.04, "Spain": 0.04, "Italy": 0.03, "Belgium": 0.03, "United States": 0.03,
    "Sweden": 0.02, "Denmark": 0.02, "Switzerland": 0.02, "Portugal": 0.015,
    "Norway": 0.015, "Austria": 0.015, "Poland": 0.015, "Australia": 0.01,
}

#: Retention channels rarely acquire customers: their conversions count for less.
ACQUISITION_CHANNEL_FACTOR: dict[str, float] = {"email": 0.15, "sms": 0.3}

#: How much more (or less) likely each segment is acquired through a canonical channel.
ACQUISITION_TILT: dict[str, dict[str, float]] = {
    "champions": {"organic_search": 1.6, "referral": 1.6, "email": 1.4, "affiliate": 0.7},
    "loyal_regulars": {"email": 1.3, "paid_search": 1.2},
    "bargain_occasionals": {"affiliate": 2.0, "paid_social": 1.4, "sms": 1.3},
    "one_time_buyers": {"influencer": 1.5, "video": 1.3, "display": 1.3, "paid_social": 1.2},
    "dormant_lapsed": {"display": 1.2, "paid_search": 1.1},
}


def customer_ids(n: int) -> np.ndarray:
    """``C000001`` … (zero-padded to at least six digits)."""
    width = max(6, len(str(n)))
    return np.array([f"C{i:0{width}d}" for i in range(1, n + 1)])


@dataclass
class CustomerDraw:
    """Per-customer latent draws (index i is customer ``C{i+1:06d}``)."""

    ids: np.ndarray
    segment: np.ndarray
    n_orders: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    signup_day: np.ndarray
    order_day: np.ndarray  # one per order, customer-major (customer i has n_orders[i])
    age: np.ndarray
    gender: np.ndarray
    country: np.ndarray
    sessions: np.ndarray
    duration: np.ndarray
    pages: np.ndarray
    acquisition: np.ndarray


def _segment_array(values: list[float], seg: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=float)[seg]


def draw_customers(cfg: DemoConfig, rng: np.random.Generator,
                   alias_weights: dict[str, float]) -> CustomerDraw:
    """Draw segment, order skeleton (count, first/last order day), signup and profile.

    ``alias_weights`` (raw channel name → weight, e.g. campaign conversions) sets the
    acquisition-channel mix, tilted per segment by :data:`ACQUISITION_TILT`.
    """
    n, days = cfg.customers, cfg.days
    shares = np.array([s.share for s in SEGMENTS])
    counts = np.floor(shares / shares.sum() * n).astype(np.int64)
    counts[np.argsort(-shares)[: n - counts.sum()]] += 1
    seg = rng.permutation(np.repeat(np.arange(len(SEGMENTS)), counts))

    def param(attr: str) -> np.ndarray:
        return _segment_array([getattr(s, attr) for s in SEGMENTS], seg)

    n_orders = np.round(rng.lognormal(np.log(param("orders_median")), param("orders_sigma")))
    n_orders = np.clip(n_orders, param("orders_min"), param("orders_max")).astype(np.int64)

    # Candidates for the last order day (recency) and the tenure span; the timeline
    # picks among them so that the shop's daily order count follows demand.
    shape = (n, CANDIDATES)
    recency = rng.lognormal(np.log(param("recency_median") * days)[:, None],
                            param("recency_sigma")[:, None], shape)
    last_cand = (days - 1) - np.clip(np.round(recency), 0, days - 1).astype(np.int64)
    lo, hi = param("span_low")[:, None], param("span_high")[:, None]
    span = lo + rng.random(shape) * (hi - lo)
    plan = plan_order_days(rng, n_orders, last_cand, span, daily_demand(cfg.start, days))
    first_day, last_day = plan.first_day, plan.last_day
    lag = rng.geometric(0.25, n) - 1  # days between signup and first order
    lag = np.where(rng.random(n) < 0.6, 0, lag)
    signup_day = np.maximum(first_day - lag, 0)

    age = np.clip(np.round(rng.normal(param("age_mean"), param("age_sd"))), 18, 90).astype(np.int64)
    gender = np.array(["F", "M", "U", ""])[
        rng.choice(4, size=n, p=[0.52, 0.44, 0.02, 0.02])]
    names = list(COUNTRIES)
    probs = np.array(list(COUNTRIES.values()))
    country = np.array(names)[rng.choice(len(names), size=n, p=probs / probs.sum())]

    sessions = np.round(rng.lognormal(np.log(param("sessions_median")), param("sessions_sigma")))
    sessions = np.maximum(sessions.astype(np.int64), n_orders)
    duration = np.round(rng.lognormal(np.log(param("duration_median")), param("duration_sigma")), 1)
    pages = np.round(1.0 + rng.lognormal(np.log(param("pages_median") - 1.0), param("pages_sigma")), 2)

    acquisition = _draw_acquisition(seg, alias_weights, rng)
    return CustomerDraw(ids=customer_ids(n), segment=seg, n_orders=n_orders,
                        first_day=first_day, last_day=last_day, signup_day=signup_day,
                        order_day=plan.order_day,
                        age=age, gender=gender, country=country, sessions=sessions,
                        duration=duration, pages=pages, acquisition=acquisition)


def _draw_acquisition(seg: np.ndarray, alias_weights: dict[str, float],
                      rng: np.random.Generator) -> np.ndarray:
    aliases = sorted(alias_weights)
    base = np.array([alias_weights[a] for a in aliases], dtype=float)
    if base.sum() <= 0:
        base = np.ones(len(aliases))
    out = np.empty(len(seg), dtype=object)
    for k, s in enumerate(SEGMENTS):
        tilt = ACQUISITION_TILT.get(s.name, {})
        w = base * np.array([tilt.get(RAW_TO_CANONICAL[a], 1.0)
                             * ACQUISITION_CHANNEL_FACTOR.get(RAW_TO_CANONICAL[a], 1.0)
                             for a in aliases])
        mask = seg == k
        out[mask] = np.array(aliases, dtype=object)[rng.choice(len(aliases), size=mask.sum(), p=w / w.sum())]
    return out.astype(str)


def customers_frame(cfg: DemoConfig, draw: CustomerDraw, transactions: np.ndarray,
                    revenue_cents: np.ndarray) -> pd.DataFrame:
    """The valid customers.csv rows (sorted by customer_id)."""
    dates = day_dates(cfg.start, cfg.days)
    return pd.DataFrame({
        "customer_id": draw.ids,
        "age": draw.age,
        "gender": draw.gender,
        "country": draw.country,
        "sessions": draw.sessions,
        "avg_session_duration": draw.duration,
        "pages_per_session": draw.pages,
        "transactions": transactions.astype(np.int64),
        "revenue": revenue_cents / 100.0,
        "signup_date": dates[draw.signup_day].astype(str),
        "acquisition_channel": draw.acquisition,
    })
