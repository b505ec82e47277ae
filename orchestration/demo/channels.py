"""Marketing channels: canonical names, raw aliases (docs/CONTRACTS.md) and unit economics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Pricing = Literal["cpc", "cpm", "free"]


@dataclass(frozen=True)
class Channel:
    """One canonical channel and the typical economics of its campaigns.

    ``price`` is the cost per click (``cpc``) or per thousand impressions (``cpm``);
    ``free`` channels always cost 0. ``zero_cost_share`` of the campaigns of a paid
    channel are run in-house and cost 0 too (e.g. email sent from an owned tool).
    """

    name: str
    aliases: tuple[str, ...]
    campaign_weight: float
    pricing: Pricing
    price: float
    ctr: float
    cvr: float
    aov: float
    daily_impressions: float
    always_on_share: float
    zero_cost_share: float = 0.0
    prefix: str = ""


CHANNELS: tuple[Channel, ...] = (
    Channel("paid_search", ("Google Ads", "google", "adwords", "Bing Ads", "bing"),
            0.20, "cpc", 1.10, 0.045, 0.035, 85.0, 8_000, 0.35, prefix="SEA"),
    Channel("paid_social", ("fb", "Facebook Ads", "meta", "Instagram", "TikTok Ads", "LinkedIn"),
            0.20, "cpm", 7.50, 0.012, 0.020, 70.0, 60_000, 0.15, prefix="SOC"),
    Channel("display", ("Display", "GDN", "programmatic"),
            0.09, "cpm", 2.80, 0.0035, 0.012, 75.0, 150_000, 0.20, prefix="DSP"),
    Channel("video", ("YouTube", "video"),
            0.07, "cpm", 11.0, 0.006, 0.016, 90.0, 80_000, 0.10, prefix="VID"),
    Channel("affiliate", ("affiliate", "Awin"),
            0.08, "cpc", 0.45, 0.020, 0.030, 65.0, 20_000, 0.40, prefix="AFF"),
    Channel("email", ("email", "Klaviyo"),
            0.12, "cpm", 0.90, 0.025, 0.040, 75.0, 30_000, 0.30, zero_cost_share=0.35,
            prefix="EML"),
    Channel("sms", ("sms",),
            0.05, "cpm", 9.00, 0.060, 0.030, 60.0, 5_000, 0.20, prefix="SMS"),
    Channel("organic_search", ("organic", "SEO"),
            0.06, "free", 0.0, 0.040, 0.030, 80.0, 15_000, 1.0, prefix="SEO"),
    Channel("referral", ("referral",),
            0.05, "free", 0.0, 0.050, 0.030, 80.0, 3_000, 1.0, prefix="REF"),
    Channel("influencer", ("influencer", "creators"),
            0.08, "cpm", 14.0, 0.009, 0.018, 70.0, 40_000, 0.05, prefix="INF"),
)

CHANNEL_BY_NAME: dict[str, Channel] = {c.name: c for c in CHANNELS}

#: Every raw channel name the generator may write, mapped to its canonical channel.
RAW_TO_CANONICAL: dict[str, str] = {alias: c.name for c in CHANNELS for alias in c.aliases}

CAMPAIGN_THEMES: tuple[str, ...] = (
    "Brand", "Generic", "Prospecting", "Retargeting", "Sale", "NewArrivals",
    "Newsletter", "Loyalty", "Winback", "Seasonal", "Bestsellers", "Clearance",
)
CAMPAIGN_GEOS: tuple[str, ...] = ("UK", "DE", "FR", "NL", "IE", "EU", "US")
