"""The executive report (reports/executive_report).

* fast: the rule-based narrative on hand-made numbers (rises, falls, flat, zero previous
  period, missing data), its fixed rounding, the pluggable writer, the HTML without ML marts;
* ``slow``: a small real warehouse (demo files → only the assets the report needs, in
  process) → the report asset. The HTML is self-contained and opens in Debian's Chromium
  with no console error; the PDF turns into PNG pages with ``pdftoppm`` and none is blank;
  every figure in the narrative equals the marts' numbers recomputed here by independent SQL.
"""

from __future__ import annotations

import re
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import numpy as np
import psycopg
import pytest
from markupsafe import escape

from orchestration import errors
from orchestration.reports import formatting as fmt
from orchestration.reports.data import (
    ChannelRow,
    CohortCell,
    ForecastData,
    ForecastPoint,
    ReportData,
    SegmentRow,
    Totals,
    load_report_data,
    periods,
)
from orchestration.reports.narrative import Fact, Narrative, RuleBasedNarrative, Sentence, load_writer
from orchestration.reports.render import render_html
from orchestration.summary import CampaignRoi

REPO_ROOT = Path(__file__).resolve().parent.parent
END = date(2024, 6, 30)
CURRENT, PREVIOUS = periods(END, 30)

# --------------------------------------------------------------------------- helpers


def _data(
    current: Totals = Totals(spend=500.0, revenue=1_300.0, conversions=40.0, clicks=900.0, impressions=50_000.0),
    previous: Totals = Totals(spend=400.0, revenue=1_000.0, conversions=30.0, clicks=800.0, impressions=45_000.0),
    data_start: date = date(2024, 1, 1),
    **sections,
) -> ReportData:
    return ReportData(current=CURRENT, previous=PREVIOUS, data_start=data_start, totals_current=current,
                      totals_previous=previous, **sections)


def _texts(narrative: Narrative) -> list[str]:
    return [s.text for s in narrative.sentences]


def _one(narrative: Narrative, start: str) -> Sentence:
    found = [s for s in narrative.sentences if s.text.startswith(start)]
    assert len(found) == 1, (start, _texts(narrative))
    return found[0]


NUMBER = re.compile(r"\d{4}-\d{2}(?:-\d{2})?|\d{1,3}(?:,\d{3})+(?:\.\d+)?%?|\d+(?:\.\d+)?%?")


def _assert_figures_are_facts(sentence: Sentence) -> None:
    """Every figure in the text is one of the sentence's facts, shown as recorded."""
    for fact in sentence.facts:
        assert fact.shown in sentence.text, (fact, sentence.text)
    unquoted = re.sub(r"“[^”]*”", "", sentence.text)  # campaign and segment names may hold digits
    for token in NUMBER.findall(unquoted):
        assert any(token in fact.shown for fact in sentence.facts), (token, sentence.text)


# --------------------------------------------------------------------------- formatting


def test_rounding_is_fixed_and_half_away_from_zero() -> None:
    assert fmt.money(1_234_567.5) == "1,234,568"
    assert fmt.money(-0.4) == "0"
    assert fmt.ratio(2.675) == "2.68"  # float 2.675 is 2.67499…; the rule rounds the decimal value
    assert fmt.ratio(-0.355) == "-0.36"
    assert fmt.percent(0.3449) == "34%"
    assert fmt.change_words(0.3) == "rose 30%"
    assert fmt.change_words(-0.125) == "fell 13%"
    assert fmt.change_words(0.0049) == "was flat"
    assert fmt.relative_change(5.0, 0.0) is None
    assert fmt.relative_change(-50.0, -100.0) == pytest.approx(0.5)  # a smaller loss is a rise


# --------------------------------------------------------------------------- narrative rules


def test_rises_are_told_with_the_numbers() -> None:
    narrative = RuleBasedNarrative().write(_data())
    revenue = _one(narrative, "Revenue")
    assert revenue.text == "Revenue rose 30% to 1,300 in the 30 days to 2024-06-30, from 1,000 in the period before."
    roi = _one(narrative, "Overall ROI")
    # ROI (1300 − 500) / 500 = 1.60, previously (1000 − 400) / 400 = 1.50; spend +25 %.
    assert roi.text == "Overall ROI rose from 1.50 to 1.60 and spend rose 25% to 500."
    for sentence in narrative.sentences:
        _assert_figures_are_facts(sentence)


