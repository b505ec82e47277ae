"""Customers: latent segment, order timing skeleton, demographics and web behaviour."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from orchestration.demo.channels import RAW_TO_CANONICAL
from orchestration.demo.config import DemoConfig
from orchestration.demo.seasonality import day_dates
from orchestration.demo.segments import SEGMENTS
from orchestration.demo.timeline import Candidates, plan_order_days

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
COUNTRY_NAMES = np.array(list(COUNTRIES))
COUNTRY_PROBS = np.array(list(COUNTRIES.values())) / sum(COUNTRIES.values())

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


def format_customer_ids(index: np.ndarray, total: int) -> np.ndarray:
    """Customer ids of 0-based customer indexes (``C000001`` …, zero-padded to at least six
    digits or the width of ``total``); index -1 (a guest) gives ``""``."""
    width = max(6, len(str(total)))
    digits = np.char.zfill((np.asarray(index, dtype=np.int64) + 1).astype(str), width)
    return np.where(np.asarray(index) >= 0, np.char.add("C", digits), "")


def customer_ids(total: int, first: int = 0, count: int | None = None) -> np.ndarray:
    """Ids of customers ``first`` .. ``first + count - 1`` (0-based) of ``total``."""
    count = total - first if count is None else count
    return format_customer_ids(np.arange(first, first + count), total)


@dataclass
class CustomerDraw:
    """Per-customer latent draws of one block (index i is customer ``ids[i]``)."""

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
    country_code: np.ndarray  # index into COUNTRY_NAMES


def _segment_array(values: list[float], seg: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=float)[seg]


def draw_segments(rng: np.random.Generator, n: int) -> np.ndarray:
    """Segment index per customer: exact shares (largest remainder) in a random order."""
    shares = np.array([s.share for s in SEGMENTS])
    counts = np.floor(shares / shares.sum() * n).astype(np.int64)
    counts[np.argsort(-shares, kind="stable")[: n - counts.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(len(SEGMENTS)), counts))


def _param(attr: str, seg: np.ndarray) -> np.ndarray:
    return _segment_array([getattr(s, attr) for s in SEGMENTS], seg)


def draw_candidates(rng: np.random.Generator, seg: np.ndarray, days: int) -> Candidates:
    """Order count and candidate last days / tenures (see timeline.py) per customer."""
    n = len(seg)
    n_orders = np.round(rng.lognormal(np.log(_param("orders_median", seg)), _param("orders_sigma", seg)))
    n_orders = np.clip(n_orders, _param("orders_min", seg), _param("orders_max", seg)).astype(np.int64)
    shape = (n, CANDIDATES)
    recency = rng.lognormal(np.log(_param("recency_median", seg) * days)[:, None],
                            _param("recency_sigma", seg)[:, None], shape)
    last = (days - 1) - np.clip(np.round(recency), 0, days - 1).astype(np.int64)
    gap = _param("gap_days", seg)[:, None] * rng.lognormal(0.0, 1.0, shape) ** _param("gap_sigma", seg)[:, None]
    tenure = np.round((n_orders - 1)[:, None] * gap).astype(np.int64)
    _new_customers(rng, seg, days, n_orders, last, tenure, gap[:, 0])
    return Candidates(n_orders=n_orders, last_days=last, tenures=tenure)


def _new_customers(rng: np.random.Generator, seg: np.ndarray, days: int, n_orders: np.ndarray,
                   last: np.ndarray, tenure: np.ndarray, gap: np.ndarray) -> None:
    """Turn ``new_share`` of each repeat segment into new customers (in place): customers
    whose life (``tenure``) has not ended by the window's end. They were acquired ``E =
    U × tenure`` days before the end (so acquisitions taper off smoothly with age, like
    the tenures still running; a customer whose ``E`` exceeds the window stays one of the
    existing base, so short windows get few new customers), have ordered 1 + Poisson(E / gap) times so far (at most
    their drawn count), the last time at ``first + E × U^(1/(orders-1))`` (the last of that
    many uniform days). Their days are fixed (every candidate equal)."""
    new = rng.random(len(seg)) < _param("new_share", seg)
    elapsed = rng.random(len(seg)) * tenure[:, 0]
    new &= elapsed < days - 1  # else their life began before the window: the existing base
    so_far = np.minimum(n_orders, 1 + rng.poisson(elapsed / np.maximum(gap, 1.0)))
    u = rng.random(len(seg))
    first = (days - 1) - np.round(elapsed).astype(np.int64)
    span = np.round(elapsed * u ** (1.0 / np.maximum(so_far - 1, 1))).astype(np.int64)
    span = np.where(so_far > 1, span, 0)
    n_orders[new] = so_far[new]
    last[new] = (first + span)[new, None]
    tenure[new] = span[new, None]


def draw_customers(cfg: DemoConfig, rng: np.random.Generator, first: int, n: int,
                   alias_weights: dict[str, float], day_weight: np.ndarray) -> CustomerDraw:
    """Draw one block of ``n`` customers (``first`` = 0-based index of its first customer).

    Segment, order skeleton (count, first/last/every order day), signup and profile.
    ``day_weight`` is the demand × correction per day (timeline.py); ``alias_weights``
    (raw channel name → weight, e.g. campaign conversions) sets the acquisition-channel
    mix, tilted per segment by :data:`ACQUISITION_TILT`.
    """
    seg = draw_segments(rng, n)
    cand = draw_candidates(rng, seg, cfg.days)
    n_orders = cand.n_orders
    plan = plan_order_days(rng, cand, day_weight)
    lag = rng.geometric(0.25, n) - 1  # days between signup and first order
    lag = np.where(rng.random(n) < 0.6, 0, lag)
    signup_day = np.maximum(plan.first_day - lag, 0)

    def param(attr: str) -> np.ndarray:
        return _param(attr, seg)

    age = np.clip(np.round(rng.normal(param("age_mean"), param("age_sd"))), 18, 90).astype(np.int64)
    gender = np.array(["F", "M", "U", ""])[
        rng.choice(4, size=n, p=[0.52, 0.44, 0.02, 0.02])]
    country_code = rng.choice(len(COUNTRY_NAMES), size=n, p=COUNTRY_PROBS)

    sessions = np.round(rng.lognormal(np.log(param("sessions_median")), param("sessions_sigma")))
    sessions = np.maximum(sessions.astype(np.int64), n_orders)
    duration = np.round(rng.lognormal(np.log(param("duration_median")), param("duration_sigma")), 1)
    pages = np.round(1.0 + rng.lognormal(np.log(param("pages_median") - 1.0), param("pages_sigma")), 2)

    acquisition = _draw_acquisition(seg, alias_weights, rng)
    return CustomerDraw(ids=customer_ids(cfg.customers, first, n), segment=seg, n_orders=n_orders,
                        first_day=plan.first_day, last_day=plan.last_day, signup_day=signup_day,
                        order_day=plan.order_day,
                        age=age, gender=gender, country=COUNTRY_NAMES[country_code], sessions=sessions,
                        duration=duration, pages=pages, acquisition=acquisition,
                        country_code=country_code)


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
