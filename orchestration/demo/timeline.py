"""Order days of the registered customers, fitted so the shop's daily total follows demand.

Each customer's last order day (recency) and tenure (days from the first to the last
order) are drawn from their segment's distribution as a few *candidates*; order days in
between are drawn from the demand curve. Because every customer's history starts inside
the window, the plain draw would give a cold-start ramp instead of the seasonal demand
curve, so the demand is reweighted per day (candidate choice and in-between days alike)
by a *correction* fitted once, by a few raking iterations on a calibration sample of
customers (:func:`fit_correction`), until its daily order count matches demand. Every
block of customers then uses that same correction (:func:`plan_order_days`), so a
block's days depend only on its own random numbers, never on the other blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ITERATIONS = 6
MAX_CORRECTION = 30.0


@dataclass(frozen=True)
class OrderDays:
    """First and last order day per customer, and the day of each order (customer-major)."""

    first_day: np.ndarray
    last_day: np.ndarray
    order_day: np.ndarray


@dataclass(frozen=True)
class Candidates:
    """Per customer: number of orders and ``k`` candidate last days / tenures (customers × k)."""

    n_orders: np.ndarray
    last_days: np.ndarray
    tenures: np.ndarray


def _pick(candidates: np.ndarray, weight: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Per row one candidate day, probability ∝ weight of that day (u: uniforms)."""
    w = np.cumsum(weight[candidates], axis=1)
    choice = np.minimum((w < (u * w[:, -1])[:, None]).sum(axis=1), candidates.shape[1] - 1)
    return candidates[np.arange(len(candidates)), choice]


def days_between(cum: np.ndarray, lo: np.ndarray, hi: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Day in [lo, hi] with probability ∝ weight (inverse CDF on the cumulative weights)."""
    target = cum[lo] + u * (cum[hi + 1] - cum[lo])
    return np.clip(np.searchsorted(cum, target, side="right") - 1, lo, hi)


class _Uniforms:
    """The uniforms one placement needs (drawn once, reused by every raking iteration)."""

    def __init__(self, rng: np.random.Generator, cand: Candidates) -> None:
        n = len(cand.n_orders)
        self.owner = np.repeat(np.arange(n), cand.n_orders)
        pos = np.arange(len(self.owner)) - np.concatenate([[0], np.cumsum(cand.n_orders)[:-1]])[self.owner]
        self.is_first = pos == 0
        self.middle = ~(self.is_first | (pos == cand.n_orders[self.owner] - 1))
        self.last, self.first = rng.random(n), rng.random(n)
        self.mid = rng.random(int(self.middle.sum()))


def _place(cand: Candidates, u: _Uniforms, weight: np.ndarray) -> OrderDays:
    last = _pick(cand.last_days, weight, u.last)
    first_cand = np.maximum(last[:, None] - cand.tenures, 0)
    first = np.where(cand.n_orders == 1, last, _pick(first_cand, weight, u.first))
    cum = np.concatenate([[0.0], np.cumsum(weight)])
    owner, middle = u.owner, u.middle
    order_day = np.where(u.is_first, first[owner], last[owner])
    order_day[middle] = days_between(cum, first[owner[middle]], last[owner[middle]], u.mid)
    return OrderDays(first_day=first, last_day=last, order_day=order_day)


def fit_correction(rng: np.random.Generator, cand: Candidates, demand: np.ndarray) -> np.ndarray:
    """Per-day demand correction that makes the calibration sample's daily orders follow demand."""
    days = len(demand)
    u = _Uniforms(rng, cand)
    target = demand / demand.sum() * len(u.owner)
    correction = np.ones(days)
    for _ in range(ITERATIONS):
        placed = _place(cand, u, demand * correction)
        actual = np.bincount(placed.order_day, minlength=days) + 0.5
        correction = np.clip(correction * (target / actual) ** 0.8, 1.0 / MAX_CORRECTION,
                             MAX_CORRECTION)
    return correction


def plan_order_days(rng: np.random.Generator, cand: Candidates, weight: np.ndarray) -> OrderDays:
    """Choose first/last/in-between order days with day weights ``weight`` (demand × correction)."""
    return _place(cand, _Uniforms(rng, cand), weight)