def test_channel_roi_fall_while_spend_rises_reads_like_the_issue() -> None:
    search = ChannelRow("paid_search", Totals(spend=1_300.0, revenue=3_380.0), Totals(spend=1_000.0, revenue=3_100.0))
    social = ChannelRow("paid_social", Totals(spend=100.0, revenue=300.0), Totals(spend=100.0, revenue=250.0))
    narrative = RuleBasedNarrative().write(_data(channels=(search, social)))
    fall = _one(narrative, "Paid search ROI")
    assert fall.text == "Paid search ROI fell from 2.10 to 1.60 while spend rose 30%."
    assert {f.key: f.value for f in fall.facts}[("channel", "paid_search", "roi", "previous")] == pytest.approx(2.1)
    rise = _one(narrative, "Paid social ROI")
    assert rise.text == "Paid social ROI rose from 1.50 to 2.00 and spend was flat."
    assert _texts(narrative).index(fall.text) < _texts(narrative).index(rise.text)  # bigger move first


def test_channels_with_a_sliver_of_spend_make_no_headline() -> None:
    # 4 of 500 spend now, 6 of 400 before: under 5 % in both periods
    tiny = ChannelRow("sms", Totals(spend=4.0, revenue=40.0), Totals(spend=6.0, revenue=3.0))
    narrative = RuleBasedNarrative().write(_data(channels=(tiny,)))
    assert not any(t.startswith("SMS") for t in _texts(narrative)), _texts(narrative)
    loud = RuleBasedNarrative(min_spend_share=0.0).write(_data(channels=(tiny,)))
    assert "SMS ROI rose from -0.50 to 9.00 while spend fell 33%." in _texts(loud)


def test_flat_and_unchanged_figures_say_so() -> None:
    current = Totals(spend=400.0, revenue=1_004.0)
    narrative = RuleBasedNarrative().write(_data(current=current, previous=Totals(spend=400.0, revenue=1_000.0)))
    assert _one(narrative, "Revenue").text.startswith("Revenue was flat at 1,004 in the 30 days to 2024-06-30")
    assert _one(narrative, "Overall ROI").text == "Overall ROI rose from 1.50 to 1.51 and spend was flat at 400."
    same = RuleBasedNarrative().write(_data(current=Totals(spend=400.0, revenue=1_000.0),
                                            previous=Totals(spend=400.0, revenue=1_000.0)))
    assert _one(same, "Overall ROI").text == "Overall ROI held at 1.50 and spend was flat at 400."


def test_zero_previous_revenue_is_not_a_percentage() -> None:
    narrative = RuleBasedNarrative().write(_data(previous=Totals(spend=100.0, revenue=0.0)))
    sentence = _one(narrative, "Revenue")
    assert sentence.text == "Revenue was 1,300 in the 30 days to 2024-06-30, against none in the period before."
    assert not any(f.kind == "change" for f in sentence.facts)
    assert "%" not in sentence.text


def test_empty_or_missing_previous_period_is_named() -> None:
    quiet = RuleBasedNarrative().write(_data(previous=Totals()))
    assert _one(quiet, "Revenue").text.endswith("the period before had no activity to compare with.")
    assert _one(quiet, "Overall ROI").text == "Overall ROI was 1.60 on spend of 500."
    short = RuleBasedNarrative().write(_data(data_start=date(2024, 6, 1)))
    assert _one(short, "Revenue").text == (
        "Revenue was 1,300 in the 30 days to 2024-06-30; the data starts on 2024-06-01, so there is no "
        "previous period to compare with."
    )
    assert not any("%" in t for t in _texts(short))


