"""Benchmark: wall time of a full ``dbt build`` (seeds, models, tests) on the demo data.

    .venv/bin/python -m tests.benchmarks.bench_dbt [--customers 100000 --campaigns 200 --days 730]

Generates the demo files into a temporary landing folder, loads them into a
scratch database with the project's loader, then times ``dbt build`` there.
Not a test: it prints figures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from orchestration import localdb, settings
from orchestration.demo import DemoConfig, generate
from orchestration.ingest.loader import load_landing
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
    with scratch_database(settings.warehouse_dsn(), "bench_dbt") as dsn:
        with tempfile.TemporaryDirectory() as tmp:
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
        subprocess.run([dbt, "build", "--quiet", "--exclude", "source:ml+"], cwd=settings.REPO_ROOT, env=env, check=True)
        t4 = time.perf_counter()
        print(f"demo data generated      {t1 - t0:8.1f} s  ({args.customers:,} customers, {args.campaigns} campaigns, {args.days} days)")
        print(f"loaded with the loader   {t2 - t1:8.1f} s  ({rows:,} rows read, {rows / (t2 - t1):,.0f} rows/s)")
        print(f"dbt build (all but ML-fed){t4 - t3:8.1f} s")


if __name__ == "__main__":
    main()
