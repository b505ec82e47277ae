"""Benchmark: Klaviyo events and profiles sync (HTTP → Postgres), serial against parallel, with
Klaviyo's latency and rate limits played by the local Klaviyo-compatible server.

    .venv/bin/python -m tests.benchmarks.bench_klaviyo                       # ~100K events, 20K profiles
    .venv/bin/python -m tests.benchmarks.bench_klaviyo --concurrency 4,8,16 --profile-concurrency 8 --latency 0.15

Two servers (``python -m orchestration.klaviyo.fake --latency 0.15 --klaviyo-limits``), each
in its own process (server and client do not share a GIL): one account for events (1,000 per
page), one with many profiles (100 per page). In the same run, into one scratch database:
the serial sync (``concurrency=1``) and the parallel one (each ``--concurrency``), each
into its own account id. Profiles are synced ``--profile-rounds`` times in a row through ONE
client, so the later rounds run with the steady window (750 requests/min) already full —
the sustained rate — while the first round may use the 60-s window's head start.

Where the time goes: per phase, the wall time summed over threads (rate-limiter wait, HTTP
round trip incl. the server's latency, JSON parsing, building rows, the Postgres insert) and
the CPU seconds of the client, the server and Postgres processes. Not a test: it prints
figures and asserts nothing (the server's violation count is printed too).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg

from orchestration import settings
from orchestration.klaviyo import AccountConfig, SyncOptions, client as client_mod, store, sync as sync_mod
from orchestration.klaviyo.client import KlaviyoClient
from orchestration.klaviyo.ratelimit import KLAVIYO_LIMITS, RateLimiter
from orchestration.klaviyo.sync import sync_account
from orchestration.lineage_ui import free_port
from tests.scratch import scratch_database

REPO = Path(__file__).resolve().parents[2]
KEY = "bench-key"
TICKS = os.sysconf("SC_CLK_TCK")


def start_server(port: int, customers: int, days: int, args: argparse.Namespace) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "orchestration.klaviyo.fake", "--port", str(port), "--key", KEY,
           "--customers", str(customers), "--days", str(days), "--email-campaigns", str(args.email_campaigns),
           "--sms-campaigns", str(args.sms_campaigns), "--latency", str(args.latency)]
    if not args.no_limits:
        cmd.append("--klaviyo-limits")
    return subprocess.Popen(cmd, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_ready(proc: subprocess.Popen, port: int) -> dict[str, int]:
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"fake server exited: {proc.stdout.read()}")
        try:
            return httpx.get(f"http://127.0.0.1:{port}/__admin/counts", timeout=1.0).json()["default"]
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("fake server did not start")


# -- where the time goes --------------------------------------------------------------------

class Phases:
    """Wall seconds per phase, summed over threads (patched around the client and the store)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.lock = threading.Lock()

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*a: Any, **kw: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                with self.lock:
                    self.seconds[name] += time.perf_counter() - t0
        return timed

    def install(self) -> None:
        client_mod._loads = self.wrap("parse JSON", client_mod._loads)
        sync_mod.page_rows = self.wrap("build rows", sync_mod.page_rows)
        store._write_rows = self.wrap("Postgres insert (statement)", store._write_rows)
        RateLimiter.acquire = self.wrap("rate-limiter wait", RateLimiter.acquire)
        KlaviyoClient._once = self.wrap("request total", KlaviyoClient._once)

    def take(self) -> dict[str, float]:
        with self.lock:
            out = dict(self.seconds)
            self.seconds.clear()
        return out


