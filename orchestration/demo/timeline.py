"""Order days of the registered customers, fitted so the shop's daily total follows demand.

Each customer's last order day (recency) and first order day (tenure) are drawn from
their segment's distribution as a few *candidates*; order days in between are drawn
from the demand curve. Because every customer signs up inside the window, the plain
draw would give a cold-start ramp instead of the seasonal demand curve, so a few
raking iterations reweight the demand per day (candidate choice and in-between days
alike) until the aggregate daily count matches ``demand`` × total orders.
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


def _pick(candidates: np.ndarray, weight: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Per row one candidate day, probability ∝ weight of that day (u: uniforms)."""
    w = np.cumsum(weight[candidates], axis=1)
    choice = np.minimum((w < (u * w[:, -1])[:, None]).sum(axis=1), candidates.shape[1] - 1)
    return candidates[np.arange(len(candidates)), choice]


def days_between(cum: np.ndarray, lo: np.ndarray, hi: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Day in [lo, hi] with probability ∝ weight (inverse CDF on the cumulative weights)."""
    target = cum[lo] + u * (cum[hi + 1] - cum[lo])
    return np.clip(np.searchsorted(cum, target, side="right") - 1, lo, hi)


def plan_order_days(rng: np.random.Generator, n_orders: np.ndarray, last_candidates: np.ndarray,
                    span_candidates: np.ndarray, demand: np.ndarray) -> OrderDays:
    """Choose first/last/in-between order days; see the module docstring.

    ``last_candidates`` (customers × k) are candidate last-order days; ``span_candidates``
    (customers × k) candidate fractions of the last day between first and last order.
    """
    days = len(demand)
    owner = np.repeat(np.arange(len(n_orders)), n_orders)
    pos = np.arange(len(owner)) - np.concatenate([[0], np.cumsum(n_orders)[:-1]])[owner]
    is_first, is_last = pos == 0, pos == n_orders[owner] - 1
    middle = ~(is_first | is_last)
    target = demand / demand.sum() * len(owner)
    u_last, u_first = rng.random(len(n_orders)), rng.random(len(n_orders))
    u_mid = rng.random(int(middle.sum()))
    correction = np.ones(days)
    for iteration in range(ITERATIONS + 1):
        weight = demand * correction
        last = _pick(last_candidates, weight, u_last)
        first_cand = np.floor(last[:, None] * (1.0 - span_candidates)).astype(np.int64)
        first = np.where(n_orders == 1, last, _pick(first_cand, weight, u_first))
        cum = np.concatenate([[0.0], np.cumsum(weight)])
        order_day = np.where(is_first, first[owner], last[owner])
        order_day[middle] = days_between(cum, first[owner[middle]], last[owner[middle]], u_mid)
        if iteration == ITERATIONS:
            break
        actual = np.bincount(order_day, minlength=days) + 0.5
        correction = np.clip(correction * (target / actual) ** 0.8, 1.0 / MAX_CORRECTION,
                             MAX_CORRECTION)
    return OrderDays(first_day=first, last_day=last, order_day=order_day)