def test_no_spend_and_no_sections_do_not_crash() -> None:
    narrative = RuleBasedNarrative().write(_data(current=Totals(revenue=50.0), previous=Totals(revenue=40.0)))
    assert "There was no spend in the 30 days to 2024-06-30, so ROI is not defined." in _texts(narrative)
    # no channels, campaigns, cohorts, segments or forecast: only the two headline sentences
    assert len(narrative.sentences) == 2
    nothing = RuleBasedNarrative().write(_data(current=Totals(), previous=Totals()))
    assert _texts(nothing) == ["Revenue was 0 in the 30 days to 2024-06-30; the period before had no activity "
                               "to compare with."]


def test_campaigns_cohorts_segments_and_forecast() -> None:
    best = CampaignRoi("Spring 2024 launch", "paid_search", 100.0, 520.0, 4.2)
    worst = CampaignRoi("Banner", "display", 200.0, 40.0, -0.8)
    cohorts = (
        CohortCell(date(2024, 4, 1), 0, 100, 100, 1.0),
        CohortCell(date(2024, 4, 1), 1, 100, 20, 0.2),
        CohortCell(date(2024, 5, 1), 0, 80, 80, 1.0),
        CohortCell(date(2024, 5, 1), 1, 80, 19, 0.2375),
        CohortCell(date(2024, 6, 1), 0, 90, 90, 1.0),  # no month 1 yet
        CohortCell(date(2024, 5, 1), 2, 80, 5, 0.0625, is_partial_month=True),
    )
    segments = (
        SegmentRow(0, "Loyal", 100, 0.1, 900, 5_000.0, 0.5),
        SegmentRow(1, "Occasional", 900, 0.9, 1_000, 5_000.0, 0.5 - 1e-9),
    )
    points = [ForecastPoint(END - timedelta(days=k), 100.0, None, None, None, False) for k in range(40)]
    points += [ForecastPoint(END + timedelta(days=k), None, 110.0, 90.0, 130.0, True) for k in range(1, 91)]
    forecast = ForecastData.from_points("fc-test", points, 30)
    data = _data(top_campaigns=(best,), bottom_campaigns=(worst,), cohorts=cohorts, segments=segments,
                 forecast=forecast)
    narrative = RuleBasedNarrative().write(data)
    assert _one(narrative, "The best campaign").text == (
        "The best campaign by lifetime ROI is “Spring 2024 launch” (paid search, ROI 4.20); "
        "the weakest is “Banner” (display, ROI -0.80)."
    )
    assert _one(narrative, "Retention").text == (
        "Retention one month after the first purchase was 24% for the 2024-05 cohort, up from 20% for 2024-04."
    )
    assert _one(narrative, "The “Loyal”").text == (
        "The “Loyal” segment brings the most revenue: 10% of customers, 50% of revenue."
    )
    assert _one(narrative, "The “Occasional”").text.startswith("The “Occasional” segment is the largest: 90%")
    assert forecast.summary is not None and forecast.summary.days == 30
    assert _one(narrative, "Revenue is forecast").text == (
        "Revenue is forecast at 3,300 for the 30 days after 2024-06-30, 10% above the 3,000 of the 30 days before."
    )
    for sentence in narrative.sentences:
        _assert_figures_are_facts(sentence)


def test_retention_tie_and_single_cohort() -> None:
    cells = (CohortCell(date(2024, 4, 1), 1, 100, 20, 0.2), CohortCell(date(2024, 5, 1), 1, 80, 16, 0.2))
    tie = RuleBasedNarrative().write(_data(cohorts=cells))
    assert _one(tie, "Retention").text.endswith("was 20% for the 2024-05 cohort, the same as 20% for 2024-04.")
    single = RuleBasedNarrative().write(_data(cohorts=cells[:1]))
    assert _one(single, "Retention").text.endswith("was 20% for the 2024-04 cohort.")


def test_stale_forecast_gives_no_sentence() -> None:
    points = [ForecastPoint(END - timedelta(days=k), 100.0, 100.0, 90.0, 110.0, True) for k in range(10)]
    forecast = ForecastData.from_points("fc-old", points, 30)
    assert forecast.summary is None
    narrative = RuleBasedNarrative().write(_data(forecast=forecast))
    assert not [t for t in _texts(narrative) if "forecast" in t]