def proc_cpu(pid: int, children: bool = False) -> float:
    """CPU seconds (user + system) of a process; with ``children``, of its reaped children too."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if children else 0)
    return ticks / TICKS


def postgres_cpu(postmaster: int) -> float:
    """CPU of the cluster: the postmaster, its exited children and its live ones."""
    total = proc_cpu(postmaster, children=True)
    for child in Path(f"/proc/{postmaster}/task").parent.parent.glob("[0-9]*"):
        try:
            stat = (child / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == postmaster:
                total += proc_cpu(int(child.name))
        except (OSError, ValueError, IndexError):
            continue
    return total


class Meter:
    """Wall time, per-phase thread time and per-process CPU of one timed block."""

    def __init__(self, phases: Phases, server_pid: int, postmaster: int) -> None:
        self.phases, self.server_pid, self.postmaster = phases, server_pid, postmaster

    def __enter__(self) -> Meter:
        self.phases.take()
        t = os.times()
        self.cpu0 = (t.user + t.system, proc_cpu(self.server_pid), postgres_cpu(self.postmaster))
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.t0
        t = os.times()
        cpu1 = (t.user + t.system, proc_cpu(self.server_pid), postgres_cpu(self.postmaster))
        self.cpu = {k: b - a for k, a, b in zip(("client", "server", "postgres"), self.cpu0, cpu1)}
        self.split = self.phases.take()

    def lines(self) -> list[str]:
        s = self.split
        total = s.get("request total", 0.0)
        http = total - s.get("rate-limiter wait", 0.0) - s.get("parse JSON", 0.0)
        parts = [("rate-limiter wait", s.get("rate-limiter wait", 0.0)), ("HTTP round trip (incl. latency)", http),
                 ("parse JSON", s.get("parse JSON", 0.0)), ("build rows", s.get("build rows", 0.0)),
                 ("Postgres insert (statement)", s.get("Postgres insert (statement)", 0.0))]
        wall = max(self.seconds, 1e-9)
        out = ["    thread-seconds per phase (÷ wall = threads busy in it): " + ", ".join(
            f"{name} {sec:.1f}s ({sec / wall:.1f})" for name, sec in parts)]
        out.append("    CPU seconds: " + ", ".join(f"{k} {v:.1f}s ({v / wall:.0%} of one core)"
                                                   for k, v in self.cpu.items())
                   + f"; machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        return out


# -- runs -------------------------------------------------------------------------------------

def run_sync(dsn: str, base_url: str, account_id: str, stream: str, concurrency: int,
             client: KlaviyoClient | None = None) -> tuple[Any, int]:
    account = AccountConfig(account_id, KEY, base_url=base_url)
    options = SyncOptions(timeout=60.0, concurrency=concurrency)
    result = sync_account(dsn, account, [stream], options=options, client=client)
    with psycopg.connect(dsn) as conn:
        landed = conn.execute(f"select count(*) from klaviyo_raw.{stream} where account_id = %s",
                              (account_id,)).fetchone()[0]
    return result, landed


def take_violations(port: int) -> int:
    """The server's violation count so far; then its windows and counts are reset (a fresh start)."""
    n = httpx.get(f"http://127.0.0.1:{port}/__admin/ratelimits").json()["total_violations"]
    httpx.delete(f"http://127.0.0.1:{port}/__admin/ratelimits")
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=3_000, help="events account (~100K events)")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--profile-customers", type=int, default=20_000, help="profiles account")
    parser.add_argument("--profile-days", type=int, default=14)
    parser.add_argument("--profile-rounds", type=int, default=5)
    parser.add_argument("--email-campaigns", type=int, default=24)
    parser.add_argument("--sms-campaigns", type=int, default=6)
    parser.add_argument("--latency", type=float, default=0.15)
    parser.add_argument("--no-limits", action="store_true", help="serve without Klaviyo's rate limits")
    parser.add_argument("--concurrency", default="8", help="comma-separated parallel settings to time")
    parser.add_argument("--profile-concurrency", default="8", help="comma-separated settings for profiles")
    parser.add_argument("--skip-serial-profiles", action="store_true")
    args = parser.parse_args()
    settings_list = [int(x) for x in args.concurrency.split(",")]

    ev_port, pr_port = free_port(), free_port()
    started = time.perf_counter()
    servers = [start_server(ev_port, args.customers, args.days, args),
               start_server(pr_port, args.profile_customers, args.profile_days, args)]
    phases = Phases()
    phases.install()
    try:
        ev_counts, pr_counts = wait_ready(servers[0], ev_port), wait_ready(servers[1], pr_port)
        print(f"servers ready in {time.perf_counter() - started:.0f}s: {ev_counts['events']:,} events; "
              f"{pr_counts['profiles']:,} profiles; latency {args.latency * 1000:.0f} ms; "
              f"rate limits {'off' if args.no_limits else 'Klaviyo spec'}")
        burst, steady = KLAVIYO_LIMITS[("GET", "events")]
        ev_ceiling = steady / 60 * 1000
        pburst, psteady = KLAVIYO_LIMITS[("GET", "profiles")]
        pr_ceiling = psteady / 60 * 100
        print(f"API ceilings (steady limit × page size): events {ev_ceiling:,.0f}/s ({steady}/min × 1,000; "
              f"burst {burst}/s), profiles {pr_ceiling:,.0f}/s ({psteady}/min × 100; burst {pburst}/s)")
        ev_url, pr_url = f"http://127.0.0.1:{ev_port}/api/", f"http://127.0.0.1:{pr_port}/api/"
        with scratch_database(settings.warehouse_dsn(), "bench_klaviyo") as dsn:
            with psycopg.connect(dsn) as conn:
                backend = conn.execute("select pg_backend_pid()").fetchone()[0]
            postmaster = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])

            print("\nevents")
            rates: dict[int, float] = {}
            found = 0
            for concurrency in [1] + settings_list:
                found += take_violations(ev_port)
                with Meter(phases, servers[0].pid, postmaster) as m:
                    result, landed = run_sync(dsn, ev_url, f"ev{concurrency}", "events", concurrency)
                ev = result.stream("events")
                rates[concurrency] = landed / m.seconds
                print(f"  concurrency {concurrency:>2}: {landed:,} events in {m.seconds:.1f}s = "
                      f"{rates[concurrency]:,.0f} events/s ({ev.pages} pages, {ev.requests} requests, "
                      f"{ev.retries} retries) — {rates[concurrency] / rates[1]:.1f}× serial, "
                      f"{rates[concurrency] / ev_ceiling:.0%} of the ceiling")
                for line in m.lines():
                    print(line)
            print(f"  server rate-limit violations: {found + take_violations(ev_port)}")

            print("\nprofiles")
            found = 0
            profile_settings = [int(x) for x in args.profile_concurrency.split(",")]
            for concurrency in ([] if args.skip_serial_profiles else [1]) + profile_settings:
                account = AccountConfig("p", KEY, base_url=pr_url)
                options = SyncOptions(timeout=60.0, concurrency=concurrency)
                # a fresh limiter per setting, and the server's windows emptied, as for a new key
                found += take_violations(pr_port)
                with KlaviyoClient.for_account(account, options) as client:
                    rounds = 1 if concurrency == 1 else args.profile_rounds
                    total_rows, total_seconds = 0, 0.0
                    for r in range(rounds):
                        with Meter(phases, servers[1].pid, postmaster) as m:
                            result, landed = run_sync(dsn, pr_url, f"pr{concurrency}r{r}", "profiles", concurrency,
                                                      client=client)
                        pr = result.stream("profiles")
                        rate = landed / m.seconds
                        print(f"  concurrency {concurrency:>2} round {r + 1}: {landed:,} profiles in "
                              f"{m.seconds:.1f}s = "
                              f"{rate:,.0f} profiles/s ({pr.requests} requests, {pr.retries} retries) — "
                              f"{rate / pr_ceiling:.0%} of the ceiling")
                        for line in m.lines():
                            print(line)
                        total_rows, total_seconds = total_rows + landed, total_seconds + m.seconds
                    if rounds > 1:
                        print(f"  concurrency {concurrency:>2}, all {rounds} rounds: {total_rows:,} profiles in "
                              f"{total_seconds:.1f}s = {total_rows / total_seconds:,.0f} profiles/s = "
                              f"{total_rows / total_seconds / pr_ceiling:.0%} of the ceiling (a run this short "
                              f"still profits from the first 60 s window, which may be spent at once)")
            print(f"  server rate-limit violations: {found + take_violations(pr_port)}")
    finally:
        for proc in servers:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
