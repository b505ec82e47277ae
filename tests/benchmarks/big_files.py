"""Big synthetic landing files for the loader's benchmarks (numpy-generated, seeded).

    campaign_file(path, rows, dirty=0.001, duplicates=0.001)
    orders_file(path, rows, dirty=0.001)

Campaign rows have the natural key (date, campaign_name, channel); ``duplicates`` of the
rows repeat the key of a random earlier row, ``dirty`` of them carry a bad cost value
("n/a" or a negative number).  Order rows are order *lines* (no natural key); ``dirty`` of
them have an impossible date or a missing quantity.  Written in 200,000-row blocks, so the
generator's memory stays small at any size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CAMPAIGN_HEADER = "date,campaign_id,campaign_name,channel,cost,impressions,clicks,conversions,revenue,currency\n"
ORDERS_HEADER = "order_id,customer_id,ordered_at,quantity,unit_price,product,product_name,country\n"
CHANNELS = np.array(["Google Ads", "fb", "meta", "Bing Ads", "YouTube", "email", "affiliate", "TikTok Ads"])
COUNTRIES = np.array(["United Kingdom", "Germany", "France", "EIRE", "Spain", "Netherlands"])
CAMPAIGNS = 2_000
BLOCK = 200_000


def campaign_file(path: Path, rows: int, dirty: float = 0.0, duplicates: float = 0.0, seed: int = 42) -> None:
    """Write ``rows`` campaign rows to ``path``; row i has key (day i // 2000, campaign i % 2000) unless
    it is one of the ``duplicates`` share, which copy the key of a random earlier row."""
    rng = np.random.default_rng(seed)
    epoch = np.datetime64("2000-01-01")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(CAMPAIGN_HEADER)
        for s in range(0, rows, BLOCK):
            e = min(rows, s + BLOCK)
            i = np.arange(s, e)
            key = i.copy()
            if duplicates > 0:
                dup = (rng.random(e - s) < duplicates) & (i > 0)
                key[dup] = (rng.random(int(dup.sum())) * i[dup]).astype(np.int64)
            day = (epoch + key // CAMPAIGNS).astype(str)
            camp = key % CAMPAIGNS
            channel = CHANNELS[camp % len(CHANNELS)]
            impressions = rng.integers(0, 200_000, e - s)
            clicks = (impressions * rng.random(e - s) * 0.08).astype(np.int64)
            cost = np.round(clicks * rng.random(e - s) * 1.7, 2).astype(str)
            conversions = np.round(clicks * rng.random(e - s) * 0.04, 2)
            revenue = np.round(conversions * rng.random(e - s) * 90, 2)
            if dirty > 0:
                bad = rng.random(e - s) < dirty
                cost[bad] = np.where(rng.random(int(bad.sum())) < 0.5, "n/a", "-1.5")
            fh.writelines(
                f"{d},cmp_{c},Campaign {c},{ch},{co},{im},{cl},{cv},{rv},USD\n"
                for d, c, ch, co, im, cl, cv, rv in zip(
                    day, camp, channel, cost, impressions, clicks, conversions, revenue
                )
            )


def orders_file(path: Path, rows: int, dirty: float = 0.0, seed: int = 42) -> None:
    """Write ``rows`` order lines (about three per order) to ``path``."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2022-01-01T00:00:00")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(ORDERS_HEADER)
        for s in range(0, rows, BLOCK):
            e = min(rows, s + BLOCK)
            order = 100_000 + np.arange(s, e) // 3
            customer = (order * 7919) % 1_500_000
            at = (start + (order * 37) % (3 * 365 * 86_400)).astype(str)
            at = np.char.replace(at, "T", " ")
            quantity = rng.integers(1, 12, e - s).astype(str)
            price = np.round(rng.random(e - s) * 40 + 0.5, 2)
            product = rng.integers(10_000, 14_000, e - s)
            country = COUNTRIES[customer % len(COUNTRIES)]
            if dirty > 0:
                bad = rng.random(e - s) < dirty
                half = rng.random(e - s) < 0.5
                at[bad & half] = "2023-02-30 10:00:00"
                quantity[bad & ~half] = ""
            fh.writelines(
                f"{o},{c},{t},{q},{p},{pr},Product {pr},{co}\n"
                for o, c, t, q, p, pr, co in zip(order, customer, at, quantity, price, product, country)
            )