class _UpperCaseWriter:
    """A stand-in for an LLM writer: rewrites the rule-based sentences."""

    def write(self, data: ReportData) -> Narrative:
        base = RuleBasedNarrative().write(data)
        return Narrative(tuple(Sentence(s.text.upper(), s.facts) for s in base.sentences))


def test_writer_is_pluggable_and_bad_specs_fail_in_one_sentence() -> None:
    assert isinstance(load_writer(None), RuleBasedNarrative)
    writer = load_writer("tests.test_report:_UpperCaseWriter")
    assert writer.write(_data()).sentences[0].text.startswith("REVENUE ROSE 30%")
    with pytest.raises(errors.UserFacingError, match="Cannot load the narrative writer 'no.such:Writer'"):
        load_writer("no.such:Writer")
    with pytest.raises(errors.UserFacingError, match="has no write"):
        load_writer("tests.test_report:END")


def test_html_without_ml_marts_names_what_is_missing() -> None:
    notes = {"segments": "No segmentation yet: marts.fct_segment_revenue is not built; run …",
             "forecast": "No revenue forecast yet: marts.fct_forecast_vs_actual is empty; run …"}
    data = _data(notes=notes)
    html = render_html(data, RuleBasedNarrative().write(data))
    assert "No segmentation yet" in html and "No revenue forecast yet" in html and "No customer cohorts yet" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html)
    assert "Revenue rose 30% to 1,300" in html


def test_missing_chromium_is_one_sentence_with_the_fix(tmp_path: Path) -> None:
    from orchestration.reports.pdf import html_to_pdf

    with pytest.raises(errors.UserFacingError) as caught:
        html_to_pdf("<p>x</p>", tmp_path / "x.pdf", chromium=str(tmp_path / "no-chromium"))
    message = str(caught.value)
    assert "Chromium is not installed at" in message and "install-chromium.sh" in message and "\n" not in message
    assert not (tmp_path / "x.pdf").exists()


def test_no_marts_yet_is_one_sentence_with_the_fix(fresh_db: str) -> None:
    with psycopg.connect(fresh_db) as conn, pytest.raises(errors.UserFacingError) as caught:
        load_report_data(conn)
    message = str(caught.value)
    assert "marts.fct_channel_performance" in message and "make run" in message and "\n" not in message


# --------------------------------------------------------------------------- the asset, end to end

PERIOD_DAYS = 30


@pytest.fixture(scope="module")
def report_tools() -> None:
    result = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "install-report-tools.sh")],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"could not install chromium / poppler-utils: {result.stderr.strip()}"


@pytest.fixture(scope="module")
def built(module_db: str, tmp_path_factory: pytest.TempPathFactory, report_tools: None) -> dict:
    """Demo files → only the assets upstream of the report, then the report; timed."""
    from orchestration.assets.dbt import warehouse_dbt_models
    from orchestration.assets.klaviyo import KlaviyoResource
    from orchestration.assets.reports import REPORT_KEY, executive_report
    from orchestration.definitions import build_defs
    from orchestration.demo import DemoConfig, generate
    from orchestration.resources import WarehouseResource

    config = DemoConfig(seed=23, customers=600, campaigns=8, days=100, orders_target=5_000)
    landing = tmp_path_factory.mktemp("report_landing")
    out = tmp_path_factory.mktemp("report_out")
    generate(landing, config)
    defs = build_defs(
        WarehouseResource(dsn=module_db, landing_dir=str(landing)),
        KlaviyoResource(demo_profile_share=0.25),
    )
    graph = defs.resolve_asset_graph()
    # The report's upstream, plus the rest of the main dbt build: dbt's eager test selection
    # would otherwise run tests (assert_customer_marts_reconcile) on marts left unbuilt.
    upstream = dg.AssetSelection.assets(REPORT_KEY).upstream() | dg.AssetSelection.assets(warehouse_dbt_models)
    upstream = upstream.required_multi_asset_neighbors()
    selection = upstream.resolve(graph) & graph.materializable_asset_keys
    started = time.monotonic()
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        asset_selection=sorted(selection, key=lambda k: k.to_user_string()),
        raise_on_error=False,
        run_config={"ops": {executive_report.op.name: {"config": {"output_dir": str(out)}}}},
    )
    seconds = time.monotonic() - started
    if not result.success:
        from orchestration.materialize import _first_failure

        pytest.fail(_first_failure(result))
    event = next(e for e in result.get_asset_materialization_events() if e.asset_key == REPORT_KEY)
    print(f"\nreport test warehouse: {len(selection)} assets in {seconds:.1f} s")
    return {"dsn": module_db, "out": out, "metadata": event.materialization.metadata,
            "selection": selection, "seconds": seconds}


