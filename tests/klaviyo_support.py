"""Shared by the Klaviyo sync tests: a sync CLI process killed (SIGKILL) in the middle of a stream."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent


def events_landed(dsn: str) -> int:
    """Rows in klaviyo_raw.events (0 before the sync created the table)."""
    with psycopg.connect(dsn) as conn:
        if not conn.execute("select to_regclass('klaviyo_raw.events')").fetchone()[0]:
            return 0
        return conn.execute("select count(*) from klaviyo_raw.events").fetchone()[0]


def kill_events_sync_midway(dsn: str, base_url: str, key: str, *, concurrency: int, at_least: int,
                            timeout: float) -> int:
    """Run ``python -m orchestration.klaviyo sync --stream events`` against ``base_url``, kill it
    with SIGKILL once ``at_least`` events landed (it must still be running), return how many had."""
    env = {**os.environ, "WAREHOUSE_DSN": dsn, "KLAVIYO_API_KEY": key, "KLAVIYO_BASE_URL": base_url,
           "PYTHONPATH": str(REPO), "KLAVIYO_CONCURRENCY": str(concurrency)}
    env.pop("KLAVIYO_ACCOUNTS", None)
    proc = subprocess.Popen([sys.executable, "-m", "orchestration.klaviyo", "sync", "--stream", "events"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None and events_landed(dsn) < at_least:
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    return events_landed(dsn)
