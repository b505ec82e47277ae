"""The generator's data, made in bounded pieces: campaign days, then blocks of customers.

Every piece has its own random stream derived from the seed and the piece's index
(``SeedSequence([seed, stream, index])``), so the output is the same whatever order or
memory budget the pieces are processed with, and nothing needs all customers at once.
The only global step, fitting the day weights that make the shop's daily orders follow
demand (timeline.py), runs once on a fixed-size calibration sample.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from orchestration.demo.campaigns import campaign_rows, campaign_table, row_count
from orchestration.demo.catalogue import Catalogue, build_catalogue
from orchestration.demo.config import DemoConfig
from orchestration.demo.customers import CustomerDraw, draw_candidates, draw_customers, draw_segments
from orchestration.demo.orders import FIRST_ORDER_NUMBER, BlockOrders, block_orders, lines_frame, number_orders
from orchestration.demo.seasonality import daily_demand
from orchestration.demo.spill import LineSpill
from orchestration.demo.timeline import fit_correction

# Independent random streams: changing one part (e.g. the planted errors) never
# changes the random numbers of another.
STREAM_CAMPAIGNS, STREAM_CUSTOMERS, STREAM_CATALOGUE, STREAM_ORDERS = 1, 2, 3, 4
STREAM_CALIBRATION, STREAM_CAMPAIGN_DAYS = 5, 6
STREAM_BAD_CAMPAIGNS, STREAM_BAD_CUSTOMERS, STREAM_BAD_ORDERS = 11, 12, 13

#: Customers per block (each block: own random streams; part of the output's definition).
BLOCK_CUSTOMERS = 10_000
#: Days of campaign rows made at once (each: own random stream).
CAMPAIGN_DAY_BLOCK = 28
#: Customers in the sample the day weights are fitted on (independent of the demo's size).
CALIBRATION_CUSTOMERS = 20_000


def rng(seed: int, *stream: int) -> np.random.Generator:
    """The random stream ``stream`` (e.g. ``STREAM_CUSTOMERS, block``) of ``seed``."""
    return np.random.default_rng(np.random.SeedSequence([seed, *stream]))


def catalogue(cfg: DemoConfig) -> Catalogue:
    """The product catalogue of the demo."""
    return build_catalogue(rng(cfg.seed, STREAM_CATALOGUE))


@dataclass
class CampaignStream:
    """The campaign table and its daily rows, made a block of days at a time.

    Iterating :meth:`frames` also totals conversions per raw channel
    (:attr:`conversions`), which weight the customers' acquisition channels."""

    cfg: DemoConfig
    table: pd.DataFrame
    conversions: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, cfg: DemoConfig) -> CampaignStream:
        """The campaigns of ``cfg`` (table only; rows come from :meth:`frames`)."""
        return cls(cfg, campaign_table(cfg, rng(cfg.seed, STREAM_CAMPAIGNS)))

    @property
    def rows(self) -> int:
        """Number of valid daily rows."""
        return row_count(self.table)

    def frames(self) -> Iterator[pd.DataFrame]:
        """Valid rows by date then campaign, one frame per block of days."""
        self.conversions = {}
        for b, lo in enumerate(range(0, self.cfg.days, CAMPAIGN_DAY_BLOCK)):
            hi = min(lo + CAMPAIGN_DAY_BLOCK, self.cfg.days)
            frame = campaign_rows(self.cfg, self.table, rng(self.cfg.seed, STREAM_CAMPAIGN_DAYS, b), lo, hi)
            for alias, total in frame.groupby("channel")["conversions"].sum().items():
                self.conversions[str(alias)] = self.conversions.get(str(alias), 0.0) + float(total)
            yield frame

    def alias_weights(self) -> dict[str, float]:
        """Raw channel → acquisition weight (conversions + 1), after :meth:`frames` ran."""
        return {alias: self.conversions.get(alias, 0.0) + 1.0 for alias in self.table["channel"].unique()}


def block_bounds(customers: int) -> list[tuple[int, int]]:
    """(first customer index, customers) of each block."""
    return [(lo, min(BLOCK_CUSTOMERS, customers - lo)) for lo in range(0, customers, BLOCK_CUSTOMERS)]


def block_line_targets(cfg: DemoConfig) -> np.ndarray:
    """Valid order lines per block: proportional to its customers, summing exactly to the
    target (largest remainders, ties to the earlier block)."""
    sizes = np.array([n for _, n in block_bounds(cfg.customers)], dtype=np.int64)
    exact = cfg.order_lines_target * sizes / sizes.sum()
    out = np.floor(exact).astype(np.int64)
    out[np.argsort(-(exact - out), kind="stable")[: cfg.order_lines_target - out.sum()]] += 1
    return out


def day_weights(cfg: DemoConfig) -> np.ndarray:
    """Demand × correction per day, fitted on a calibration sample (timeline.py)."""
    r = rng(cfg.seed, STREAM_CALIBRATION)
    seg = draw_segments(r, CALIBRATION_CUSTOMERS)
    demand = daily_demand(cfg.start, cfg.days)
    return demand * fit_correction(r, draw_candidates(r, seg, cfg.days), demand)


@dataclass
class CustomerBlock:
    """One block of customers and their orders."""

    index: int
    first: int
    draw: CustomerDraw
    orders: BlockOrders


def customer_blocks(cfg: DemoConfig, alias_weights: dict[str, float],
                    cat: Catalogue) -> Iterator[CustomerBlock]:
    """Every block of customers, in customer-id order, with its order lines."""
    weight = day_weights(cfg)
    demand_cum = np.concatenate([[0.0], np.cumsum(daily_demand(cfg.start, cfg.days))])
    targets = block_line_targets(cfg)
    for b, (first, n) in enumerate(block_bounds(cfg.customers)):
        draw = draw_customers(cfg, rng(cfg.seed, STREAM_CUSTOMERS, b), first, n, alias_weights, weight)
        orders = block_orders(cfg, rng(cfg.seed, STREAM_ORDERS, b), b, first, draw, cat,
                              demand_cum, int(targets[b]))
        yield CustomerBlock(b, first, draw, orders)


#: Order lines formatted into one frame at a time when writing (bounds pandas' memory).
FRAME_LINES = 200_000


def order_frames(cfg: DemoConfig, spill: LineSpill, cat: Catalogue,
                 keep: np.ndarray | None = None) -> Iterator[pd.DataFrame]:
    """The orders file's valid rows in file order (time order, orders numbered from
    :data:`FIRST_ORDER_NUMBER`), from every block's spilled lines. ``keep`` (a boolean per
    customer) keeps only those customers' lines (numbering unchanged)."""
    number = FIRST_ORDER_NUMBER
    for lines in spill.sorted_buckets():
        numbers, number = number_orders(lines, number)
        if keep is not None:
            mask = (lines["owner"] >= 0) & keep[np.maximum(lines["owner"], 0)]
            lines, numbers = lines[mask], numbers[mask]
        for lo in range(0, len(lines), FRAME_LINES):
            yield lines_frame(cfg, lines[lo:lo + FRAME_LINES], numbers[lo:lo + FRAME_LINES], cat)
