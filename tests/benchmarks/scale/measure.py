"""Measuring helpers: a child process's wall time and peak RSS, database statistics, and
dbt's per-node timings (``run_results.json``)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from tests.dbt_cli import REPO_ROOT, run_dbt


@dataclass(frozen=True)
class ChildRun:
    """A finished child process: wall seconds, peak RSS (bytes), stdout."""

    seconds: float
    peak_rss_bytes: int
    stdout: str


def run_child(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> ChildRun:
    """Run ``argv`` through :mod:`rusage_wrapper` (a small process, so the child's
    ``ru_maxrss`` is its own, not inherited from this large one); raises when it fails."""
    with tempfile.TemporaryDirectory() as tmp:
        rss_file = Path(tmp) / "rss"
        wrapper = [sys.executable, "-m", "tests.benchmarks.scale.rusage_wrapper", str(rss_file), "--"]
        t0 = time.perf_counter()
        proc = subprocess.run([*wrapper, *argv], env=env, cwd=cwd or REPO_ROOT, stdout=subprocess.PIPE, text=True)
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"{argv[:4]} exited with {proc.returncode}")
        return ChildRun(seconds, int(rss_file.read_text()), proc.stdout)


def temp_bytes(server_dsn: str, database: str) -> int:
    """``pg_stat_database.temp_bytes`` of ``database`` (cumulative since the stats reset)."""
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute("select pg_stat_clear_snapshot()")
        row = conn.execute("select temp_bytes from pg_stat_database where datname = %s", (database,)).fetchone()
        return int(row[0] or 0) if row else 0


def database_size(dsn: str) -> int:
    """``pg_database_size`` of the database ``dsn`` points at."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return int(conn.execute("select pg_database_size(current_database())").fetchone()[0])


@dataclass
class DbtRun:
    """One ``dbt build``: wall time, temp bytes written, per-node timings and failures."""

    seconds: float
    temp_bytes: int
    nodes: list[dict[str, Any]]
    failures: list[str]

    def slowest(self, n: int = 10) -> list[dict[str, Any]]:
        return sorted(self.nodes, key=lambda r: -r["seconds"])[:n]

    def share(self) -> dict[str, float]:
        """Seconds of node execution per resource type (model, test, seed, unit_test …)."""
        out: dict[str, float] = {}
        for r in self.nodes:
            out[r["type"]] = out.get(r["type"], 0.0) + r["seconds"]
        return out

    def summary(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "temp_bytes": self.temp_bytes, "nodes": len(self.nodes),
                "seconds_by_type": self.share(), "slowest": self.slowest(10), "failures": self.failures,
                "node_seconds": {r["node"]: round(r["seconds"], 3) for r in self.nodes}}


def dbt_build(args: list[str], env: dict[str, str], work: Path, server_dsn: str, database: str,
              timeout: int = 6 * 3600) -> DbtRun:
    """``dbt build <args>`` timed, with the database's temp bytes before/after and the nodes
    of ``run_results.json``. Failing nodes are listed, not raised (a benchmark reports)."""
    before = temp_bytes(server_dsn, database)
    t0 = time.perf_counter()
    proc = run_dbt(["build", *args], env, work, timeout=timeout)
    seconds = time.perf_counter() - t0
    time.sleep(1.0)  # backends flush their statistics at most once a second
    after = temp_bytes(server_dsn, database)
    path = work / "target" / "run_results.json"
    if not path.exists():
        raise RuntimeError(f"dbt build wrote no run_results.json:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    results = json.loads(path.read_text())["results"]
    nodes = [{"node": r["unique_id"], "type": r["unique_id"].split(".")[0], "status": r["status"],
              "seconds": float(r.get("execution_time") or 0.0)} for r in results]
    failures = [f"{r['unique_id']}: {r['status']}: {(r.get('message') or '')[:200]}" for r in results
                if r["status"] in ("error", "fail")]
    return DbtRun(seconds, after - before, nodes, failures)
