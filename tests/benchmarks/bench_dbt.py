"""Benchmark: wall time of a full ``dbt build`` (seeds, models, tests) on the demo data,
and of the incremental order lines model taking a re-delivered order file.

    .venv/bin/python -m tests.benchmarks.bench_dbt [--customers 100000 --campaigns 200 --days 730]

Generates the demo files into a temporary landing folder, loads them into a
scratch database with the project's loader, then times ``dbt build`` there. Then the
order file is delivered again (one line more: a new version whose rows replace the old
ones in raw) and ``int_order_lines_classified`` is run incrementally, against a full
refresh of the same model as the baseline, both in this run.
Not a test: it prints figures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from orchestration import localdb, settings
from orchestration.demo import DemoConfig, generate
from orchestration.demo.config import ORDERS_PATH
from orchestration.ingest.loader import load_landing
from orchestration.project import ML_FED
from orchestration.klaviyo.store import ensure_schema as ensure_klaviyo_schema
from tests.scratch import scratch_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--campaigns", type=int, default=200)
    parser.add_argument("--days", type=int, default=730)
    args = parser.parse_args()

    if not os.environ.get("WAREHOUSE_DSN"):
        localdb.start()
    with scratch_database(settings.warehouse_dsn(), "bench_dbt") as dsn, tempfile.TemporaryDirectory() as tmp:
        landing = Path(tmp)
        t0 = time.perf_counter()
        generate(landing, DemoConfig(customers=args.customers, campaigns=args.campaigns, days=args.days))
        t1 = time.perf_counter()
        results = load_landing(dsn, landing, progress=False)
        with psycopg.connect(dsn, autocommit=True) as conn:
            ensure_klaviyo_schema(conn)  # CSV sources only: the Klaviyo tables stay empty
        t2 = time.perf_counter()
        rows = sum(r.rows_read for r in results)
        env = {**os.environ, **settings.dbt_env(dsn)}
        dbt = str(Path(sys.executable).with_name("dbt"))
        t3 = time.perf_counter()
        subprocess.run([dbt, "build", "--quiet", "--exclude", ML_FED], cwd=settings.REPO_ROOT, env=env, check=True)
        t4 = time.perf_counter()
        print(f"demo data generated      {t1 - t0:8.1f} s  ({args.customers:,} customers, {args.campaigns} campaigns, {args.days} days)")
        print(f"loaded with the loader   {t2 - t1:8.1f} s  ({rows:,} rows read, {rows / (t2 - t1):,.0f} rows/s)")
        print(f"dbt build (all but ML-fed){t4 - t3:8.1f} s")

        # the model's own execution time (dbt's run_results), not dbt's start-up
        _redeliver_orders(landing / ORDERS_PATH)
        load_landing(dsn, landing, sources=["orders"], progress=False)
        incremental, full = _model_seconds(dbt, env), _model_seconds(dbt, env, "--full-refresh")
        print(f"re-delivered order file (1,000,001 lines replace 1,000,000): int_order_lines_classified "
              f"incremental {incremental:5.2f} s, full refresh {full:5.2f} s (baseline): {full / incremental:.2f}x")

        _deliver_new_orders(landing / ORDERS_PATH, landing / DELTA_PATH, lines=1_000)
        load_landing(dsn, landing, sources=["orders"], progress=False)
        incremental, full = _model_seconds(dbt, env), _model_seconds(dbt, env, "--full-refresh")
        print(f"new order file (1,000 lines beside 1,000,001): int_order_lines_classified "
              f"incremental {incremental:5.2f} s, full refresh {full:5.2f} s (baseline): {full / incremental:.2f}x")


def _model_seconds(dbt: str, env: dict[str, str], *flags: str) -> float:
    """``dbt run`` of int_order_lines_classified; the model's execution time."""
    subprocess.run([dbt, "run", "--quiet", *flags, "--select", "int_order_lines_classified"],
                   cwd=settings.REPO_ROOT, env=env, check=True)
    results = json.loads((settings.REPO_ROOT / "target" / "run_results.json").read_text())
    return float(results["results"][0]["execution_time"])


DELTA_PATH = "orders/orders_delta.csv"


def _deliver_new_orders(source: Path, target: Path, lines: int) -> None:
    """A new order file: the first ``lines`` lines of ``source`` under new order ids (D…)."""
    with gzip.open(source, "rt", encoding="utf-8") as fh:
        head = [next(fh) for _ in range(lines + 1)]
    target.write_text(head[0] + "".join("D" + line for line in head[1:]), encoding="utf-8")


def _redeliver_orders(path: Path) -> None:
    """The order file again with its last line twice (a new version of the same file)."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        text = fh.read()
    last = text.rstrip("\n").rsplit("\n", 1)[1]
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=3) as fh:
        fh.write(text + last + "\n")


if __name__ == "__main__":
    main()
