"""Print the report's HTML to an A4 PDF with headless Chromium, driven by Playwright.

The browser is Debian's ``chromium`` (see :mod:`orchestration.browser`).
"""

from __future__ import annotations

import re
from pathlib import Path

from orchestration import errors
from orchestration.browser import launch_chromium, require_chromium

FOOTER = (
    '<div style="width:100%;font-size:8px;color:#7b8794;padding:0 12mm;text-align:right;">'
    'Executive report · page <span class="pageNumber"></span> of <span class="totalPages"></span></div>'
)


def count_pages(pdf: bytes) -> int:
    """Pages of a PDF, counted from its page objects (``/Type /Page``, not ``/Pages``)."""
    return len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", pdf))


def html_to_pdf(html: str, out: Path, chromium: str | None = None, timeout_ms: int = 60_000) -> int:
    """Render ``html`` in headless Chromium, print it to ``out`` (A4, backgrounds, page numbers).

    Returns the number of pages. Raises :class:`~orchestration.errors.UserFacingError` when
    Playwright or Chromium is missing or Chromium cannot start."""
    executable = require_chromium("the report's PDF", chromium)
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise errors.UserFacingError(
            "The Python package playwright is not installed, and the report's PDF needs it; run `make install`."
        ) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as pw:
            browser = launch_chromium(pw, executable, timeout=timeout_ms)
            try:
                page = browser.new_page()
                page.set_content(html, wait_until="load", timeout=timeout_ms)
                page.emulate_media(media="print")
                pdf = page.pdf(
                    format="A4",
                    print_background=True,
                    prefer_css_page_size=True,
                    display_header_footer=True,
                    header_template="<div></div>",
                    footer_template=FOOTER,
                    margin={"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"},
                )
            finally:
                browser.close()
    except PlaywrightError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise errors.UserFacingError(
            f"Chromium at {executable} could not print the report ({first_line}); check that it starts with "
            f"`{executable} --headless --no-sandbox --version`, or set CHROMIUM to another binary."
        ) from None
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_bytes(pdf)
    tmp.replace(out)
    return count_pages(pdf)
