"""The scale benchmark's steps in order; :func:`run` returns every figure as a dict.

See :mod:`tests.benchmarks.bench_scale` for what is measured and how to run it.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from orchestration import localdb, settings
from orchestration.demo import DemoConfig
from orchestration.ingest.loader import load_landing
from orchestration.project import ML_FED
from tests.benchmarks.scale import compare, klaviyo_fastpath, new_day, queries
from tests.benchmarks.scale.measure import database_size, dbt_build, run_child
from tests.dbt_cli import dbt_test_env
from tests.scratch import drop_database, scratch_database

#: Tables built incrementally, compared beside the marts.
INCREMENTAL_TABLES = (("staging", "stg_klaviyo__events"), ("intermediate", "int_order_lines_classified"),
                      ("intermediate", "int_klaviyo__events"), ("intermediate", "int_klaviyo__event_attribution"),
                      ("intermediate", "int_klaviyo__message_engagement"))
LOADER = ("import json, os, sys; from orchestration.ingest.loader import load_landing; "
          "r = load_landing(os.environ['WAREHOUSE_DSN'], sys.argv[1], progress=False); "
          "print(json.dumps({'rows_read': sum(x.rows_read for x in r), 'files': len(r)}))")

#: Called with (incremental DSN, full-refresh DSN, figures) before the databases are dropped.
Inspect = Callable[[str, str, dict[str, Any]], None]


@dataclass(frozen=True)
class Options:
    """What to run: ``scale`` × the demo; query repetitions; where to write the JSON."""

    scale: float = 1.0
    seed: int = 42
    runs: int = queries.RUNS
    warmups: int = queries.WARMUPS
    #: ``dbt build`` selection (the smoke test adds ``--resource-type model seed`` to skip tests)
    build_args: tuple[str, ...] = ("--exclude", ML_FED)
    #: ``klaviyo__events_reload_overlap_hours`` for the incremental build only (None: the
    #: project's value, 1 h). The fast path stamps the history loaded a day before the new
    #: day, so 1 h re-reads only the new day's events.
    events_overlap_hours: float | None = None
    artifacts: Path = settings.REPO_ROOT / ".warehouse" / "artifacts"


def demo_config(scale: float, seed: int = 42) -> DemoConfig:
    """SCALE × the demo: 100,000 customers, ~1,000,000 order lines, 200 campaigns; 730 days."""
    return DemoConfig(seed=seed, days=730, customers=max(50, round(100_000 * scale)),
                      campaigns=max(1, round(200 * scale)), orders_target=max(500, round(1_000_000 * scale)))


def _dbname(dsn: str) -> str:
    return settings.dsn_parts(dsn)["dbname"]


def _scalar(dsn: str, query: str, params: tuple[Any, ...] = ()) -> Any:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(query, params).fetchone()[0]


def clone_database(server_dsn: str, template_dsn: str, name: str) -> str:
    """``CREATE DATABASE name TEMPLATE <template>`` (retried while e.g. autovacuum is inside)."""
    statement = sql.SQL("create database {} template {}").format(
        sql.Identifier(name), sql.Identifier(_dbname(template_dsn)))
    for attempt in range(20):
        try:
            with psycopg.connect(server_dsn, autocommit=True) as conn:
                conn.execute(statement)
            return psycopg.conninfo.make_conninfo(template_dsn, dbname=name)
        except psycopg.errors.ObjectInUse:
            time.sleep(0.5 * (attempt + 1))
    raise RuntimeError(f"could not clone {_dbname(template_dsn)}: still in use")


def run(opts: Options, inspect: Inspect | None = None, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Run every step at ``opts.scale`` on a scratch database; return the figures."""
    started = time.perf_counter()

    def log(text: str) -> None:
        say(f"{time.perf_counter() - started:7.1f} s  {text}")

    if not os.environ.get("WAREHOUSE_DSN"):
        localdb.start()
    server = settings.warehouse_dsn()
    demo = demo_config(opts.scale, opts.seed)
    fig: dict[str, Any] = {"scale": opts.scale, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                           "demo": demo.as_dict(), "loadavg_start": os.getloadavg()}
    with scratch_database(server, "bench_scale") as dsn, tempfile.TemporaryDirectory() as tmp:
        landing, work = Path(tmp) / "landing", Path(tmp)
        child_env = {**os.environ, "WAREHOUSE_DSN": dsn, "PYTHONPATH": str(settings.REPO_ROOT)}
        dbt_env = dbt_test_env(settings.dbt_env(dsn))

        log(f"[1/8] generating the demo data at SCALE={opts.scale} …")
        gen = run_child([sys.executable, "-m", "orchestration.demo", "--out", str(landing), "--seed", str(demo.seed),
                         "--start", demo.start.isoformat(), "--days", str(demo.days), "--customers",
                         str(demo.customers), "--campaigns", str(demo.campaigns), "--orders-target",
                         str(demo.orders_target)], env=child_env)
        fig["generator"] = {"seconds": gen.seconds, "peak_rss_bytes": gen.peak_rss_bytes}

        log("[2/8] Klaviyo documents through the fast path …")
        t0 = time.perf_counter()
        with psycopg.connect(dsn, autocommit=True) as conn:
            fast = klaviyo_fastpath.write_account(conn, demo)
        fig["klaviyo_fastpath"] = {"seconds": time.perf_counter() - t0, "rows": fast.rows,
                                   "process_peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}

        log("[3/8] loading the CSV files with the loader …")
        load = run_child([sys.executable, "-c", LOADER, str(landing)], env=child_env, cwd=settings.REPO_ROOT)
        fig["loader"] = {"seconds": load.seconds, "peak_rss_bytes": load.peak_rss_bytes, **json.loads(load.stdout)}

        log("[4/8] full dbt build …")
        full = dbt_build(list(opts.build_args), dbt_env, work / "dbt", server, _dbname(dsn))
        fig["full_build"] = full.summary()
        fig["database_size_bytes"] = database_size(dsn)
        events = _scalar(dsn, "select count(*) from klaviyo_raw.events")
        fig["raw_events"] = events
        fig["raw_events_bytes_per_event"] = _scalar(
            dsn, "select pg_total_relation_size('klaviyo_raw.events')") / max(events, 1)

        log("[5/8] adding a day and building incrementally …")
        day = new_day.write_files(landing, demo, opts.scale)
        # as the orchestrator's next build (orchestration/assets/dbt.py): data tests on the
        # rows loaded since the previous build, no unit tests
        tests_since = datetime.now(timezone.utc)
        t0 = time.perf_counter()
        results = load_landing(dsn, landing, progress=False)
        loaded = time.perf_counter() - t0
        with psycopg.connect(dsn, autocommit=True) as conn:
            day_events = new_day.write_events(conn, fast.account, day, opts.scale)
        fig["new_day"] = {"day": day.day.isoformat(), "order_lines": len(day.orders), "orders": len(day.order_ids),
                          "new_customers": day.new_customers, "campaign_rows": day.campaign_rows,
                          "klaviyo_events": day_events, "load_seconds": loaded,
                          "files_loaded": sum(1 for r in results if r.rows_read and r.ok)}
        # the previous build ran minutes before, not a day: with the production overlap (5 min)
        # the Klaviyo models downstream of int_klaviyo__events would recompute everything
        # that build resolved; the runs here are sequential, so no overlap is needed
        inc_vars: dict[str, Any] = {"data_tests_since": tests_since.isoformat(sep=" "),
                                    "klaviyo__resolve_overlap_minutes": 0}
        if opts.events_overlap_hours is not None:
            inc_vars["klaviyo__events_reload_overlap_hours"] = opts.events_overlap_hours
        inc = dbt_build([*opts.build_args, "--exclude-resource-type", "unit_test", "--vars", json.dumps(inc_vars)],
                        dbt_env, work / "dbt", server, _dbname(dsn))
        fig["incremental_build"] = {**inc.summary(), "ratio_to_full": inc.seconds / full.seconds,
                                    "events_overlap_hours": opts.events_overlap_hours}
        fig["checks"] = _checks(dsn, day)

        log("[6/8] full refresh in a clone and mart comparison …")
        clone = clone_database(server, dsn, _dbname(dsn)[:40] + "_full")
        try:
            refresh = dbt_build([*opts.build_args, "--full-refresh"], dbt_env_for(clone), work / "dbt",
                                server, _dbname(clone))
            fig["full_refresh_build"] = refresh.summary()
            diffs = compare.compare_marts(dsn, clone)
            diffs += [compare.compare_table_dsn(dsn, clone, schema, table) for schema, table in INCREMENTAL_TABLES]
            fig["comparison"] = [{"table": d.table, "equal": d.equal, "rows_incremental": d.rows_a,
                                  "rows_full_refresh": d.rows_b, "only_incremental": d.only_in_a,
                                  "only_full_refresh": d.only_in_b, "missing_in": d.missing_in} for d in diffs]
            for d in diffs:
                log("  " + d.line())

            log("[7/8] BI queries …")
            timings = queries.run_queries(dsn, opts.runs, opts.warmups)
            fig["queries"] = [t.__dict__ for t in timings]
            for t in timings:
                log("  " + t.line())
            fig["loadavg_end"] = os.getloadavg()
            if inspect is not None:
                inspect(dsn, clone, fig)
        finally:
            drop_database(server, _dbname(clone))
    return fig


def dbt_env_for(dsn: str) -> dict[str, str]:
    """dbt's environment pointed at ``dsn``."""
    return dbt_test_env(settings.dbt_env(dsn))


def _checks(dsn: str, day: new_day.NewDay) -> dict[str, Any]:
    """Correctness facts the smoke test asserts: every raw event parses into staging, and the
    new day's orders are in ``fct_orders``."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        one = lambda q, p=(): conn.execute(q, p).fetchone()[0]  # noqa: E731
        return {
            "raw_events": one("select count(*) from klaviyo_raw.events"),
            "stg_events": one("select count(*) from staging.stg_klaviyo__events"),
            "stg_events_with_metric": one("select count(*) from staging.stg_klaviyo__events where metric_name is not null"),
            "new_day_orders": len(day.order_ids),
            "new_day_orders_in_fct_orders": one("select count(*) from marts.fct_orders where order_id = any(%s)",
                                                (day.order_ids,)),
            "new_day_lines_in_int_order_lines": one(
                "select count(*) from intermediate.int_order_lines_classified where order_id = any(%s)",
                (day.order_ids,)),
        }
