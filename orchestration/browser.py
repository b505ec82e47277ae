"""Headless Chromium for the report's PDF, the lineage screenshot and the browser tests.

The browser is Debian's ``chromium`` (``/usr/bin/chromium``, or ``$CHROMIUM``), driven by
Playwright through ``executable_path``; Playwright's own browser download is never used (no
network). ``scripts/install-chromium.sh`` installs it.
"""

from __future__ import annotations

import os
from typing import Any

DEFAULT_CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
               "--disable-background-networking", "--disable-component-update"]


def chromium_path() -> str:
    """The Chromium binary to drive: ``$CHROMIUM`` or ``/usr/bin/chromium``."""
    return os.environ.get("CHROMIUM") or DEFAULT_CHROMIUM


def require_chromium(purpose: str, path: str | None = None) -> str:
    """``path`` (default :func:`chromium_path`) when it is an executable; else a
    UserFacingError saying that ``purpose`` (e.g. "the report's PDF") needs it."""
    from orchestration.errors import UserFacingError

    path = path or chromium_path()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise UserFacingError(
            f"Chromium is not installed at {path}, and {purpose} needs it; run "
            "`bash scripts/install-chromium.sh` as root (apt-get install -y chromium) or set CHROMIUM to a "
            "Chromium binary."
        )
    return path


def launch_chromium(playwright: Any, executable: str | None = None, **options: Any) -> Any:
    """A headless Chromium ``Browser`` from a started ``sync_playwright()`` (``executable``:
    default :func:`chromium_path`)."""
    return playwright.chromium.launch(executable_path=executable or chromium_path(), args=LAUNCH_ARGS, **options)


def watch_page(page: Any) -> list[str]:
    """Start collecting what went wrong on ``page``; returns the (growing) list of messages:
    console errors, uncaught page errors, HTTP responses >= 400 and failed requests (a request
    the page itself aborted, e.g. by navigating on, is not a failure)."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    page.on(
        "requestfailed",
        lambda r: None if "ERR_ABORTED" in (r.failure or "") else problems.append(f"request failed: {r.url} {r.failure}"),
    )
    return problems
