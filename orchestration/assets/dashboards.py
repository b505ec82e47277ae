"""The Evidence dashboards as an asset: the static site, downstream of the marts its queries read.

The asset's upstream marts are read from the Evidence source queries themselves
(``dashboards/sources/<source>/<query>.sql`` naming ``marts.<model>``), so the lineage
follows the SQL: a query that starts reading another mart adds the edge. Materializing the
asset grants (or refreshes) the read-only role ``bi_reader`` (:mod:`orchestration.bi_access`)
and runs ``scripts/build-dashboards.sh`` as that role, exactly as ``make dashboards`` does.
"""


import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import dagster as dg
import psycopg

from orchestration import bi_access, errors
from orchestration.resources import WarehouseResource
from orchestration.settings import REPO_ROOT

DASHBOARDS_DIR = REPO_ROOT / "dashboards"
SOURCES_DIR = DASHBOARDS_DIR / "sources"
PAGES_DIR = DASHBOARDS_DIR / "pages"
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-dashboards.sh"
DASHBOARDS_KEY = dg.AssetKey(["dashboards", "evidence_site"])
NPM_MISSING = (
    "npm is not installed, so the Evidence dashboards cannot be built: install Node.js >= 18 "
    "and npm (Debian: apt-get install -y nodejs npm), then run `make dashboards`."
)


def source_queries() -> list[Path]:
    """Every Evidence source query, ``dashboards/sources/<source>/<query>.sql``."""
    return sorted(SOURCES_DIR.glob("*/*.sql"))


def marts_read_by_dashboards() -> list[str]:
    """Names of the marts the source queries read (``marts.<name>``)."""
    names: set[str] = set()
    for path in source_queries():
        names.update(re.findall(r"\bmarts\.([a-z_][a-z0-9_]*)", path.read_text(), flags=re.IGNORECASE))
    return sorted(name.lower() for name in names)


def page_urls() -> dict[str, str]:
    """{page file: URL path}: pages/index.md → '/', pages/channels.md → '/channels/'."""
    urls = {}
    for page in sorted(PAGES_DIR.rglob("*.md")):
        rel = page.relative_to(PAGES_DIR).with_suffix("").as_posix()
        urls[rel] = "/" if rel == "index" else "/" + rel.removesuffix("/index") + "/"
    return urls


def npm_available() -> bool:
    """True when ``npm`` is on PATH (the build needs Node.js and npm)."""
    return shutil.which("npm") is not None


def _query_row_counts(creds: bi_access.Credentials) -> dict[str, int]:
    """{source.query: rows} of every source query, run as the BI role (as Evidence runs them)."""
    counts = {}
    with errors.connect(creds.dsn(), autocommit=True) as conn:
        for path in source_queries():
            name = f"{path.parent.name}.{path.stem}"
            text = path.read_text().strip().rstrip(";")
            try:
                counts[name] = conn.execute(f"select count(*) from (\n{text}\n) as source_query").fetchone()[0]
            except psycopg.Error as exc:
                message = exc.diag.message_primary or str(exc).splitlines()[0]
                raise errors.UserFacingError(
                    f"The dashboard source query {path.relative_to(REPO_ROOT)} fails as {creds.user}: {message}."
                ) from None
    return counts


@dg.asset(
    key=DASHBOARDS_KEY,
    deps=[dg.AssetKey(["marts", name]) for name in marts_read_by_dashboards()],
    # "reports": the consumer-facing outputs (dashboards, reports) share one group at the
    # end of the lineage, after marts and ml.
    group_name="reports",
    kinds={"evidence", "dashboard"},
    owners=["team:analytics-engineering"],
    description=(
        f"Evidence dashboards (pages: {', '.join(page_urls())}): a static site in dashboards/build, "
        "built from the Evidence source queries in dashboards/sources/, which read the marts as "
        "the read-only role bi_reader. Serve it with `make dashboards-serve`."
    ),
)
def evidence_site(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Grant bi_reader, then run scripts/build-dashboards.sh with its credentials."""
    if not npm_available():
        raise errors.UserFacingError(NPM_MISSING)
    started = time.monotonic()
    creds = bi_access.grant(warehouse.get_dsn())
    rows = _query_row_counts(creds)
    env = {**os.environ, **creds.evidence_env()}
    env.pop("DASHBOARDS_BUILD_DIR", None)  # this asset is dashboards/build
    # The password goes to the subprocess' environment only; output is scrubbed of it anyway.
    process = subprocess.Popen(
        ["bash", str(BUILD_SCRIPT)], cwd=REPO_ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    assert process.stdout is not None
    for raw in process.stdout:
        line = raw.rstrip("\n")
        if creds.password:
            line = line.replace(creds.password, "***")
        lines.append(line)
        context.log.info(line)
    if process.wait() != 0:
        reason = next((ln.removeprefix("error: ") for ln in reversed(lines) if ln.startswith("error: ")), None)
        raise errors.UserFacingError(
            f"The dashboards build failed: {reason or 'scripts/build-dashboards.sh exited with ' + str(process.returncode)}"
            " (the step's log shows the build output)."
        )
    seconds = time.monotonic() - started
    build = DASHBOARDS_DIR / "build"
    pages = page_urls()
    missing = [url for url in pages.values() if not (build / url.lstrip("/") / "index.html").exists()]
    if missing:
        raise errors.UserFacingError(f"The dashboards build left no page for {', '.join(missing)} in {build}.")
    timings = {m[1]: int(m[2]) for ln in lines if (m := re.match(r"(npm ci|evidence sources|evidence build\S*): (\d+) s$", ln))}
    size = sum(f.stat().st_size for f in build.rglob("*") if f.is_file())
    context.log.info(f"Dashboards built in {build}; open them with `make dashboards-serve`.")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(build)),
            "pages": dg.MetadataValue.md(
                "\n".join(["| page | URL |", "|---|---|"] + [f"| {name}.md | `{url}` |" for name, url in pages.items()])
            ),
            "page_count": len(pages),
            "seconds": round(seconds, 1),
            "step_seconds": dg.MetadataValue.json(timings),
            "source_query_rows": dg.MetadataValue.md(
                "\n".join(["| source query | rows |", "|---|---:|"] + [f"| {q} | {n:,} |" for q, n in rows.items()])
            ),
            "size_mb": round(size / 1e6, 1),
            "marts_read": ", ".join(f"marts.{m}" for m in marts_read_by_dashboards()),
            "reader_role": creds.user,
        }
    )
