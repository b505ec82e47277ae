"""Daily campaign performance: impressions → clicks → conversions → revenue, and cost.

The campaign table is small (one row per campaign); the daily rows are made a block of
days at a time (:func:`campaign_rows`), each block with its own random stream, so memory
stays bounded however many campaigns and days there are."""

from __future__ import annotations

import numpy as np
import pandas as pd

from orchestration.demo.channels import CAMPAIGN_GEOS, CAMPAIGN_THEMES, CHANNELS
from orchestration.demo.config import DemoConfig
from orchestration.demo.seasonality import day_dates, trend_factor, weekly_factor, yearly_factor

CAMPAIGN_COLUMNS = [
    "date", "campaign_id", "campaign_name", "channel", "cost", "impressions",
    "clicks", "conversions", "revenue", "currency",
]
CURRENCY = "USD"
PAUSED_DAY_SHARE = 0.01


def _assign_channels(n: int, rng: np.random.Generator) -> np.ndarray:
    """Channel index per campaign: every channel at least once (when n allows), rest by weight."""
    weights = np.array([c.campaign_weight for c in CHANNELS])
    weights = weights / weights.sum()
    k = min(n, len(CHANNELS))
    idx = np.empty(n, dtype=np.int64)
    idx[:k] = rng.permutation(len(CHANNELS))[:k]
    idx[k:] = rng.choice(len(CHANNELS), size=n - k, p=weights)
    return rng.permutation(idx)


def campaign_table(cfg: DemoConfig, rng: np.random.Generator) -> pd.DataFrame:
    """One row per campaign: id, name, raw and canonical channel, window, economics factors."""
    n, days = cfg.campaigns, cfg.days
    ch = _assign_channels(n, rng)
    seen: dict[int, int] = {}
    aliases, names = [], []
    themes = rng.integers(0, len(CAMPAIGN_THEMES), n)
    geos = rng.integers(0, len(CAMPAIGN_GEOS), n)
    for i in range(n):
        c = CHANNELS[ch[i]]
        k = seen.get(ch[i], 0)
        seen[ch[i]] = k + 1
        aliases.append(c.aliases[k % len(c.aliases)])  # each campaign one raw alias, all used
        names.append(f"{c.prefix}_{CAMPAIGN_THEMES[themes[i]]}_{CAMPAIGN_GEOS[geos[i]]}_{i + 1:03d}")
    always_on = rng.random(n) < np.array([CHANNELS[j].always_on_share for j in ch])
    duration = np.clip(np.round(rng.lognormal(np.log(90), 0.8, n)), 7, days).astype(np.int64)
    duration[always_on] = days
    first = (rng.random(n) * (days - duration + 1)).astype(np.int64)
    zero_cost = np.array([CHANNELS[j].pricing == "free" for j in ch]) | (
        rng.random(n) < np.array([CHANNELS[j].zero_cost_share for j in ch]))
    return pd.DataFrame({
        "campaign_id": [f"CMP-{i + 1:04d}" for i in range(n)],
        "campaign_name": names,
        "channel": aliases,
        "canonical": [CHANNELS[j].name for j in ch],
        "channel_index": ch,
        "first_day": first,
        "last_day": first + duration - 1,
        "always_on": always_on,
        "zero_cost": zero_cost,
        "scale": rng.lognormal(0.0, 0.5, n),
        "ctr_factor": rng.lognormal(0.0, 0.25, n),
        "cvr_factor": rng.lognormal(0.0, 0.45, n),
        "aov_factor": rng.lognormal(0.0, 0.20, n),
        "price_factor": rng.lognormal(0.0, 0.20, n),
    })


def row_count(camps: pd.DataFrame) -> int:
    """Number of valid daily rows the campaigns give (one per campaign and active day)."""
    return int((camps["last_day"] - camps["first_day"] + 1).sum())


def campaign_rows(cfg: DemoConfig, camps: pd.DataFrame, rng: np.random.Generator,
                  day_lo: int, day_hi: int) -> pd.DataFrame:
    """The valid campaign-performance rows of days ``day_lo`` .. ``day_hi - 1``, sorted by
    date then campaign (written columns plus ``canonical``).

    Funnel per campaign-day: impressions ~ Poisson(base × weekly × √yearly × trend × noise),
    clicks ~ Binomial(impressions, CTR), conversions ~ Binomial(clicks, CVR), revenue =
    conversions × AOV × noise; cost = clicks × CPC or impressions/1000 × CPM (0 for free
    channels and in-house campaigns). Revenue carries the full yearly factor. About 1 % of
    campaign-days are paused (all zeros), so zero-impression/zero-click rows occur.
    """
    first, last = camps["first_day"].to_numpy(), camps["last_day"].to_numpy()
    span = np.arange(day_lo, day_hi)
    active = (first[None, :] <= span[:, None]) & (span[:, None] <= last[None, :])
    day_idx, cid = np.nonzero(active)  # row-major: by day, then campaign
    day = span[day_idx]
    n = len(cid)

    dates = day_dates(cfg.start, cfg.days)
    week = weekly_factor(dates)[day]
    year = yearly_factor(dates)[day]
    trend = trend_factor(dates, cfg.start)[day]
    chan = camps["channel_index"].to_numpy()[cid]
    base_imps = np.array([c.daily_impressions for c in CHANNELS])[chan]
    ctr0 = np.array([c.ctr for c in CHANNELS])[chan]
    cvr0 = np.array([c.cvr for c in CHANNELS])[chan]
    aov0 = np.array([c.aov for c in CHANNELS])[chan]
    price0 = np.array([c.price for c in CHANNELS])[chan]
    cpc = np.array([c.pricing == "cpc" for c in CHANNELS])[chan]

    def col(name: str) -> np.ndarray:
        return camps[name].to_numpy()[cid]

    lam = base_imps * col("scale") * week * np.sqrt(year) * trend * rng.lognormal(0, 0.25, n)
    impressions = rng.poisson(lam)
    impressions[rng.random(n) < PAUSED_DAY_SHARE] = 0  # paused / budget exhausted: an all-zero day
    ctr = np.clip(ctr0 * col("ctr_factor") * rng.lognormal(0, 0.10, n), 0, 0.5)
    clicks = rng.binomial(impressions, ctr)
    cvr = np.clip(cvr0 * col("cvr_factor") * year ** 0.35 * rng.lognormal(0, 0.10, n), 0, 0.9)
    conversions = rng.binomial(clicks, cvr)
    aov = aov0 * col("aov_factor") * year ** 0.15 * rng.lognormal(0, 0.12, n)
    revenue = np.round(conversions * aov, 2)
    unit_cost = price0 * col("price_factor") * year ** 0.3 * rng.lognormal(0, 0.08, n)
    cost = np.where(cpc, clicks * unit_cost, impressions / 1000.0 * unit_cost)
    cost = np.round(np.where(col("zero_cost"), 0.0, cost), 2)

    frame = pd.DataFrame({
        "date": dates[day].astype(str),
        "campaign_id": camps["campaign_id"].to_numpy()[cid],
        "campaign_name": camps["campaign_name"].to_numpy()[cid],
        "channel": camps["channel"].to_numpy()[cid],
        "cost": cost,
        "impressions": impressions.astype(np.int64),
        "clicks": clicks.astype(np.int64),
        "conversions": conversions.astype(np.int64),
        "revenue": revenue,
        "currency": CURRENCY,
    })
    frame["canonical"] = camps["canonical"].to_numpy()[cid]
    return frame
