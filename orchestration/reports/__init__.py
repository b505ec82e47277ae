"""The executive report: marts → numbers → narrative, charts → HTML (Jinja2) → PDF (Chromium).

One module per job:

* :mod:`.data` queries the marts into plain dataclasses (:class:`.data.ReportData`);
* :mod:`.narrative` turns those numbers into sentences (:class:`.narrative.RuleBasedNarrative`,
  deterministic, behind the :class:`.narrative.NarrativeWriter` protocol an LLM writer could
  implement);
* :mod:`.formatting` is the one place numbers are rounded for display;
* :mod:`.charts` draws matplotlib PNGs as base64 data URIs;
* :mod:`.render` fills ``templates/executive_report.html.j2`` (self-contained HTML);
* :mod:`.pdf` prints that HTML to an A4 PDF with headless Chromium through Playwright.

The Dagster asset that ties them together is :mod:`orchestration.assets.reports`.
"""
