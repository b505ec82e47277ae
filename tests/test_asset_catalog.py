"""The asset catalog is complete: what the Dagster UI shows for every asset, and the lineage.

No database: the ``Definitions`` are loaded as the webserver loads them (resources are not
initialized). Every asset has a description, a group of the warehouse's layers, owners and
kinds; every dbt model and seed has its column schema (names, descriptions, and for the
contract-enforced marts the data types); every dependency is an asset of the graph (no
stub asset the UI would draw without a definition); the groups form a DAG in layer order;
the hand-listed key edges and paths are there; the dashboards asset ends the graph.
"""

from __future__ import annotations

import json
import re

import dagster as dg
import pytest

from orchestration.assets.dashboards import DASHBOARDS_KEY, marts_read_by_dashboards
from orchestration.assets.dbt import translator
from orchestration.definitions import defs
from orchestration.project import ensure_manifest
from tests.lineage_support import GROUP_LAYER, definitions_graph, lineage_problems

#: Technology kinds the UI shows as tags; every asset names at least one.
TECH_KINDS = {"csv", "postgres", "dbt", "python", "evidence"}
OWNER = re.compile(r"^(team:[a-z][a-z0-9-]*|[^@\s]+@[^@\s]+)$")


@pytest.fixture(scope="module")
def specs() -> dict[dg.AssetKey, dg.AssetSpec]:
    return {spec.key: spec for spec in defs.resolve_all_asset_specs()}


@pytest.fixture(scope="module")
def dbt_nodes() -> dict[dg.AssetKey, dict]:
    """{asset key: manifest node} of every enabled dbt model and seed."""
    manifest = json.loads(ensure_manifest().read_text())
    return {
        translator.get_asset_key(node): node
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed")
    }


def test_every_asset_has_description_group_owners_and_kinds(specs) -> None:
    assert len(specs) >= 40, sorted(k.to_user_string() for k in specs)
    problems = []
    for key, spec in sorted(specs.items(), key=lambda kv: kv[0].to_user_string()):
        name = key.to_user_string()
        description = (spec.description or "").strip()
        if len(description) < 20:
            problems.append(f"{name}: no description")
        elif re.match(r"dbt (model|seed|snapshot) \w+", description):
            problems.append(f"{name}: no description in dbt (dagster-dbt's placeholder)")
        if spec.group_name not in GROUP_LAYER:
            problems.append(f"{name}: group {spec.group_name!r} not one of {sorted(GROUP_LAYER)}")
        if not spec.owners or not all(OWNER.match(o) for o in spec.owners):
            problems.append(f"{name}: owners {spec.owners!r}")
        if not set(spec.kinds) & TECH_KINDS:
            problems.append(f"{name}: kinds {sorted(spec.kinds)} name none of {sorted(TECH_KINDS)}")
    assert not problems, "\n".join(problems)


def test_kinds_follow_the_technology(specs, dbt_nodes) -> None:
    for key in dbt_nodes:
        assert {"dbt", "postgres"} <= set(specs[key].kinds), key
    for key, spec in specs.items():
        if key.path[0] in ("raw", "klaviyo_raw", "ml") and key not in dbt_nodes:
            assert {"python", "postgres"} <= set(spec.kinds), key
    assert "evidence" in specs[DASHBOARDS_KEY].kinds


def test_every_dbt_model_and_seed_is_an_asset_with_its_column_schema(specs, dbt_nodes) -> None:
    assert any(k.path[0] == "marts" for k in dbt_nodes) and any(k.path[0] == "seeds" for k in dbt_nodes)
    problems = []
    for key, node in sorted(dbt_nodes.items(), key=lambda kv: kv[0].to_user_string()):
        name = key.to_user_string()
        if key not in specs:
            problems.append(f"{name}: dbt {node['resource_type']} {node['name']} is no asset")
            continue
        schema = specs[key].metadata.get("dagster/column_schema")
        if schema is None or not schema.columns:
            problems.append(f"{name}: no dagster/column_schema (document its columns in dbt)")
            continue
        documented = [c.lower() for c in node["columns"]]
        if [c.name.lower() for c in schema.columns] != documented:
            problems.append(f"{name}: column schema {[c.name for c in schema.columns]} != dbt columns {documented}")
        problems += [f"{name}.{c.name}: no description" for c in schema.columns if not (c.description or "").strip()]
        if key.path[0] == "marts":  # contract-enforced: every column has its data type
            problems += [f"{name}.{c.name}: no data type" for c in schema.columns if c.type in ("", "?")]
        if specs[key].metadata.get("dagster/table_name") is None:
            problems.append(f"{name}: no dagster/table_name")
    assert not problems, "\n".join(problems)


def test_every_dependency_is_an_asset_and_groups_follow_the_layers() -> None:
    parents, groups = definitions_graph(defs)
    problems = []
    for child, deps in parents.items():
        for parent in deps:
            if parent not in groups or groups[parent] is None:
                problems.append(f"{child.to_user_string()} depends on {parent.to_user_string()}, which no asset defines")
                continue
            a, b = groups[parent], groups[child]
            if a != b and GROUP_LAYER.get(a, -1) >= GROUP_LAYER.get(b, -1):
                problems.append(
                    f"edge {parent.to_user_string()} ({a}) → {child.to_user_string()} ({b}) goes back a layer"
                )
    assert not problems, "\n".join(problems)


def test_key_edges_and_paths() -> None:
    parents, _ = definitions_graph(defs)
    problems = lineage_problems(parents)
    assert not problems, "\n".join(problems)


def test_dashboards_asset_reads_the_marts_of_its_queries_and_ends_the_graph(specs, dbt_nodes) -> None:
    marts = marts_read_by_dashboards()
    assert {"fct_campaign_daily", "fct_campaign_performance", "fct_channel_performance"} <= set(marts)
    deps = {d.asset_key for d in specs[DASHBOARDS_KEY].deps}
    assert deps == {dg.AssetKey(["marts", m]) for m in marts}
    assert deps <= set(dbt_nodes), "every mart the dashboards read is a dbt model asset"
    assert specs[DASHBOARDS_KEY].group_name == "reports"
    parents, _ = definitions_graph(defs)
    assert not any(DASHBOARDS_KEY in p for p in parents.values()), "nothing depends on the dashboards"
