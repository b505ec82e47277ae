"""Scale benchmark: the whole warehouse at SCALE × the demo, full and incremental.

    make bench-scale SCALE=1          # or: .venv/bin/python -m tests.benchmarks.bench_scale --scale 0.1

On a scratch database of the local cluster (dropped afterwards):

1. generates the demo data at SCALE × the demo (100,000 × S customers, ~1,000,000 × S order
   lines, 200 × S campaigns, 730 days) in a child process (wall time, peak RSS);
2. writes ~1,000,000 × S Klaviyo events plus their profiles, metrics, lists, flows,
   campaigns, campaign-values report and stream state straight into ``klaviyo_raw``,
   documents shaped exactly as a sync stores them (:mod:`scale.klaviyo_fastpath`; account:
   ``profile_share=0.5`` of the demo customers, 12 email + 4 SMS campaigns, ~21 events per
   profile — the demo's own 3 % mirror would give only ~0.1M events per SCALE unit);
3. loads the CSV files with the project's loader (child process: wall time, peak RSS);
4. runs ``dbt build --exclude source:ml+`` (seeds, models, tests): wall time, temp bytes,
   database size, the slowest nodes and the time in tests vs models;
5. adds a day (:mod:`scale.new_day`: ~10,000 × S order lines, ~15,000 × S Klaviyo events,
   a day of campaign rows), loads it and runs the same build incrementally, as the
   orchestrator's next build does: data tests on the rows loaded since (var
   ``data_tests_since``), no unit tests (the history's Klaviyo rows are stamped loaded a day
   earlier);
6. clones the database, runs ``--full-refresh`` in the clone and compares every table of
   ``marts`` (and the incremental staging/intermediate tables) row for row;
7. times the Evidence source queries and typical BI queries (p50/p95 of 20 runs, rows,
   Seq Scans of tables over 100,000 rows);
8. prints a markdown table and writes every figure to
   ``.warehouse/artifacts/bench-scale-S<scale>.json``.

Not a test: it prints figures, it asserts nothing about time. Never run SCALE ≥ 2 on a
shared 2-core machine.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tests.benchmarks.scale.main import Options, run

GB = 1024 ** 3
MB = 1024 ** 2


def _q(fig: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    return [q for q in fig["queries"] if q["name"].startswith(prefix) and not q["error"]]


def headline(fig: dict[str, Any]) -> str:
    """The markdown table of the headline figures."""
    full, inc = fig["full_build"], fig["incremental_build"]
    types = full["seconds_by_type"]
    node_total = sum(types.values()) or 1.0
    dash, typical = _q(fig, "dashboards/"), [q for q in fig["queries"] if "/" not in q["name"] and not q["error"]]
    unequal = [c["table"] for c in fig["comparison"] if not c["equal"]]

    def worst(qs: list[dict[str, Any]]) -> str:
        if not qs:
            return "-"
        return f"{max(q['p50_ms'] for q in qs):,.1f} / {max(q['p95_ms'] for q in qs):,.1f} ms"

    rows = [
        ("SCALE", f"{fig['scale']} ({fig['demo']['customers']:,} customers, {fig['loader']['rows_read']:,} CSV rows, "
                  f"{fig['raw_events']:,} Klaviyo events)"),
        ("date / load average (1, 5, 15 min) start → end", f"{fig['date']} / "
         f"{', '.join(f'{x:.1f}' for x in fig['loadavg_start'])} → {', '.join(f'{x:.1f}' for x in fig['loadavg_end'])}"),
        ("demo generator", f"{fig['generator']['seconds']:,.1f} s, peak RSS {fig['generator']['peak_rss_bytes'] / MB:,.0f} MB"),
        ("Klaviyo fast path", f"{fig['klaviyo_fastpath']['seconds']:,.1f} s "
                              f"({fig['raw_events'] / fig['klaviyo_fastpath']['seconds']:,.0f} events/s), "
                              f"process peak RSS {fig['klaviyo_fastpath']['process_peak_rss_bytes'] / MB:,.0f} MB"),
        ("loader (CSV → raw)", f"{fig['loader']['seconds']:,.1f} s, peak RSS {fig['loader']['peak_rss_bytes'] / MB:,.0f} MB"),
        ("full dbt build", f"**{full['seconds']:,.1f} s** ({full['nodes']} nodes; models "
                           f"{100 * types.get('model', 0) / node_total:.0f} %, tests "
                           f"{100 * (types.get('test', 0) + types.get('unit_test', 0)) / node_total:.0f} % of node time)"),
        ("incremental dbt build (one day)", f"**{inc['seconds']:,.1f} s = {100 * inc['ratio_to_full']:.1f} %** of full "
                                            f"(target < 5 %; events reload overlap "
                                            f"{inc.get('events_overlap_hours') if inc.get('events_overlap_hours') is not None else 'project default 1'} h)"),
        ("temp written full / incremental", f"{full['temp_bytes'] / GB:.2f} GB / {inc['temp_bytes'] / GB:.2f} GB"),
        ("database size after full build", f"{fig['database_size_bytes'] / GB:.2f} GB"),
        ("raw events bytes per event", f"{fig['raw_events_bytes_per_event']:,.0f} B"),
        ("incremental = full refresh", "all equal" if not unequal else f"DIFFER: {', '.join(unequal)}"),
        ("dashboard queries, worst p50 / p95", worst(dash)),
        ("typical BI queries, worst p50 / p95", worst(typical)),
        ("dbt failures full / incremental", f"{len(full['failures'])} / {len(inc['failures'])}"),
    ]
    lines = ["| figure | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines)


def report(fig: dict[str, Any]) -> str:
    """Slowest nodes, failures and the headline table, as printed."""
    out = ["", "Slowest nodes of the full build:"]
    out += [f"  {n['seconds']:8.2f} s  {n['status']:<7} {n['node']}" for n in fig["full_build"]["slowest"]]
    out += ["", "Slowest nodes of the incremental build:"]
    out += [f"  {n['seconds']:8.2f} s  {n['status']:<7} {n['node']}" for n in fig["incremental_build"]["slowest"][:5]]
    for label, key in (("full", "full_build"), ("incremental", "incremental_build")):
        for f in fig[key]["failures"]:
            out.append(f"  dbt {label} failure: {f}")
    out += ["", headline(fig)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--events-overlap-hours", type=float, default=None,
                        help="klaviyo__events_reload_overlap_hours for the incremental build (default: the "
                             "project's 1 h)")
    args = parser.parse_args(argv)
    if args.scale >= 2:
        print("note: SCALE >= 2 needs a dedicated machine")
    opts = Options(scale=args.scale, runs=args.runs, events_overlap_hours=args.events_overlap_hours)
    fig = run(opts)
    print(report(fig))
    opts.artifacts.mkdir(parents=True, exist_ok=True)
    path = Path(opts.artifacts) / f"bench-scale-S{args.scale:g}.json"
    path.write_text(json.dumps(fig, indent=2, default=str), encoding="utf-8")
    print(f"\nfigures: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
