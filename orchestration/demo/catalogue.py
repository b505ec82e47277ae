"""Product catalogue: stock codes, names, list prices and Zipf popularity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ADJECTIVES = (
    "VINTAGE", "RETRO", "SET OF 3", "LARGE", "SMALL", "JUMBO", "MINI", "HANGING", "FELT",
    "GLASS", "WOODEN", "CERAMIC", "ENAMEL", "PAPER", "TIN", "KNITTED", "LACE", "PARTY",
)
COLOURS = (
    "WHITE", "PINK", "RED", "BLUE", "GREEN", "IVORY", "BLACK", "GOLD", "SILVER", "PASTEL",
    "SPOTTY", "STRIPED", "FLORAL", "CHRISTMAS", "HEART", "STAR",
)
NOUNS = (
    "T-LIGHT HOLDER", "LUNCH BAG", "CAKE CASES", "CANDLE", "MUG", "TEA TOWEL", "DOORSTOP",
    "NOTEBOOK", "PHOTO FRAME", "BUNTING", "CUSHION COVER", "STORAGE TIN", "WATER BOTTLE",
    "JEWELLERY BOX", "GARLAND", "CLOCK", "COASTERS", "SHOPPING BAG", "BAKING SET", "LANTERN",
)
ZIPF_EXPONENT = 1.07


@dataclass(frozen=True)
class Catalogue:
    """Products by index: code, name, list price in cents, popularity (sums to 1)."""

    codes: np.ndarray
    names: np.ndarray
    price_cents: np.ndarray
    popularity: np.ndarray


def build_catalogue(rng: np.random.Generator, size: int = 500) -> Catalogue:
    """``size`` products with unique 5-digit stock codes (some with a letter suffix)."""
    numbers = rng.choice(np.arange(10_000, 90_000), size=size, replace=False)
    suffix = np.where(rng.random(size) < 0.12,
                      np.array(list("ABCDEFGHJKLMNPRSTW"))[rng.integers(0, 18, size)], "")
    codes = np.array([f"{n}{s}" for n, s in zip(numbers, suffix)])
    names = np.array([
        f"{ADJECTIVES[a]} {COLOURS[c]} {NOUNS[n]}"
        for a, c, n in zip(rng.integers(0, len(ADJECTIVES), size),
                           rng.integers(0, len(COLOURS), size),
                           rng.integers(0, len(NOUNS), size))
    ])
    price = np.clip(rng.lognormal(np.log(11.0), 0.8, size), 0.49, 250.0)
    price_cents = np.maximum(25, np.round(price * 20) * 5).astype(np.int64)
    rank = rng.permutation(size)
    weight = 1.0 / (rank + 1.0) ** ZIPF_EXPONENT
    return Catalogue(codes=codes, names=names, price_cents=price_cents,
                     popularity=weight / weight.sum())
