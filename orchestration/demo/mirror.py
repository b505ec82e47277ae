"""The demo's customers and order lines in memory, for consumers that mirror the files
(the local Klaviyo server): same pipeline, same random streams, so the same rows."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from orchestration.demo.config import DemoConfig
from orchestration.demo.orders import ORDER_COLUMNS
from orchestration.demo.pipeline import CampaignStream, catalogue, customer_blocks, order_frames
from orchestration.demo.seasonality import daily_demand
from orchestration.demo.spill import LineSpill, bucket_edges


@dataclass(frozen=True)
class DemoCustomers:
    """Per customer (index i = customer ``ids[i]``): signup day, country, acquisition channel."""

    ids: np.ndarray
    signup_day: np.ndarray
    country: np.ndarray
    acquisition: np.ndarray


def demo_customers_and_orders(cfg: DemoConfig, keep: np.ndarray | None = None
                              ) -> tuple[DemoCustomers, pd.DataFrame]:
    """Every customer of the demo files of ``cfg`` and their valid order lines (file order,
    guest lines excluded when ``keep`` is given: then only the lines of customers with
    ``keep[i]``; order ids as in the file)."""
    campaigns = CampaignStream.of(cfg)
    for _ in campaigns.frames():  # the acquisition weights need the campaigns' conversions
        pass
    cat = catalogue(cfg)
    parts: list[tuple[np.ndarray, ...]] = []
    edges = bucket_edges(daily_demand(cfg.start, cfg.days), cfg.order_lines_target)
    with tempfile.TemporaryDirectory(prefix="demo-mirror-") as tmp, LineSpill(Path(tmp), edges) as spill:
        for block in customer_blocks(cfg, campaigns.alias_weights(), cat):
            d = block.draw
            parts.append((d.ids, d.signup_day, d.country, d.acquisition))
            spill.add(block.orders.lines)
        frames = list(order_frames(cfg, spill, cat, keep))
    columns = [np.concatenate(col) for col in zip(*parts)]
    orders = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ORDER_COLUMNS)
    return DemoCustomers(*columns), orders
