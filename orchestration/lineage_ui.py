"""The Dagster UI as the lineage view: a throwaway webserver, its GraphQL asset graph, a screenshot.

::

    python -m orchestration.lineage_ui --out docs/lineage.png    # make lineage-png

:func:`webserver` starts ``dagster-webserver -m orchestration.definitions`` on 127.0.0.1
(a free port, a temporary ``DAGSTER_HOME``), in a process group of its own, waits until the
code location has loaded, and kills the whole group with SIGKILL on the way out: a
webserver started from a non-interactive shell or a test ignores SIGTERM (Dagster copies the
ignored SIGINT handler to SIGTERM), and its code server is a child process. No database is
needed: the webserver loads the definitions; resources are only initialized by a run.

:func:`screenshot_lineage` opens the global asset lineage page (``/asset-groups``, with the
groups to expand in ``?expanded=``) in headless Debian Chromium through Playwright.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from orchestration.browser import launch_chromium, require_chromium, watch_page
from orchestration.errors import UserFacingError
from orchestration.settings import REPO_ROOT

WEBSERVER = Path(sys.executable).with_name("dagster-webserver")
MODULE = "orchestration.definitions"
#: The asset nodes and their dependencies, as the lineage page reads them.
ASSET_GRAPH_QUERY = """
query AssetGraph {
  assetNodes {
    assetKey { path }
    dependencyKeys { path }
    groupName
    kinds
    description
    owners { ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
  }
}
"""
LOCATION_QUERY = """
query Locations {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError { __typename ... on PythonError { message } }
      }
    }
  }
}
"""
#: Groups small enough to show asset by asset in docs/lineage.png; the dbt layers stay collapsed.
DOC_EXPANDED_GROUPS = ("landing", "raw", "klaviyo", "ml", "reports")


class LineageUIError(RuntimeError):
    """The webserver did not start or load the definitions; the message says why."""


@dataclass
class Webserver:
    url: str
    process: subprocess.Popen
    log: Path
    started_seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(url: str, query: str, variables: dict | None = None, timeout: float = 60) -> dict:
    """POST ``query`` to ``url``/graphql; its ``data``, or an error naming GraphQL's message."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(url + "/graphql", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        payload = json.load(response)
    if payload.get("errors"):
        raise LineageUIError(f"GraphQL error: {payload['errors'][0].get('message')}")
    return payload["data"]


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc), so none escapes by leaving the process group."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_process_group(process: subprocess.Popen) -> None:
    """SIGKILL the process, its group and any descendant, then reap it (SIGTERM is ignored)."""
    stray = _descendants(process.pid) if Path("/proc").is_dir() else []
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for pid in stray:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass


def _wait_until_loaded(server: Webserver, deadline: float) -> None:
    """Until /server_info answers and the code location is LOADED (a load error is raised)."""
    step = "server_info"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise LineageUIError(
                f"dagster-webserver exited with {server.process.returncode} before serving:\n{server.log_tail()}"
            )
        try:
            if step == "server_info":
                with urllib.request.urlopen(server.url + "/server_info", timeout=5) as response:
                    json.load(response)
                server.timings["server_info"] = time.monotonic() - server.started_seconds
                step = "location"
            entries = graphql(server.url, LOCATION_QUERY, timeout=30)["workspaceOrError"].get("locationEntries", [])
            for entry in entries:
                error = entry.get("locationOrLoadError") or {}
                if error.get("__typename") == "PythonError":
                    raise LineageUIError(f"The code location {entry['name']} failed to load: {error.get('message')}")
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                server.timings["definitions loaded"] = time.monotonic() - server.started_seconds
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
            pass
        time.sleep(0.5)
    raise LineageUIError(f"dagster-webserver did not load {MODULE} in time:\n{server.log_tail()}")


