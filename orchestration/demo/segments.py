"""The latent customer segments planted as ground truth.

Each segment fixes distributions (log-normal unless said otherwise) of number of
orders (frequency), recency (days since the last order, as a fraction of the window),
the typical gap between two orders (which sets the tenure: first order ≈ last order −
(orders − 1) × gap, so repeat buyers are acquired all through the window), order size
(lines and quantity), sessions, pages per session, session duration and age.
They are well apart in log space so k-means on log/robust-scaled RFM + behaviour
features recovers them, with realistic overlapping tails.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    """Distribution parameters of one latent customer segment."""

    name: str
    share: float
    orders_median: float
    orders_sigma: float
    orders_min: int
    orders_max: int
    recency_median: float  # fraction of the window
    recency_sigma: float
    gap_days: float  # median days between two orders of a customer (log-normal per customer)
    gap_sigma: float
    lines_weight: float  # relative number of lines per order
    quantity_mean: float
    discount: float  # share of the list price taken off (bargain hunters)
    sessions_median: float
    sessions_sigma: float
    pages_median: float
    pages_sigma: float
    duration_median: float  # seconds
    duration_sigma: float
    age_mean: float
    age_sd: float
    new_share: float = 0.0  # share still early in their life at the window's end (customers.py)


SEGMENTS: tuple[Segment, ...] = (
    Segment("champions", 0.08, 22, 0.30, 8, 150, 0.012, 0.70, 21, 0.7, 2.0, 3.5, 0.0,
            170, 0.30, 9.0, 0.18, 480, 0.22, 44, 8, new_share=0.2),
    Segment("loyal_regulars", 0.22, 7, 0.30, 3, 40, 0.05, 0.60, 40, 0.7, 1.4, 2.5, 0.0,
            55, 0.30, 6.0, 0.18, 270, 0.22, 38, 9, new_share=0.2),
    Segment("bargain_occasionals", 0.25, 3, 0.25, 2, 12, 0.16, 0.40, 75, 0.7, 1.0, 2.0, 0.25,
            22, 0.30, 4.4, 0.18, 150, 0.22, 29, 6, new_share=0.2),
    Segment("one_time_buyers", 0.25, 1, 0.0, 1, 1, 0.30, 1.20, 0, 0.0, 0.8, 1.5, 0.0,
            5, 0.35, 2.6, 0.22, 80, 0.28, 34, 10),
    Segment("dormant_lapsed", 0.20, 5, 0.30, 2, 25, 0.66, 0.12, 35, 0.7, 1.2, 2.2, 0.0,
            12, 0.30, 3.5, 0.18, 120, 0.22, 53, 9),
)

SEGMENT_NAMES: tuple[str, ...] = tuple(s.name for s in SEGMENTS)