@pytest.mark.slow
def test_report_asset_writes_html_and_pdf(built: dict) -> None:
    metadata = built["metadata"]
    html_path = Path(metadata["html_path"].value)
    pdf_path = Path(metadata["pdf_path"].value)
    assert html_path.parent == built["out"] and html_path.exists() and pdf_path.exists()
    assert metadata["pdf_pages"].value >= 2
    assert metadata["kpi/revenue"].value > 0 and "kpi/revenue_previous" in metadata
    # the report's upstream and the dbt build only: no dashboards site
    assert not any(k.path[0] == "dashboards" for k in built["selection"]), built["selection"]


@pytest.mark.slow
def test_html_is_self_contained_and_opens_in_chromium_without_errors(built: dict) -> None:
    from playwright.sync_api import sync_playwright

    from orchestration.browser import launch_chromium, watch_page

    html_path = Path(built["metadata"]["html_path"].value)
    html = html_path.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, flags=re.IGNORECASE)
    assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//", html, flags=re.IGNORECASE)
    assert "<script" not in html.lower() and "<link" not in html.lower()
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems = watch_page(page)
        page.on("request", lambda r: requests.append(r.url))
        page.goto(html_path.as_uri(), wait_until="load")
        images = page.evaluate(
            "() => Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0])"
        )
        sections = page.evaluate("() => Array.from(document.querySelectorAll('section')).map(s => s.id)")
        browser.close()
    assert not problems, problems
    assert all(url.startswith(("file://", "data:")) for url in requests), requests
    # channel chart, cohort heatmap, segment chart, forecast chart: all drawn and decoded
    assert len(images) == 4 and all(ok for _, ok in images), images
    assert sections == ["summary", "kpis", "channels", "campaigns", "cohorts", "segments", "forecast"]


@pytest.mark.slow
def test_pdf_pages_are_not_blank(built: dict, tmp_path: Path) -> None:
    from PIL import Image

    pdf_path = Path(built["metadata"]["pdf_path"].value)
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf_path), str(tmp_path / "page")], check=True, timeout=120)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == built["metadata"]["pdf_pages"].value
    for png in pages:
        pixels = np.asarray(Image.open(png).convert("L"))
        inked = float((pixels < 235).mean())
        assert inked > 0.01, f"{png.name} looks blank ({inked:.2%} non-white pixels)"


# Independent SQL: from fct_campaign_daily (the report reads fct_channel_performance), with
# the periods computed in SQL, and the marts' other tables read directly.
WINDOW_SQL = """
    with bounds as (select max(date_day) as last_day, min(date_day) as first_day from marts.fct_campaign_daily)
    select {group} as grp,
        sum(revenue) filter (where date_day > last_day - %(days)s) as revenue_cur,
        sum(revenue) filter (where date_day <= last_day - %(days)s and date_day > last_day - 2 * %(days)s)
            as revenue_prev,
        sum(spend) filter (where date_day > last_day - %(days)s) as spend_cur,
        sum(spend) filter (where date_day <= last_day - %(days)s and date_day > last_day - 2 * %(days)s)
            as spend_prev
    from marts.fct_campaign_daily cross join bounds
    group by {grouping}
"""
ELIGIBLE_CAMPAIGNS = """
    from marts.fct_campaign_performance as c
    where c.roi is not null
      and not (c.source = 'ads' and exists (
          select 1 from marts.fct_campaign_daily as d where d.source = 'klaviyo' and d.channel = c.channel))
"""


def _ratio(revenue, spend) -> float | None:
    return None if not spend else float((revenue - spend) / spend)


