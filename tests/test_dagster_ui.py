"""The Dagster UI shows the whole lineage: the webserver's GraphQL asset graph and its lineage page.

``slow``: starts ``dagster-webserver -m orchestration.definitions`` on 127.0.0.1 (a free port,
a temporary DAGSTER_HOME, its own process group, killed with SIGKILL at the end: it ignores
SIGTERM when started from a non-interactive process; see orchestration/lineage_ui.py). No
database: the webserver only loads the definitions.

* GraphQL ``assetNodes { assetKey dependencyKeys groupName kinds owners description }``:
  exactly the assets and edges of the ``Definitions``' asset graph, the hand-listed key
  edges and paths (tests/lineage_support.py), and each asset's group, kinds, owners and
  description as the catalog defines them;
* the global asset lineage page (``/asset-groups``) in headless Debian chromium through
  Playwright: every group and the key assets drawn, no console error, no page error, no
  failed request; screenshot in ``.warehouse/artifacts/screenshots/dagster-lineage.png``.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from orchestration import lineage_ui
from orchestration.browser import chromium_path, launch_chromium
from orchestration.assets.dashboards import DASHBOARDS_KEY
from orchestration.definitions import defs
from tests.lineage_support import definitions_graph, lineage_problems

REPO_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("DASHBOARDS_ARTIFACTS", REPO_ROOT / ".warehouse" / "artifacts"))

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server() -> Iterator[lineage_ui.Webserver]:
    with lineage_ui.webserver() as running:
        yield running
    # Killed as a group: nothing of it may survive (webserver, code server, helpers).
    assert running.process.poll() is not None, "the webserver outlived its process group kill"


def _name(key: dg.AssetKey) -> str:
    return key.to_user_string()


def test_graphql_asset_graph_is_the_definitions_graph(server: lineage_ui.Webserver) -> None:
    started = time.monotonic()
    nodes = lineage_ui.asset_graph(server.url)
    seconds = time.monotonic() - started
    parents, groups = definitions_graph(defs)
    specs = {spec.key: spec for spec in defs.resolve_all_asset_specs()}

    ui_parents = {
        dg.AssetKey(list(path)): {dg.AssetKey(d["path"]) for d in node["dependencyKeys"]}
        for path, node in nodes.items()
    }
    assert set(ui_parents) == set(parents), (
        f"only in the UI: {sorted(map(_name, set(ui_parents) - set(parents)))}; "
        f"only in the definitions: {sorted(map(_name, set(parents) - set(ui_parents)))}"
    )
    ui_edges = {(p, c) for c, ps in ui_parents.items() for p in ps}
    edges = {(p, c) for c, ps in parents.items() for p in ps}
    assert ui_edges == edges, (
        f"edges only in the UI: {sorted((_name(a), _name(b)) for a, b in ui_edges - edges)}; "
        f"only in the definitions: {sorted((_name(a), _name(b)) for a, b in edges - ui_edges)}"
    )
    assert len(edges) >= 60, len(edges)
    problems = lineage_problems(ui_parents)
    assert not problems, "\n".join(problems)
    assert DASHBOARDS_KEY in ui_parents and not any(DASHBOARDS_KEY in ps for ps in ui_parents.values())

    for path, node in nodes.items():
        key = dg.AssetKey(list(path))
        assert node["groupName"] == groups[key], key
        assert set(node["kinds"]) == set(specs[key].kinds), key
        owners = {o.get("team") and f"team:{o['team']}" or o.get("email") for o in node["owners"]}
        assert owners and owners == set(specs[key].owners), (key, owners)
        assert (node["description"] or "").strip(), key
    print(f"\nGraphQL assetNodes: {len(nodes)} assets, {len(edges)} edges in {seconds:.1f} s; "
          + ", ".join(f"{k}: {v:.1f} s" for k, v in server.timings.items()))


def test_lineage_page_renders_in_chromium(server: lineage_ui.Webserver) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: run make install (it is a dev dependency in pyproject.toml)")
    chromium = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "install-chromium.sh")],
        env={**os.environ, "CHROMIUM": chromium_path()}, capture_output=True, text=True, timeout=900,
    )
    assert chromium.returncode == 0, f"could not install chromium: {chromium.stderr.strip()}"

    _, groups = definitions_graph(defs)
    expanded = lineage_ui.DOC_EXPANDED_GROUPS
    # Collapsed groups are drawn as one box with the group's name; expanded ones show their assets.
    labels = sorted({g for g in groups.values() if g}) + ["evidence_site", "customer_segments", "forecasts"]
    shots = ARTIFACTS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            context = browser.new_context(viewport={"width": 1900, "height": 1500})
            page, messages = lineage_ui.open_lineage(context, server.url, expanded, labels)
            page.screenshot(path=str(shots / "dagster-lineage.png"))
            title = page.get_by_text("Global asset lineage", exact=True).count()
            drawn_edges = page.locator("svg path").count()
            missing = [
                label for label in labels
                if not page.locator("foreignObject").get_by_text(label, exact=True).first.is_visible()
            ]
        finally:
            browser.close()
    seconds = time.monotonic() - started
    print(f"\nlineage page: open, render and screenshot in {seconds:.1f} s → {shots / 'dagster-lineage.png'}")
    assert title, "not the global asset lineage page"
    assert not missing, f"not drawn: {missing}"
    assert drawn_edges >= 20, f"only {drawn_edges} edges drawn"
    # No benign console error is known for this page (Dagster 1.13, no network): any one fails.
    assert not messages, "\n".join(dict.fromkeys(messages))
