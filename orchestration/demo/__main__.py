"""Command line: ``python -m orchestration.demo --out landing [--seed 42] ...``."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from orchestration.demo.config import DemoConfig
from orchestration.demo.generate import generate


def _default_out() -> Path:
    from orchestration.settings import landing_dir

    return landing_dir()


def parse_args(argv: list[str] | None = None) -> tuple[Path, DemoConfig]:
    """Parse the command line into the output dir and a :class:`DemoConfig`."""
    d = DemoConfig()
    p = argparse.ArgumentParser(prog="python -m orchestration.demo",
                                description="Write deterministic demo landing files + ground truth.")
    p.add_argument("--out", type=Path, default=None,
                   help="landing dir (default: WAREHOUSE_LANDING_DIR or landing/)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--start", type=date.fromisoformat, default=d.start, help="first day (YYYY-MM-DD)")
    p.add_argument("--days", type=int, default=d.days)
    p.add_argument("--customers", type=int, default=d.customers)
    p.add_argument("--campaigns", type=int, default=d.campaigns)
    p.add_argument("--orders-target", type=int, default=None,
                   help="valid order lines to write (default 10 x customers)")
    p.add_argument("--errors-per-reason", type=int, default=d.errors_per_reason,
                   help="planted bad rows per source and reason code")
    p.add_argument("--no-errors", action="store_true", help="plant no bad rows (clean file set)")
    p.add_argument("--gzip-level", type=int, default=d.gzip_level)
    a = p.parse_args(argv)
    try:
        cfg = DemoConfig(seed=a.seed, start=a.start, days=a.days, customers=a.customers,
                         campaigns=a.campaigns, orders_target=a.orders_target,
                         errors_per_reason=0 if a.no_errors else a.errors_per_reason,
                         gzip_level=a.gzip_level)
    except ValueError as exc:
        p.error(str(exc))
    return (a.out or _default_out()), cfg


def main(argv: list[str] | None = None) -> int:
    """Run the generator and print one line per written file."""
    out, cfg = parse_args(argv)
    t0 = time.perf_counter()
    manifest = generate(out, cfg)
    for path, info in manifest.files.items():
        print(f"{out / path}: {info.rows} rows ({info.planted_invalid_rows} planted invalid)")
    print(f"ground truth in {out / '_ground_truth'}; {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
