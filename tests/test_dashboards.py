"""The Evidence dashboards: their queries run on the marts, the site builds, every page renders.

* every source query (``dashboards/sources/**/*.sql``) runs as the BI role on a warehouse
  with the marts built (a renamed or dropped mart column fails here, with Postgres' error)
  and returns rows: demo files, a demo Klaviyo account and the ML assets, run in-process,
  feed every mart (``tests/dashboards_support.py``);
* the pages only use source tables and queries that exist (static check);
* dbt docs describe every mart and mart column;
* ``slow``: one Evidence build (npm ci when needed, ``evidence sources``, ``evidence
  build:strict``; page queries that fail in DuckDB fail the build), served on 127.0.0.1,
  every page opened in headless Debian chromium through Playwright: no console error, no
  failed request, no error or empty box, one drawn chart per chart tag in the page's
  markdown, one table per DataTable. A full-page screenshot per page goes to
  ``.warehouse/artifacts/screenshots/`` (``DASHBOARDS_ARTIFACTS`` to change), with the
  timings in ``timings.txt`` beside them.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from orchestration import bi_access, settings
from orchestration.assets.dashboards import page_urls
from orchestration.browser import chromium_path, launch_chromium, watch_page
from tests.dashboards_support import (
    DASHBOARDS,
    REPO_ROOT,
    VENV_BIN,
    bi_role,
    build_dashboard_marts,
    marts_read_by_dashboards,
    source_queries,
)

PAGES = DASHBOARDS / "pages"
ARTIFACTS = Path(os.environ.get("DASHBOARDS_ARTIFACTS", REPO_ROOT / ".warehouse" / "artifacts"))
CHROMIUM = chromium_path()
CHART_TAGS = ("LineChart", "BarChart", "AreaChart", "ScatterPlot", "BubbleChart", "Histogram", "FunnelChart", "Heatmap", "Chart")
#: Text Evidence renders instead of a component when its query failed or returned nothing.
BAD_TEXT = ("Error in", "Dataset is empty", "No Records", "No Results", "Binder Error", "Catalog Error", "SQL Error")


@pytest.fixture(scope="module")
def warehouse(module_db: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    build_dashboard_marts(module_db, tmp_path_factory.mktemp("dashboards"))
    return module_db


@pytest.fixture(scope="module")
def reader(warehouse: str) -> Iterator[bi_access.Credentials]:
    with bi_role(warehouse) as creds:
        yield creds


# --------------------------------------------------------------------------- queries


@pytest.mark.parametrize("query", source_queries(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_source_queries_run_as_bi_reader(query: Path, reader: bi_access.Credentials) -> None:
    text = query.read_text().strip().rstrip(";")
    with psycopg.connect(reader.dsn()) as conn:
        cursor = conn.execute(text)
        columns = [c.name for c in cursor.description]
        rows = cursor.fetchall()
    assert rows, f"{query.name} returned no rows on the demo warehouse"
    assert len(columns) == len(set(columns)), f"{query.name}: duplicate column names {columns}"


def _page_queries(text: str) -> dict[str, str]:
    return dict(re.findall(r"```sql\s+(\w+)\s*\n(.*?)```", text, flags=re.DOTALL))


def test_pages_use_existing_sources_and_queries() -> None:
    sources = {f"{p.parent.name}.{p.stem}" for p in source_queries()}
    pages = sorted(PAGES.rglob("*.md"))
    assert {p.name for p in pages} >= {
        "index.md", "channels.md", "campaigns.md", "email.md", "customers.md", "segments.md", "forecasts.md",
    }
    used = set()
    for page in pages:
        text = page.read_text()
        used.update(re.findall(r"\bwarehouse\.\w+", text))
        queries = _page_queries(text)
        assert queries, f"{page.name} has no query"
        for name, body in queries.items():
            for table in re.findall(r"\bwarehouse\.(\w+)", body):
                assert f"warehouse.{table}" in sources, f"{page.name}: query {name} reads unknown source warehouse.{table}"
            for ref in re.findall(r"\$\{(\w+)\}", body):
                assert ref in queries, f"{page.name}: query {name} refers to unknown query ${{{ref}}}"
        for ref in re.findall(r"data=\{(\w+)\}", text):
            assert ref in queries, f"{page.name}: a component reads unknown query {ref}"
        for ref in re.findall(r'data="warehouse\.(\w+)"', text):
            assert f"warehouse.{ref}" in sources, f"{page.name}: a component reads unknown source {ref}"
    assert sources <= used, f"source queries no page reads (drop them): {sorted(sources - used)}"


def test_dbt_docs_describe_every_mart_and_column(warehouse: str, tmp_path: Path) -> None:
    env = dict(os.environ)
    env.update(settings.dbt_env(warehouse))
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    target = tmp_path / "target"
    result = subprocess.run(
        ["dbt", "docs", "generate", "--target-path", str(target), "--log-path", str(tmp_path / "logs")],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert (target / "index.html").exists()
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    marts = {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["schema"] == "marts"
    }
    assert set(marts_read_by_dashboards()) <= {n["name"] for n in marts.values()}
    undocumented = []
    for uid, node in marts.items():
        if not node["description"].strip():
            undocumented.append(node["name"])
        declared = {name.lower(): col for name, col in node["columns"].items()}
        undocumented += [f"{node['name']}.{c}" for c, col in declared.items() if not col["description"].strip()]
        built = catalog["nodes"].get(uid)
        if built:  # every column the table really has is declared (and so described)
            undocumented += [f"{node['name']}.{c}" for c in built["columns"] if c.lower() not in declared]
    assert not undocumented, f"marts or mart columns without a description: {undocumented}"
    for name in marts_read_by_dashboards():
        assert f"model.marketing_warehouse.{name}" in catalog["nodes"], name


# --------------------------------------------------------------------------- site


def _run(command: list[str], env: dict[str, str] | None = None, timeout: int = 1200) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


@pytest.fixture(scope="module")
def site(reader: bi_access.Credentials, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict]]:
    """The site built once from the test warehouse as the BI role, served on 127.0.0.1."""
    timings: dict[str, float] = {}
    if not shutil.which("npm"):
        pytest.fail("npm is not installed: the dashboards need Node.js >= 18 and npm (apt-get install -y nodejs npm)")
    started = time.monotonic()
    chromium = _run(["bash", str(REPO_ROOT / "scripts" / "install-chromium.sh")], env={**os.environ, "CHROMIUM": CHROMIUM})
    assert chromium.returncode == 0, f"could not install chromium: {chromium.stderr.strip()}"
    timings["chromium install check"] = time.monotonic() - started

    out = tmp_path_factory.mktemp("evidence")
    env = {**os.environ, **reader.evidence_env(), "DASHBOARDS_BUILD_DIR": str(out), "EVIDENCE_STRICT": "1"}
    started = time.monotonic()
    build = _run(["bash", str(REPO_ROOT / "scripts" / "build-dashboards.sh")], env=env)
    timings["npm ci (when needed) + evidence sources + build"] = time.monotonic() - started
    assert build.returncode == 0, f"dashboard build failed:\n{build.stdout[-3000:]}\n{build.stderr[-5000:]}"
    for line in build.stderr.splitlines():
        match = re.match(r"(npm ci|evidence sources|evidence build): (\d+) s$", line)
        if match:
            timings[f"  {match[1]}"] = float(match[2])
    root = out / "build"
    assert (root / "index.html").exists()

    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", timings
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_every_page_renders_in_chromium(site: tuple[str, dict]) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: run make install (it is a dev dependency in pyproject.toml)")
    base, timings = site
    shots = ARTIFACTS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    started = time.monotonic()
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        for name, url in page_urls().items():
            problems += _check_page(context, base, name, url, shots)
        browser.close()
    timings["chromium: open, check and screenshot every page"] = time.monotonic() - started
    (ARTIFACTS / "timings.txt").write_text("".join(f"{k}: {v:.1f} s\n" for k, v in timings.items()))
    print("\n" + "".join(f"{k}: {v:.1f} s\n" for k, v in timings.items()))
    assert not problems, "\n".join(problems)


def _check_page(context, base: str, name: str, url: str, shots: Path) -> list[str]:
    markdown = (PAGES / f"{name}.md").read_text()
    want_charts = sum(len(re.findall(rf"<{tag}\b", markdown)) for tag in CHART_TAGS)
    page = context.new_page()
    messages = watch_page(page)
    page.goto(base + url, wait_until="networkidle", timeout=60_000)
    drawn = (
        "n => Array.from(document.querySelectorAll('[_echarts_instance_]'))"
        ".filter(e => e.querySelector('canvas, svg') && e.getBoundingClientRect().height > 50).length >= n"
    )
    try:
        page.wait_for_function(drawn, arg=want_charts, timeout=30_000)
    except Exception:  # reported below with the counts
        pass
    page.wait_for_timeout(1_000)  # let the last animations settle for the screenshot
    page.screenshot(path=str(shots / f"{name.replace('/', '__')}.png"), full_page=True)
    problems = _page_problems(page, url, markdown, want_charts)
    # Every button of a ButtonGroup re-runs the page's queries: each must redraw cleanly too.
    for label in re.findall(r'<ButtonGroupItem\b[^>]*valueLabel="([^"]+)"', markdown):
        page.get_by_role("button", name=label, exact=True).click()
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(1_500)
        problems += [f"{p} (after clicking {label!r})" for p in _page_problems(page, url, markdown, want_charts)]
    page.close()
    return [f"{url}: {m}" for m in dict.fromkeys(messages)] + problems


def _page_problems(page, url: str, markdown: str, want_charts: int) -> list[str]:
    want_tables = len(re.findall(r"<DataTable\b", markdown))
    want_comparisons = re.findall(r'comparisonTitle="([^"]+)"', markdown)
    found = page.evaluate(
        """() => ({
            charts: Array.from(document.querySelectorAll('[_echarts_instance_]'))
                .filter(e => e.querySelector('canvas, svg') && e.getBoundingClientRect().height > 50).length,
            tables: document.querySelectorAll('article table, main table').length,
            errorBoxes: Array.from(document.querySelectorAll('.bg-red-50, .border-red-200'))
                .map(e => e.innerText.trim().slice(0, 200)),
            text: (document.querySelector('article') || document.body).innerText,
        })"""
    )
    problems = []
    if found["charts"] < want_charts:
        problems.append(f"{url}: {found['charts']} drawn charts, the page declares {want_charts}")
    if found["tables"] < want_tables:
        problems.append(f"{url}: {found['tables']} tables, the page declares {want_tables} DataTables")
    problems += [f"{url}: error box: {text}" for text in found["errorBoxes"]]
    problems += [f"{url}: shows {bad!r}" for bad in BAD_TEXT if bad in found["text"]]
    problems += [f"{url}: comparison {t!r} not shown" for t in set(want_comparisons) if t not in found["text"]]
    return problems
