"""Benchmark: the project loader vs the pandas path on generated campaign_performance rows.

    .venv/bin/python -m tests.benchmarks.bench_loader --rows 1000000

Generates N rows with numpy (unique natural keys; ``--dirty 0.01`` plants bad values),
writes a CSV to a temp dir, loads it with ``load_file`` into a fresh database, then loads
a subset (``--pandas-rows``, default 100,000) with ``pd.read_csv`` + ``DataFrame.to_sql
(method="multi")`` through SQLAlchemy + psycopg into another table of the same database,
and prints rows/s for both and the ratio.  ``--floor`` also times a bare typed COPY of the
same file (no validation, no line numbers) to show the server's ceiling on this machine.
``--memory 15000000`` instead loads a generated campaign file of that many rows (0.1 % repeated
natural keys, 0.1 % bad values) and an orders file of as many lines, each in a child process,
and prints rows/s and the child's peak RSS (what ``/usr/bin/time -v`` calls "Maximum resident
set size").  Not a test: nothing asserts; it prints figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg

from orchestration import settings
from orchestration.ingest import load_file, load_specs
from tests.benchmarks.big_files import campaign_file, orders_file
from tests.scratch import scratch_database

CHANNELS = np.array(["Google Ads", "fb", "meta", "Bing Ads", "YouTube", "email", "affiliate", "TikTok Ads"])
HEADER = "date,campaign_id,campaign_name,channel,cost,impressions,clicks,conversions,revenue,currency\n"
# psycopg binds at most 65,535 parameters per statement: 10 columns x 10,000 rows would fail,
# so the pandas path uses the largest round chunk that fits.
PANDAS_CHUNKSIZE = 6_000


def generate(path: Path, rows: int, dirty: float, seed: int = 42) -> None:
    """Write ``rows`` campaign rows (unique (date, campaign, channel)) to ``path``."""
    rng = np.random.default_rng(seed)
    campaigns = 2_000
    i = np.arange(rows)
    day = np.datetime64("2020-01-01") + (i // campaigns)
    camp = i % campaigns
    channel = CHANNELS[camp % len(CHANNELS)]
    impressions = rng.integers(0, 200_000, rows)
    clicks = (impressions * rng.random(rows) * 0.08).astype(np.int64)
    cost = np.round(clicks * rng.random(rows) * 1.7, 2)
    conversions = np.round(clicks * rng.random(rows) * 0.04, 2)
    revenue = np.round(conversions * rng.random(rows) * 90, 2)
    cost_s = cost.astype(str)
    if dirty > 0:
        bad = rng.random(rows) < dirty
        cost_s[bad] = np.where(rng.random(bad.sum()) < 0.5, "n/a", "-1.5")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(HEADER)
        block = 200_000
        for s in range(0, rows, block):
            e = min(rows, s + block)
            fh.writelines(
                f"{d},cmp_{c},Campaign {c},{ch},{co},{im},{cl},{cv},{rv},USD\n"
                for d, c, ch, co, im, cl, cv, rv in zip(
                    day[s:e].astype(str), camp[s:e], channel[s:e], cost_s[s:e], impressions[s:e],
                    clicks[s:e], conversions[s:e], revenue[s:e],
                )
            )


def pandas_load(dsn: str, path: Path, rows: int) -> float:
    """Seconds for pd.read_csv + to_sql(method='multi') of the first ``rows`` rows."""
    import pandas as pd
    import sqlalchemy as sa

    parts = psycopg.conninfo.conninfo_to_dict(dsn)
    url = sa.engine.URL.create(
        "postgresql+psycopg", username=parts.get("user"), password=parts.get("password"),
        host=parts.get("host"), port=int(parts.get("port", 5432)), database=parts.get("dbname"),
    )
    engine = sa.create_engine(url)
    try:
        start = time.perf_counter()
        frame = pd.read_csv(path, nrows=rows)
        frame.to_sql("pandas_campaign_performance", engine, schema="public", if_exists="replace",
                     index=False, method="multi", chunksize=PANDAS_CHUNKSIZE)
        return time.perf_counter() - start
    finally:
        engine.dispose()


def floor_copy(dsn: str, path: Path) -> float:
    """Seconds for a bare typed COPY of the file (what the server needs at minimum)."""
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "create table floor_copy (date date, campaign_id text, campaign_name text, channel text,"
            " cost numeric(18,4), impressions bigint, clicks bigint, conversions numeric(18,4),"
            " revenue numeric(18,4), currency text)"
        )
        conn.commit()
        start = time.perf_counter()
        with conn.cursor().copy("copy floor_copy from stdin (format csv, header true)") as copy, open(path, "rb") as fh:
            while block := fh.read(4 << 20):
                copy.write(block)
        conn.commit()
        return time.perf_counter() - start


def peak_rss(dsn: str, spec: str, path: Path, landing: Path) -> None:
    """Load ``path`` in a child process; print its result line and peak RSS."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.benchmarks.bench_loader", "--load-one", dsn, spec, str(path), str(landing)],
        stdout=subprocess.PIPE, text=True,
    )
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    print(out.strip())
    print(f"peak RSS of the loading process: {usage.ru_maxrss / 1024:,.0f} MB (exit {child.returncode})")