@contextmanager
def webserver(timeout: float = 240) -> Iterator[Webserver]:
    """A dagster-webserver for the warehouse's definitions on 127.0.0.1, killed (group, SIGKILL) on exit."""
    with tempfile.TemporaryDirectory(prefix="dagster-ui-") as home:
        Path(home, "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        log = Path(home) / "webserver.log"
        port = free_port()
        env = {**os.environ, "DAGSTER_HOME": home, "DAGSTER_DISABLE_TELEMETRY": "1"}
        env["PATH"] = f"{WEBSERVER.parent}{os.pathsep}{env.get('PATH', '')}"
        with log.open("w") as out:
            process = subprocess.Popen(
                [str(WEBSERVER), "-m", MODULE, "-h", "127.0.0.1", "-p", str(port)],
                cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group, killed as a whole below
            )
        server = Webserver(f"http://127.0.0.1:{port}", process, log, time.monotonic())
        try:
            _wait_until_loaded(server, time.monotonic() + timeout)
            # The community sign-up dialog shows on 127.0.0.1 until this is set in the instance.
            graphql(server.url, "mutation { setNuxSeen }")
            yield server
        finally:
            kill_process_group(process)


def asset_graph(url: str) -> dict[tuple[str, ...], dict]:
    """{asset key path: node} from the webserver's GraphQL API (``ASSET_GRAPH_QUERY``)."""
    nodes = graphql(url, ASSET_GRAPH_QUERY)["assetNodes"]
    return {tuple(n["assetKey"]["path"]): n for n in nodes}


def lineage_url(url: str, expanded_groups: Sequence[str] = ()) -> str:
    """The global asset lineage page, with ``expanded_groups`` shown asset by asset."""
    if not expanded_groups:
        return url + "/asset-groups"
    return url + "/asset-groups?expanded=" + quote(",".join(f"global@global:{g}" for g in expanded_groups))


def open_lineage(context, url: str, expanded_groups: Sequence[str], wait_for: Sequence[str]):
    """Open the lineage page in a Playwright browser context; wait until ``wait_for`` labels are drawn.

    Returns (page, messages): console errors, page errors, failed requests and HTTP errors."""
    page = context.new_page()
    messages = watch_page(page)
    page.goto(lineage_url(url, expanded_groups), wait_until="networkidle", timeout=90_000)
    # More room for the graph: the main navigation and the asset sidebar folded away.
    page.get_by_text("Hide navigation", exact=True).click()
    page.locator('button:has([aria-label="panel_show_right"])').last.click()
    for label in wait_for:
        page.locator("foreignObject").get_by_text(label, exact=True).first.wait_for(state="visible", timeout=60_000)
    page.wait_for_timeout(1_500)  # the zoom-to-fit animation
    return page, messages


def graph_clip(page, padding: int = 24) -> dict | None:
    """The rectangle around every drawn node of the graph (for a screenshot without the chrome)."""
    return page.evaluate(
        """(pad) => {
            const boxes = Array.from(document.querySelectorAll('svg foreignObject'))
                .map(e => e.getBoundingClientRect()).filter(r => r.width > 0 && r.height > 0);
            if (!boxes.length) return null;
            const x = Math.max(0, Math.min(...boxes.map(r => r.left)) - pad);
            const y = Math.max(0, Math.min(...boxes.map(r => r.top)) - pad);
            const right = Math.min(window.innerWidth, Math.max(...boxes.map(r => r.right)) + pad);
            const bottom = Math.min(window.innerHeight, Math.max(...boxes.map(r => r.bottom)) + pad);
            return {x, y, width: right - x, height: bottom - y};
        }""",
        padding,
    )


def screenshot_lineage(out: Path, width: int = 1900, height: int = 1500, scale: float = 1.5) -> list[str]:
    """docs/lineage.png: the global lineage, small groups expanded, cropped to the graph.

    Returns the page's console errors, page errors and failed requests (empty when clean)."""
    from playwright.sync_api import sync_playwright

    with webserver() as server, sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=scale)
            page, messages = open_lineage(context, server.url, DOC_EXPANDED_GROUPS, ["evidence_site", "marts"])
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), clip=graph_clip(page))
        finally:
            browser.close()
    return messages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.lineage_ui", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "lineage.png")
    args = parser.parse_args(argv)
    try:
        require_chromium("the lineage screenshot")
        messages = screenshot_lineage(args.out)
    except (UserFacingError, LineageUIError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for message in messages:
        print(f"warning: {message}", file=sys.stderr)
    print(f"Lineage screenshot written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
