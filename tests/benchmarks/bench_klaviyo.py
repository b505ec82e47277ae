"""Benchmark: Klaviyo events sync (HTTP → Postgres) against the local Klaviyo-compatible server.

    .venv/bin/python -m tests.benchmarks.bench_klaviyo                 # ~100,000 events
    .venv/bin/python -m tests.benchmarks.bench_klaviyo --customers 6000 --email-campaigns 48

Starts ``python -m orchestration.klaviyo.fake`` in its own process (so server and client do
not share a GIL), syncs the ``events`` stream (1,000-event pages, 7-day slices, metric +
attribution includes) into a fresh scratch database, and prints events/s; then a second,
incremental sync (nothing new: one probe request + the lookback re-read) and, with
``--all-streams``, a full sync of every stream. Not a test: nothing asserts; it prints figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import psycopg

from orchestration import settings
from orchestration.klaviyo import AccountConfig, SyncOptions, sync_account
from orchestration.lineage_ui import free_port
from tests.scratch import scratch_database

REPO = Path(__file__).resolve().parents[2]
KEY = "bench-key"


def start_server(args: argparse.Namespace, port: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "orchestration.klaviyo.fake", "--port", str(port), "--key", KEY,
           "--customers", str(args.customers), "--days", str(args.days),
           "--email-campaigns", str(args.email_campaigns), "--sms-campaigns", str(args.sms_campaigns)]
    proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"fake server exited: {proc.stdout.read()}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/__admin/counts", timeout=1.0)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("fake server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=3_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--email-campaigns", type=int, default=24)
    parser.add_argument("--sms-campaigns", type=int, default=6)
    parser.add_argument("--all-streams", action="store_true", help="also time a full sync of every stream")
    args = parser.parse_args()

    port = free_port()
    started = time.perf_counter()
    server = start_server(args, port)
    try:
        counts = httpx.get(f"http://127.0.0.1:{port}/__admin/counts").json()["default"]
        print(f"fake account: {counts['events']:,} events, {counts['profiles']:,} profiles "
              f"(generated + served in {time.perf_counter() - started:.1f}s)")
        account = AccountConfig("default", KEY, base_url=f"http://127.0.0.1:{port}/api/")
        options = SyncOptions(timeout=60.0)
        with scratch_database(settings.warehouse_dsn(), "bench_klaviyo") as dsn:
            t0 = time.perf_counter()
            result = sync_account(dsn, account, ["events"], options=options)
            seconds = time.perf_counter() - t0
            ev = result.stream("events")
            with psycopg.connect(dsn) as conn:
                landed = conn.execute("select count(*) from klaviyo_raw.events").fetchone()[0]
                size = conn.execute("select pg_total_relation_size('klaviyo_raw.events')").fetchone()[0]
            print(f"events sync: {landed:,} events in {seconds:.2f}s = {landed / seconds:,.0f} events/s "
                  f"({ev.pages} pages, {ev.requests} requests, {ev.retries} retries; table {size / 2**20:.0f} MiB)")

            t0 = time.perf_counter()
            again = sync_account(dsn, account, ["events"], options=options,
                                 now=datetime.now(timezone.utc))
            print(f"incremental events sync (nothing new): {time.perf_counter() - t0:.2f}s, "
                  f"{again.stream('events').requests} request(s), {again.stream('events').rows_written} rows written")

            if args.all_streams:
                t0 = time.perf_counter()
                full = sync_account(dsn, AccountConfig("second", KEY, base_url=account.base_url), options=options)
                seconds = time.perf_counter() - t0
                rows = sum(s.rows_written for s in full.streams)
                print(f"full sync, all streams (second account id): {rows:,} rows in {seconds:.2f}s "
                      f"= {rows / seconds:,.0f} rows/s")
                for line in full.lines():
                    print("  " + line)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