def _change(current, previous) -> float | None:
    return None if not previous else float((current - previous) / abs(previous))


def _expected(conn: psycopg.Connection, days: int) -> dict[tuple[str, ...], float | date]:
    """Every fact key the narrative may use → its value, recomputed from the marts."""
    expected: dict[tuple[str, ...], float | date] = {("period", "days"): float(days)}
    first, last = conn.execute("select min(date_day), max(date_day) from marts.fct_campaign_daily").fetchone()
    expected[("period", "end")], expected[("period", "data_start")] = last, first
    params = {"days": days}
    by_channel = conn.execute(WINDOW_SQL.format(group="channel", grouping="channel"), params).fetchall()
    rows = {r[0]: r[1:] for r in by_channel}
    total = conn.execute(WINDOW_SQL.format(group="'total'", grouping="()"), params).fetchone()[1:]
    for scope, (rev_cur, rev_prev, spend_cur, spend_prev) in [(("kpi",), total)] + [
        (("channel", name), values) for name, values in rows.items()
    ]:
        rev_cur, rev_prev, spend_cur, spend_prev = (v or 0 for v in (rev_cur, rev_prev, spend_cur, spend_prev))
        expected[(*scope, "revenue", "current")] = float(rev_cur)
        expected[(*scope, "revenue", "previous")] = float(rev_prev)
        expected[(*scope, "spend", "current")] = float(spend_cur)
        for key, value in (
            ((*scope, "revenue", "change"), _change(rev_cur, rev_prev)),
            ((*scope, "spend", "change"), _change(spend_cur, spend_prev)),
            ((*scope, "roi", "current"), _ratio(rev_cur, spend_cur)),
            ((*scope, "roi", "previous"), _ratio(rev_prev, spend_prev)),
            ((*scope, "revenue_share", "current"), float(rev_cur / total[0]) if total[0] else None),
        ):
            if value is not None:
                expected[key] = value
    best, worst = conn.execute(f"select max(c.roi), min(c.roi) {ELIGIBLE_CAMPAIGNS}").fetchone()
    expected[("campaign", "best", "roi")], expected[("campaign", "worst", "roi")] = float(best), float(worst)
    cohorts = conn.execute(
        "select cohort_month, active_customers::numeric / cohort_size from marts.fct_customer_cohorts "
        "where months_since_first_purchase = 1 and not is_partial_month order by cohort_month desc limit 2"
    ).fetchall()
    for which, (month, rate) in zip(("latest", "prior"), cohorts, strict=False):
        expected[("cohort", which, "month")], expected[("cohort", which, "retention_m1")] = month, float(rate)
    for segment_id, customer_share, revenue_share in conn.execute(
        "select segment_id, customers::numeric / sum(customers) over (), revenue / sum(revenue) over () "
        "from marts.fct_segment_revenue"
    ).fetchall():
        expected[("segment", str(segment_id), "customer_share")] = float(customer_share)
        expected[("segment", str(segment_id), "revenue_share")] = float(revenue_share)
    forecast = conn.execute(
        """
        with series as (
            select * from marts.fct_forecast_vs_actual where metric = 'revenue' and channel = 'total'
        ), last as (select max(ds) as day from series where actual is not null)
        select last.day,
            (select sum(yhat) from series where is_forecast and ds > last.day and ds <= last.day + %(days)s),
            (select count(*) from series where is_forecast and ds > last.day and ds <= last.day + %(days)s),
            (select sum(actual) from series where ds > last.day - %(days)s and ds <= last.day)
        from last
        """,
        params,
    ).fetchone()
    if forecast[0] is not None:
        day, total_yhat, count, actual = forecast[0], float(forecast[1]), forecast[2], float(forecast[3])
        expected[("forecast", "last_actual_day")] = day
        expected[("forecast", "days")] = float(count)
        expected[("forecast", "revenue", "total")] = float(total_yhat)
        expected[("forecast", "revenue", "actual_total")] = float(actual)
        if actual:
            expected[("forecast", "revenue", "change")] = float((total_yhat - actual) / abs(actual))
    return expected


