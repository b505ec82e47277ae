"""Benchmark: customer segmentation on 1,000,000 customers and Prophet on N daily series.

    .venv/bin/python -m tests.benchmarks.bench_ml [--customers 1000000] [--series 11] [--days 730]

Segmentation input is generated directly with numpy as a 5-cluster mixture that follows
the demo generator's segment parameters (``orchestration.demo.segments``: orders,
recency, sessions, pages, duration, age; monetary = orders × a log-normal order value)
rather than through the demo generator, which would need a ~10M-line orders file for 1M
customers. The timed part is ``CustomerSegmenter.fit`` (transform, k selection over
k = 2..8 by silhouette, final MiniBatchKMeans, labels, profiles, version) plus
``predict`` on the same rows. Reference: the platform this project replaces publishes
12K rows/s (50K rows in 4.2 s); the target is ≥ 10× that, 120K rows/s.

Forecasting: ``forecast_many`` (fit + 90-day predict with 1,000 interval draws) over
``--series`` synthetic daily series (trend + weekly + yearly + noise) of ``--days`` days.
Not a test: nothing asserts; it prints figures.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from ml.forecasting import forecast_many
from ml.segmentation import CustomerSegmenter
from orchestration.demo.segments import SEGMENTS

REFERENCE_ROWS_PER_S = 50_000 / 4.2  # ≈ 12K rows/s
TARGET_FACTOR = 10.0
WINDOW_DAYS = 730


def synthetic_customers(n: int, seed: int = 42) -> tuple[pd.DataFrame, np.ndarray]:
    """``n`` customers from the 5 demo segments (feature table + true segment index)."""
    rng = np.random.default_rng(seed)
    shares = np.array([s.share for s in SEGMENTS])
    seg = rng.choice(len(SEGMENTS), size=n, p=shares / shares.sum())

    def p(attr: str) -> np.ndarray:
        return np.array([getattr(s, attr) for s in SEGMENTS], dtype=float)[seg]

    orders = np.clip(np.round(rng.lognormal(np.log(p("orders_median")), p("orders_sigma"))),
                     p("orders_min"), p("orders_max"))
    recency = np.clip(np.round(rng.lognormal(np.log(p("recency_median") * WINDOW_DAYS),
                                             p("recency_sigma"))), 1, WINDOW_DAYS)
    order_value = rng.lognormal(np.log(12.0 * p("lines_weight") * p("quantity_mean")
                                       * (1 - p("discount"))), 0.45)
    sessions = np.maximum(np.round(rng.lognormal(np.log(p("sessions_median")), p("sessions_sigma"))),
                          orders)
    frame = pd.DataFrame({
        "customer_id": np.char.add("C", np.char.zfill(np.arange(1, n + 1).astype(str), 7)),
        "recency_days": recency,
        "frequency": orders.astype(np.int64),
        "monetary": np.round(orders * order_value, 2),
        "sessions": sessions,
        "pages_per_session": np.round(1 + rng.lognormal(np.log(p("pages_median") - 1), p("pages_sigma")), 2),
        "avg_session_duration": np.round(rng.lognormal(np.log(p("duration_median")), p("duration_sigma")), 1),
        "age": np.clip(np.round(rng.normal(p("age_mean"), p("age_sd"))), 18, 90),
    })
    return frame, seg


def synthetic_series(n_series: int, days: int, seed: int = 7) -> pd.DataFrame:
    """Long ``series, ds, y`` frame: trend + weekly + yearly + noise per series."""
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2023-01-01", periods=days, freq="D")
    t = np.arange(days)
    weekday = ds.day_of_week.to_numpy()
    parts = []
    for i in range(n_series):
        level = rng.uniform(50, 5_000)
        weekly = rng.normal(0, 0.08, 7)[weekday]
        yearly = 0.15 * np.sin(2 * np.pi * (t / 365.25 + rng.uniform()))
        y = level * (1 + 0.0004 * t + weekly + yearly + rng.normal(0, 0.05, days))
        parts.append(pd.DataFrame({"series": f"series_{i:02d}", "ds": ds, "y": y}))
    return pd.concat(parts, ignore_index=True)


def bench_segmentation(n: int, show_profiles: bool = True) -> None:
    """Time fit (incl. k selection) + predict on ``n`` synthetic customers and print figures."""
    t0 = time.perf_counter()
    frame, truth = synthetic_customers(n)
    print(f"\ngenerated {n:,} synthetic customers in {time.perf_counter() - t0:.1f} s (not timed)")
    seg = CustomerSegmenter()
    t0 = time.perf_counter()
    seg.fit(frame)
    t_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = seg.predict(frame)
    t_pred = time.perf_counter() - t0
    total = t_fit + t_pred
    rate = n / total
    m = seg.metrics_
    agree = float((pred["segment_id"].to_numpy() == seg.assignments_["segment_id"].to_numpy()).mean())
    print(f"segmentation: fit {t_fit:.2f} s (k selection on {m['selection_sample_rows']:,} rows, "
          f"silhouette on {m['silhouette_sample_rows']:,}, final {m['algorithm']}), "
          f"predict {t_pred:.2f} s, total {total:.2f} s")
    print(f"  chosen k = {m['k']}; silhouette by k: {m['silhouette_by_k']}")
    print(f"  ARI vs the mixture's true clusters: {adjusted_rand_score(truth, pred['segment_id']):.3f}; "
          f"predict == fit labels on {agree:.4%} of rows")
    print(f"  throughput {rate:,.0f} rows/s vs reference {REFERENCE_ROWS_PER_S:,.0f} rows/s "
          f"(50K rows in 4.2 s): {rate / REFERENCE_ROWS_PER_S:.1f}x "
          f"(target {TARGET_FACTOR:.0f}x = {REFERENCE_ROWS_PER_S * TARGET_FACTOR:,.0f} rows/s: "
          f"{'met' if rate >= REFERENCE_ROWS_PER_S * TARGET_FACTOR else 'NOT met'})")
    if show_profiles:
        print(seg.profiles_[["segment_id", "segment_label", "size", "share", "recency_days_mean",
                             "frequency_mean", "monetary_mean", "revenue_share"]].to_string(index=False))


def bench_forecasting(n_series: int, days: int) -> None:
    """Time forecast_many over ``n_series`` synthetic series and print figures."""
    frame = synthetic_series(n_series, days)
    t0 = time.perf_counter()
    forecast_many(frame.iloc[:days], horizon=90)  # warm-up: Prophet import + first model load
    t_warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = forecast_many(frame, horizon=90)
    total = time.perf_counter() - t0
    print(f"prophet: {n_series} series x {days} days, fit + 90-day predict (1,000 interval draws): "
          f"{total:.2f} s ({total / n_series:.2f} s/series; first call incl. import {t_warm:.2f} s); "
          f"{len(res.forecast):,} forecast rows")


def main(argv: list[str] | None = None) -> int:
    """Run both benchmarks and print the figures."""
    ap = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_ml")
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--also", type=int, default=50_000,
                    help="also time this size (the reference's 50K rows); 0 = skip")
    ap.add_argument("--series", type=int, default=11)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--skip-prophet", action="store_true")
    a = ap.parse_args(argv)
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    if a.also:
        bench_segmentation(a.also, show_profiles=False)
    bench_segmentation(a.customers)
    if not a.skip_prophet:
        bench_forecasting(a.series, a.days)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