def memory(dsn: str, rows: int) -> None:
    """Generate big campaign and orders files and measure the loader's peak memory on each."""
    with tempfile.TemporaryDirectory() as tmp:
        landing = Path(tmp)
        for spec, rel, write in (
            ("campaign_performance", "campaign_performance/big.csv",
             lambda p: campaign_file(p, rows, dirty=0.001, duplicates=0.001)),
            ("orders", "orders/big.csv", lambda p: orders_file(p, rows, dirty=0.001)),
        ):
            path = landing / rel
            path.parent.mkdir()
            t0 = time.perf_counter()
            write(path)
            print(f"generated {rows:,} {spec} rows ({path.stat().st_size / 1e6:,.0f} MB) in {time.perf_counter() - t0:.0f} s")
            peak_rss(dsn, spec, path, landing)
            path.unlink()


def load_one(dsn: str, spec: str, path: str, landing: str) -> None:
    """The child of :func:`peak_rss`: load one file, print the result line and rows/s."""
    result = load_file(dsn, Path(path), load_specs()[spec], Path(landing), progress=False)
    print(f"loader : {result.line()} = {result.rows_per_second:,.0f} rows/s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pandas-rows", type=int, default=100_000, help="rows for the (slow) pandas path")
    parser.add_argument("--dirty", type=float, default=0.0, help="fraction of rows with a bad cost value")
    parser.add_argument("--floor", action="store_true", help="also time a bare typed COPY of the same file")
    parser.add_argument("--memory", type=int, metavar="ROWS",
                        help="instead: peak RSS loading a ROWS-row campaign file and an orders file of ROWS lines")
    parser.add_argument("--load-one", nargs=4, metavar=("DSN", "SPEC", "PATH", "LANDING"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_one:
        load_one(*args.load_one)
        return 0
    if args.memory:
        with scratch_database(settings.warehouse_dsn(), "bench_loader_memory") as dsn:
            memory(dsn, args.memory)
        return 0

    with scratch_database(settings.warehouse_dsn(), "bench_loader") as dsn:
        with tempfile.TemporaryDirectory() as tmp:
            landing = Path(tmp)
            path = landing / "campaign_performance" / "bench.csv"
            path.parent.mkdir()
            t0 = time.perf_counter()
            generate(path, args.rows, args.dirty)
            size = path.stat().st_size
            print(f"generated {args.rows:,} rows ({size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")

            spec = load_specs()["campaign_performance"]
            result = load_file(dsn, path, spec, landing, progress=False)
            ours = result.rows_read / result.seconds
            print(
                f"loader : {result.rows_read:,} rows ({result.rows_loaded:,} loaded, {result.rows_rejected:,} rejected)"
                f" in {result.seconds:.2f} s = {ours:,.0f} rows/s"
            )
            if args.floor:
                secs = floor_copy(dsn, path)
                print(f"floor  : bare typed COPY, no validation: {args.rows / secs:,.0f} rows/s ({secs:.2f} s)")

            n = min(args.pandas_rows, args.rows)
            secs = pandas_load(dsn, path, n)
            theirs = n / secs
            subset = f" (measured on the first {n:,} rows)" if n < args.rows else ""
            print(
                f"pandas : read_csv + to_sql(method='multi', chunksize={PANDAS_CHUNKSIZE:,}){subset}"
                f" in {secs:.2f} s = {theirs:,.0f} rows/s"
            )
            print(f"ratio  : loader is {ours / theirs:,.1f}x the pandas path")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