def _shown_number(fact: Fact) -> float:
    """The number a reader sees (percent points for percent/change/versus facts)."""
    text = fact.shown
    if fact.kind == "change":
        if text == "was flat":
            return 0.0
        sign = 1 if text.startswith("rose") else -1
        return sign * float(text.split()[1].rstrip("%"))
    if fact.kind == "versus":
        if text == "in line with":
            return 0.0
        amount, word = text.split()
        return float(amount.rstrip("%")) * (1 if word == "above" else -1)
    return float(text.replace(",", "").rstrip("%"))


@pytest.mark.slow
def test_every_figure_in_the_narrative_equals_the_marts(built: dict) -> None:
    with psycopg.connect(built["dsn"]) as conn:
        expected = _expected(conn, PERIOD_DAYS)
        narrative = RuleBasedNarrative().write(load_report_data(conn, PERIOD_DAYS))
    # the asset's narrative is this one, and the HTML shows it
    assert built["metadata"]["narrative"].value == narrative.markdown()
    html = Path(built["metadata"]["html_path"].value).read_text()
    kinds = set()
    for sentence in narrative.sentences:
        assert str(escape(sentence.text)) in html, sentence.text
        _assert_figures_are_facts(sentence)
        for fact in sentence.facts:
            kinds.add(fact.key[0])
            assert fact.key in expected, f"no independent value for {fact.key} ({sentence.text})"
            want = expected[fact.key]
            if fact.kind == "date":
                assert fact.shown == want.isoformat(), (fact, want)
            elif fact.kind == "month":
                assert fact.shown == want.strftime("%Y-%m"), (fact, want)
            else:
                unit, scale = {"money": (1, 1), "count": (1, 1), "ratio": (0.01, 1)}.get(fact.kind, (1, 100))
                assert abs(_shown_number(fact) - want * scale) <= unit / 2 + 1e-9, (fact, want, sentence.text)
                assert fact.value == pytest.approx(want, rel=1e-6, abs=1e-6), (fact, want)  # marts round rates to 6 dp
    # "brought the most revenue" / "brings the most revenue" / "is the largest" name the maximum
    def largest(suffix: tuple[str, ...], scope: str) -> float:
        return max(v for k, v in expected.items() if k[0] == scope and k[2:] == suffix)

    for sentence in narrative.sentences:
        for fact in sentence.facts:
            if "brought the most revenue" in sentence.text and fact.key[2:] == ("revenue", "current"):
                assert expected[fact.key] == largest(("revenue", "current"), "channel"), sentence.text
            if "brings the most revenue" in sentence.text and fact.key[2:] == ("revenue_share",):
                assert expected[fact.key] == largest(("revenue_share",), "segment"), sentence.text
            if "is the largest" in sentence.text and fact.key[2:] == ("customer_share",):
                assert expected[fact.key] == largest(("customer_share",), "segment"), sentence.text
    # the small warehouse has every section: headline, channels, campaigns, cohorts, segments, forecast
    assert {"kpi", "channel", "campaign", "cohort", "segment", "forecast"} <= kinds, kinds


@pytest.mark.slow
def test_missing_or_empty_ml_marts_leave_a_note_not_a_crash(built: dict) -> None:
    """Inside a transaction that is rolled back: the segment mart gone, the forecast mart empty."""
    with psycopg.connect(built["dsn"]) as conn:
        conn.execute("alter table marts.fct_segment_revenue rename to fct_segment_revenue_hidden")
        conn.execute("delete from marts.fct_forecast_vs_actual")
        data = load_report_data(conn, PERIOD_DAYS)
        conn.rollback()
    assert data.segments == () and data.forecast is None
    assert "No segmentation yet" in data.notes["segments"] and "not built" in data.notes["segments"]
    assert "No revenue forecast yet" in data.notes["forecast"] and "empty" in data.notes["forecast"]
    narrative = RuleBasedNarrative().write(data)
    assert not any(f.key[0] in ("segment", "forecast") for s in narrative.sentences for f in s.facts)
    html = render_html(data, narrative)
    assert data.notes["segments"] in html and data.notes["forecast"] in html
    assert html.count("<img") == 2  # channels and cohorts only
