"""The lineage the asset graph must show, hand-listed, for the catalog test and the UI test.

``KEY_EDGES`` are direct dependencies (an arrow in the graph); ``KEY_PATHS`` are
dependencies through intermediate assets (staging → intermediate → marts, ML table →
its dbt staging view → ML mart). Both are written against asset keys only, so they hold
however the dbt models are split into ``@dbt_assets`` definitions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import dagster as dg

from orchestration.assets.dashboards import DASHBOARDS_KEY, marts_read_by_dashboards
from orchestration.klaviyo.streams import STREAMS

Edge = tuple[dg.AssetKey, dg.AssetKey]


def key(path: str) -> dg.AssetKey:
    return dg.AssetKey(path.split("/"))


def _edges(pairs: Iterable[tuple[str, str]]) -> list[Edge]:
    return [(key(a), key(b)) for a, b in pairs]


#: Klaviyo stream → the staging view that reads it (one each, campaigns feeds two).
_KLAVIYO_STAGING = {stream.name: [f"stg_klaviyo__{stream.name}"] for stream in STREAMS}
_KLAVIYO_STAGING["campaigns"] = ["stg_klaviyo__campaigns", "stg_klaviyo__campaign_messages"]

KEY_EDGES: list[Edge] = _edges(
    [(f"landing/{t}", f"raw/{t}") for t in ("campaign_performance", "customers", "orders")]
    + [
        ("raw/campaign_performance", "staging/stg_ads__campaign_performance"),
        ("raw/customers", "staging/stg_crm__customers"),
        ("raw/orders", "staging/stg_shop__order_lines"),
        ("seeds/channel_taxonomy", "intermediate/int_campaign_daily_mapped"),
        ("seeds/rfm_segment_map", "marts/fct_customer_rfm"),
        ("marts/fct_campaign_daily", "marts/fct_campaign_performance"),
        ("marts/fct_campaign_daily", "marts/fct_channel_performance"),
        ("marts/fct_customer_rfm", "ml/customer_segments"),
        ("marts/dim_customers", "ml/customer_segments"),
    ]
    + [(f"klaviyo_raw/{s}", f"staging/{view}") for s, views in _KLAVIYO_STAGING.items() for view in views]
) + [(dg.AssetKey(["marts", mart]), DASHBOARDS_KEY) for mart in marts_read_by_dashboards()]

KEY_PATHS: list[Edge] = _edges(
    [
        ("landing/campaign_performance", "marts/fct_campaign_daily"),
        ("staging/stg_ads__campaign_performance", "marts/fct_campaign_daily"),
        ("landing/orders", "marts/fct_orders"),
        ("landing/customers", "marts/dim_customers"),
        ("klaviyo_raw/events", "marts/fct_email_campaign_performance"),
        ("landing/orders", "ml/customer_segments"),
        ("landing/campaign_performance", DASHBOARDS_KEY.to_user_string()),
        ("klaviyo_raw/campaigns", "marts/fct_campaign_daily"),
    ]
)
# The ML-fed marts (models/marts/ml): the forecasts read back by dbt, compared with actuals.
KEY_PATHS += _edges([("ml/forecasts", "marts/fct_forecast_vs_actual")])

#: Layers in lineage order; an edge between two groups only ever goes to a later layer, so
#: the groups form a DAG and the collapsed lineage view reads left to right.
GROUP_LAYER = {
    "landing": 0,
    "raw": 1,
    "klaviyo": 1,
    "seeds": 2,
    "staging": 2,
    "intermediate": 3,
    "marts": 4,
    "ml": 5,
    "reports": 6,
}


def upstream_closure(parents: Mapping[dg.AssetKey, Iterable[dg.AssetKey]], start: dg.AssetKey) -> set[dg.AssetKey]:
    """Every asset ``start`` depends on, directly or through others."""
    seen: set[dg.AssetKey] = set()
    todo = [start]
    while todo:
        for parent in parents.get(todo.pop(), ()):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def lineage_problems(parents: Mapping[dg.AssetKey, Iterable[dg.AssetKey]]) -> list[str]:
    """What the graph {asset: its parents} misses of ``KEY_EDGES`` and ``KEY_PATHS``."""
    problems = []
    for parent, child in KEY_EDGES:
        if child not in parents:
            problems.append(f"missing asset {child.to_user_string()}")
        elif parent not in parents[child]:
            problems.append(f"missing edge {parent.to_user_string()} → {child.to_user_string()}")
    for parent, child in KEY_PATHS:
        if child not in parents:
            problems.append(f"missing asset {child.to_user_string()}")
        elif parent not in upstream_closure(parents, child):
            problems.append(f"no path {parent.to_user_string()} ⇝ {child.to_user_string()}")
    return problems


def definitions_graph(defs: dg.Definitions) -> tuple[dict[dg.AssetKey, set[dg.AssetKey]], dict[dg.AssetKey, str]]:
    """({asset: its parents}, {asset: group}) of every asset of ``defs``, external ones included."""
    graph = defs.resolve_asset_graph()
    parents = {k: set(graph.get(k).parent_keys) for k in graph.get_all_asset_keys()}
    groups = {k: graph.get(k).group_name for k in graph.get_all_asset_keys()}
    return parents, groups
