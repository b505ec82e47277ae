"""Demo-data generator: determinism, counts, planted errors, consistency, seasonality, segments.

Pure Python (no database). The files are re-read with an independent parser and an
independent implementation of the docs/CONTRACTS.md rules, so the planted-error ground
truth is checked against what is really in the files.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from orchestration.demo import DemoConfig, generate

REPO = Path(__file__).resolve().parent.parent
FILES = {
    "campaign_performance": "campaign_performance/campaign_performance.csv",
    "customers": "customers/customers.csv",
    "orders": "orders/orders.csv.gz",
}
SMALL = dict(customers=2_000, campaigns=20, days=60)
# expected order of median frequency and monetary value, highest first
SEGMENT_ORDER = ["champions", "loyal_regulars", "dormant_lapsed", "bargain_occasionals",
                 "one_time_buyers"]

# --- independent reading and validation (docs/CONTRACTS.md) -----------------------------

SCHEMA = {  # column: (type, required)
    "campaign_performance": {
        "date": ("date", True), "campaign_id": ("text", False), "campaign_name": ("text", True),
        "channel": ("text", True), "cost": ("num", True), "impressions": ("int", True),
        "clicks": ("int", True), "conversions": ("num", True), "revenue": ("num", True),
        "currency": ("text", False),
    },
    "customers": {
        "customer_id": ("text", True), "age": ("int", False), "gender": ("text", False),
        "country": ("text", False), "sessions": ("int", False),
        "avg_session_duration": ("num", False), "pages_per_session": ("num", False),
        "transactions": ("int", False), "revenue": ("num", False),
        "signup_date": ("date", False), "acquisition_channel": ("text", False),
    },
    "orders": {
        "order_id": ("text", True), "customer_id": ("text", False), "ordered_at": ("ts", True),
        "quantity": ("int", True), "unit_price": ("num", True), "product": ("text", False),
        "product_name": ("text", False), "country": ("text", False),
    },
}
NATURAL_KEY = {"campaign_performance": ("date", "campaign_name", "channel"),
               "customers": ("customer_id",), "orders": None}


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and data rows of a CSV (gz or not) via the csv module."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    return rows[0], rows[1:]


def _parse(kind: str, value: str) -> object:
    if kind == "int":
        if not re.fullmatch(r"-?\d+", value):
            raise ValueError
        return int(value)
    if kind == "num":
        if not re.fullmatch(r"-?\d+(\.\d+)?", value):
            raise ValueError
        return Decimal(value)
    if kind == "date":
        return date.fromisoformat(value) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else _bad()
    if kind == "ts":
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    return value


def _bad() -> None:
    raise ValueError


def classify(source: str, header: list[str], rows: list[list[str]]) -> dict[int, str]:
    """{line_number: reason} of every invalid row (1 = header), by the contract's rules."""
    schema = SCHEMA[source]
    assert header == list(schema)
    reasons: dict[int, str] = {}
    seen_keys: set[tuple[str, ...]] = set()
    for line, fields in enumerate(rows, start=2):
        if len(fields) != len(header):
            reasons[line] = "wrong_column_count"
            continue
        rec = dict(zip(header, fields))
        if any(schema[c][1] and rec[c] == "" for c in header):
            reasons[line] = "missing_required"
            continue
        parsed, reason = {}, None
        for col, (kind, _) in schema.items():
            if rec[col] == "":
                parsed[col] = None
                continue
            try:
                parsed[col] = _parse(kind, rec[col])
            except (ValueError, InvalidOperation):
                reason = reason or ("invalid_date" if kind in ("date", "ts") else "invalid_number")
        if reason:
            reasons[line] = reason
            continue
        if source == "campaign_performance":
            if any(parsed[c] < 0 for c in ("cost", "impressions", "clicks", "conversions", "revenue")):
                reasons[line] = "negative_value"
                continue
            if parsed["clicks"] > parsed["impressions"]:
                reasons[line] = "clicks_exceed_impressions"
                continue
        key_cols = NATURAL_KEY[source]
        if key_cols:
            key = tuple(rec[c] for c in key_cols)
            if key in seen_keys:
                reasons[line] = "duplicate_key"
                continue
            seen_keys.add(key)
    return reasons


def valid_frame(landing: Path, source: str) -> pd.DataFrame:
    """Valid rows of a source as strings (invalid ones dropped by :func:`classify`)."""
    header, rows = read_rows(landing / FILES[source])
    bad = classify(source, header, rows)
    keep = [r for line, r in enumerate(rows, start=2) if line not in bad]
    return pd.DataFrame(keep, columns=header)


def contract_channels() -> dict[str, str]:
    """Raw channel name → canonical, parsed from docs/CONTRACTS.md."""
    text = (REPO / "docs" / "CONTRACTS.md").read_text()
    section = text.split("## Raw channel names", 1)[1].split("\n## ", 1)[0]
    out = {}
    for canonical, names in re.findall(r"^(\w+): (.+)$", section, flags=re.M):
        for name in re.findall(r'"([^"]+)"', names):
            out[name] = canonical
    return out


def sha_tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# --- fixtures ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two years, 4,000 customers, 40 campaigns, default planted errors."""
    out = tmp_path_factory.mktemp("landing")
    generate(out, DemoConfig(seed=42, customers=4_000, campaigns=40, days=730))
    return out


@pytest.fixture(scope="module")
def valid(landing: Path) -> dict[str, pd.DataFrame]:
    return {source: valid_frame(landing, source) for source in FILES}


@pytest.fixture(scope="module")
def orders_typed(valid: dict[str, pd.DataFrame]) -> pd.DataFrame:
    o = valid["orders"].copy()
    o["quantity"] = o["quantity"].astype(int)
    o["cents"] = (o["unit_price"].astype(float) * 100).round().astype(np.int64)
    o["ts"] = pd.to_datetime(o["ordered_at"], format="%Y-%m-%d %H:%M:%S")
    o["is_cancel"] = o["order_id"].str.startswith("C")
    return o


@pytest.fixture(scope="module")
def campaigns_typed(valid: dict[str, pd.DataFrame]) -> pd.DataFrame:
    c = valid["campaign_performance"].copy()
    for col in ("cost", "revenue", "conversions"):
        c[col] = c[col].astype(float)
    for col in ("impressions", "clicks"):
        c[col] = c[col].astype(np.int64)
    c["date"] = pd.to_datetime(c["date"])
    return c


# --- determinism, CLI, counts -----------------------------------------------------------

def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    cfg = DemoConfig(seed=7, **SMALL)
    t0 = time.perf_counter()
    generate(tmp_path / "a", cfg)
    elapsed = time.perf_counter() - t0
    generate(tmp_path / "b", cfg)
    generate(tmp_path / "c", DemoConfig(seed=8, **SMALL))
    a, b, c = (sha_tree(tmp_path / x) for x in "abc")
    assert a == b
    assert set(a) == set(c)
    for path in FILES.values():
        assert a[path] != c[path], path
    assert elapsed < 4.0, f"small size took {elapsed:.2f} s (budget 2 s on the reference machine)"


def test_output_does_not_depend_on_the_memory_budget(tmp_path: Path) -> None:
    """Order lines spilled to many small time buckets give the same bytes as one bucket,
    and the customers span several blocks (each with its own random streams)."""
    cfg = DemoConfig(seed=9, customers=25_000, campaigns=5, days=60, orders_target=200_000)
    one = generate(tmp_path / "one", cfg)
    generate(tmp_path / "many", cfg, lines_per_bucket=2_000)
    assert sha_tree(tmp_path / "one") == sha_tree(tmp_path / "many")
    assert one.files[FILES["orders"]].valid_rows == 200_000
    ids = pd.read_csv(tmp_path / "one" / FILES["customers"], usecols=["customer_id"])["customer_id"]
    assert ids.iloc[[0, -1]].tolist()[0] == "C000001" and "C025000" in set(ids)
    assert not list((tmp_path / "many").glob(".demo-spill-*"))


def test_rewrite_is_idempotent(tmp_path: Path) -> None:
    cfg = DemoConfig(seed=3, **SMALL)
    generate(tmp_path, cfg)
    first = sha_tree(tmp_path)
    generate(tmp_path, cfg)
    assert sha_tree(tmp_path) == first
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_cli_writes_clean_file_set(tmp_path: Path) -> None:
    out = tmp_path / "landing"
    cmd = [sys.executable, "-m", "orchestration.demo", "--out", str(out), "--seed", "5",
           "--customers", "300", "--campaigns", "5", "--days", "30", "--orders-target", "2500",
           "--no-errors"]
    subprocess.run(cmd, check=True, cwd=REPO, capture_output=True, timeout=60)
    manifest = json.loads((out / "_ground_truth" / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["config"]["customers"] == 300
    assert json.loads((out / "_ground_truth" / "planted_rejections.json").read_text()) == {
        "campaign_performance": {}, "customers": {}, "orders": {}}
    for source, path in FILES.items():
        header, rows = read_rows(out / path)
        assert classify(source, header, rows) == {}
        assert manifest["files"][path]["rows"] == manifest["files"][path]["valid_rows"] == len(rows)
    assert manifest["files"][FILES["orders"]]["rows"] == 2500
    assert manifest["files"][FILES["customers"]]["rows"] == 300


def test_row_counts_match_manifest_and_flags(landing: Path, valid: dict[str, pd.DataFrame]) -> None:
    manifest = json.loads((landing / "_ground_truth" / "manifest.json").read_text())
    for source, path in FILES.items():
        _, rows = read_rows(landing / path)
        info = manifest["files"][path]
        assert info["rows"] == len(rows)
        assert info["valid_rows"] == len(valid[source])
        assert info["sha256"] == hashlib.sha256((landing / path).read_bytes()).hexdigest()
    assert len(valid["customers"]) == 4_000
    assert len(valid["orders"]) == 40_000  # default target: 10 lines per customer
    assert valid["campaign_performance"]["campaign_name"].nunique() == 40
    segments = pd.read_csv(landing / "_ground_truth" / "customer_segments.csv")
    assert list(segments["customer_id"]) == list(valid["customers"]["customer_id"])
    assert valid["customers"]["customer_id"].str.fullmatch(r"C\d{6}").all()


# --- planted errors ---------------------------------------------------------------------

def test_planted_rejections_are_exactly_the_invalid_rows(landing: Path) -> None:
    gt = json.loads((landing / "_ground_truth" / "planted_rejections.json").read_text())
    planted = pd.read_csv(landing / "_ground_truth" / "planted_rows.csv")
    for source, path in FILES.items():
        header, rows = read_rows(landing / path)
        found = classify(source, header, rows)
        assert dict(Counter(found.values())) == gt[source], source
        expected = planted[planted["source"] == source]
        assert found == dict(zip(expected["line_number"], expected["reason"])), source
    assert set(gt["campaign_performance"]) == {
        "invalid_number", "invalid_date", "negative_value", "clicks_exceed_impressions",
        "missing_required", "duplicate_key", "wrong_column_count"}
    assert sum(gt["customers"].values()) >= 5 and gt["customers"]["duplicate_key"] >= 1
    assert sum(gt["orders"].values()) >= 4


def test_no_errors_gives_the_same_valid_rows(tmp_path: Path) -> None:
    generate(tmp_path / "dirty", DemoConfig(seed=11, **SMALL))
    generate(tmp_path / "clean", DemoConfig(seed=11, errors_per_reason=0, **SMALL))
    for source, path in FILES.items():
        h1, dirty = read_rows(tmp_path / "dirty" / path)
        h2, clean = read_rows(tmp_path / "clean" / path)
        bad = classify(source, h1, dirty)
        assert bad and classify(source, h2, clean) == {}
        assert [r for i, r in enumerate(dirty, start=2) if i not in bad] == clean


# --- customers ↔ orders -----------------------------------------------------------------

def test_customers_equal_order_aggregates(valid: dict[str, pd.DataFrame],
                                          orders_typed: pd.DataFrame) -> None:
    o = orders_typed[orders_typed["customer_id"] != ""]
    tx = o[~o["is_cancel"]].groupby("customer_id")["order_id"].nunique()
    rev = (o["quantity"] * o["cents"]).groupby(o["customer_id"]).sum()
    c = valid["customers"].set_index("customer_id")
    assert set(o["customer_id"]) <= set(c.index)
    assert (c["transactions"].astype(int) == tx.reindex(c.index).fillna(0).astype(int)).all()
    cents = (c["revenue"].astype(float) * 100).round().astype(np.int64)
    assert (cents == rev.reindex(c.index).fillna(0).astype(np.int64)).all()
    assert (c["transactions"].astype(int) >= 1).all()
    assert (c["sessions"].astype(int) >= c["transactions"].astype(int)).all()
    signup = pd.to_datetime(c["signup_date"])
    first = o[~o["is_cancel"]].groupby("customer_id")["ts"].min().reindex(c.index)
    assert (signup <= first.dt.normalize()).all()
    assert signup.min() >= pd.Timestamp("2024-01-01") and signup.max() <= pd.Timestamp("2025-12-30")


def test_orders_cancellations_and_guests(orders_typed: pd.DataFrame) -> None:
    o = orders_typed
    assert o.loc[~o["is_cancel"], "order_id"].str.fullmatch(r"\d+").all()
    assert (o.loc[~o["is_cancel"], "quantity"] > 0).all()
    assert (o.loc[o["is_cancel"], "quantity"] < 0).all()
    assert 0.005 < o["is_cancel"].mean() < 0.05
    guests = o["customer_id"] == ""
    assert 0.03 < guests.mean() < 0.2
    assert not (guests & o["is_cancel"]).any()
    # lines of one order share customer, timestamp and country
    assert (o.groupby("order_id")[["customer_id", "ordered_at", "country"]].nunique() == 1).all().all()
    # each cancelled line matches an earlier order line of the same customer
    placed = o[~o["is_cancel"]]
    cancels = o[o["is_cancel"]]
    m = cancels.merge(placed, on=["customer_id", "product", "cents"], suffixes=("", "_orig"))
    m = m[(m["ts_orig"] < m["ts"]) & (m["quantity_orig"] >= -m["quantity"])]
    assert m.drop_duplicates(["order_id", "product"]).shape[0] == cancels.drop_duplicates(
        ["order_id", "product"]).shape[0]
    # product catalogue with skewed (Zipf) popularity
    counts = o["product"].value_counts()
    assert 100 <= len(counts) <= 500
    assert counts.iloc[: len(counts) // 10].sum() > 0.4 * counts.sum()
    assert (o["ts"] >= "2024-01-01").all() and (o["ts"] < "2025-12-31").all()


# --- seasonality and economics ------------------------------------------------------------

def _weekday_effect(daily: pd.Series) -> tuple[float, float]:
    """(weekend - weekday) mean of detrended daily values and its standard error."""
    ratio = daily / daily.rolling(7, center=True).mean()
    ratio = ratio.dropna()
    weekend = ratio.index.day_of_week >= 5
    a, b = ratio[weekend], ratio[~weekend]
    return a.mean() - b.mean(), float(np.sqrt(a.var() / len(a) + b.var() / len(b)))


def test_campaign_revenue_seasonality(campaigns_typed: pd.DataFrame) -> None:
    daily = campaigns_typed.groupby("date")["revenue"].sum()
    diff, se = _weekday_effect(daily)
    assert diff < -5 * se, (diff, se)
    # yearly: per-campaign normalised revenue, so the campaign mix does not matter
    c = campaigns_typed
    c = c.assign(rel=c["revenue"] / c.groupby("campaign_name")["revenue"].transform("mean"))
    rel = c[c.groupby("campaign_name")["date"].transform("size") > 300]
    by_month = rel.groupby(rel["date"].dt.month)["rel"].mean()
    assert by_month.loc[[11, 12]].mean() > 1.1 * by_month.mean()
    assert by_month.loc[[7, 8]].mean() < by_month.mean()


def test_order_seasonality(orders_typed: pd.DataFrame) -> None:
    invoices = orders_typed[~orders_typed["is_cancel"]].drop_duplicates("order_id")
    daily = invoices.groupby(invoices["ts"].dt.normalize()).size()
    daily = daily.reindex(pd.date_range("2024-01-01", "2025-12-30"), fill_value=0)
    diff, se = _weekday_effect(daily.astype(float))
    assert diff < -5 * se, (diff, se)
    q4 = daily[daily.index.quarter == 4].mean()
    assert q4 > 1.1 * daily.mean()
    assert daily[daily.index.month.isin([7, 8])].mean() < daily.mean()
    assert daily["2025"].sum() > daily["2024"].sum()  # growth
    hours = invoices["ts"].dt.hour.value_counts(normalize=True)
    assert hours.reindex(range(2, 6)).sum() * 4 < hours.reindex(range(19, 22)).sum()


def test_campaign_economics(campaigns_typed: pd.DataFrame) -> None:
    c = campaigns_typed
    assert (c["cost"] == 0).any() and (c["clicks"] == 0).any()
    assert (c["conversions"] <= c["clicks"]).all()
    per = c.groupby("campaign_name")[["cost", "revenue"]].sum()
    paid = per[per["cost"] > 0]
    roi = (paid["revenue"] - paid["cost"]) / paid["cost"]
    assert (roi < 0).any() and (roi > 1).any()
    # money has at most 2 decimals; one raw channel per campaign
    assert c.groupby("campaign_name")["channel"].nunique().max() == 1
    days = c.groupby("campaign_name")["date"].agg(["min", "max", "size"])
    assert (days["size"] == (days["max"] - days["min"]).dt.days + 1).all()  # contiguous window
    assert (days["size"] == 730).any() and (days["size"] < 730).any()


def test_channels_are_contract_raw_names(valid: dict[str, pd.DataFrame], landing: Path) -> None:
    contract = contract_channels()
    assert len(set(contract.values())) == 10
    used = set(valid["campaign_performance"]["channel"])
    assert used <= set(contract)
    assert {contract[u] for u in used} == set(contract.values())  # all canonical channels
    assert set(valid["customers"]["acquisition_channel"]) <= used
    from orchestration.demo.channels import RAW_TO_CANONICAL
    assert RAW_TO_CANONICAL == contract


def test_money_has_two_decimals(landing: Path) -> None:
    header, rows = read_rows(landing / FILES["campaign_performance"])
    cost = [r[header.index("cost")] for r in rows[:200]]
    assert all(re.fullmatch(r"\d+\.\d\d", v) for v in cost)


# --- ground-truth segments ----------------------------------------------------------------

def _features(valid: dict[str, pd.DataFrame], orders_typed: pd.DataFrame,
              landing: Path) -> tuple[np.ndarray, np.ndarray]:
    c = valid["customers"].set_index("customer_id")
    placed = orders_typed[(orders_typed["customer_id"] != "") & ~orders_typed["is_cancel"]]
    last = placed.groupby("customer_id")["ts"].max().reindex(c.index)
    recency = (pd.Timestamp("2025-12-31") - last).dt.total_seconds() / 86_400
    x = np.column_stack([
        np.log1p(recency), np.log(c["transactions"].astype(float)),
        np.log1p(c["revenue"].astype(float)), np.log(c["sessions"].astype(float)),
        np.log(c["pages_per_session"].astype(float)),
        np.log(c["avg_session_duration"].astype(float)), c["age"].astype(float),
    ])
    seg = pd.read_csv(landing / "_ground_truth" / "customer_segments.csv").set_index("customer_id")
    return x, seg["segment"].reindex(c.index).to_numpy()


def _kmeans(x: np.ndarray, k: int, rng: np.random.Generator, n_init: int = 8) -> np.ndarray:
    best: tuple[float, np.ndarray] | None = None
    for _ in range(n_init):
        centres = [x[rng.integers(len(x))]]
        for _ in range(k - 1):  # k-means++
            d2 = np.min(((x[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
            centres.append(x[rng.choice(len(x), p=d2 / d2.sum())])
        c = np.array(centres)
        for _ in range(100):
            labels = np.argmin(((x[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
            new = np.array([x[labels == j].mean(0) if (labels == j).any() else c[j] for j in range(k)])
            if np.allclose(new, c):
                break
            c = new
        inertia = float(((x - c[labels]) ** 2).sum())
        if best is None or inertia < best[0]:
            best = (inertia, labels)
    assert best is not None
    return best[1]


def _adjusted_rand(a: np.ndarray, b: np.ndarray) -> float:
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(table, (ai, bi), 1)

    def pairs(v: np.ndarray) -> float:
        return float((v * (v - 1) / 2).sum())

    index, rows, cols = pairs(table), pairs(table.sum(1)), pairs(table.sum(0))
    expected = rows * cols / pairs(np.array([table.sum()]))
    return (index - expected) / ((rows + cols) / 2 - expected)


def test_segments_are_distinct_and_ordered(valid: dict[str, pd.DataFrame],
                                           orders_typed: pd.DataFrame, landing: Path) -> None:
    x, seg = _features(valid, orders_typed, landing)
    df = pd.DataFrame({"recency": x[:, 0], "frequency": x[:, 1], "monetary": x[:, 2], "seg": seg})
    med = df.groupby("seg").median()
    assert set(med.index) == set(SEGMENT_ORDER)
    m = med.loc[SEGMENT_ORDER]
    gaps = -np.diff(m["monetary"].to_numpy())  # log monetary: strictly decreasing, well apart
    assert (gaps > 0.3).all(), m
    assert (-np.diff(m["frequency"].to_numpy()) > 0).all(), m
    assert m.loc["one_time_buyers", "frequency"] == 0.0
    assert m.loc["dormant_lapsed", "recency"] > m.loc["bargain_occasionals", "recency"] + 1.0
    assert m.loc["champions", "recency"] < m.loc["loyal_regulars", "recency"]


def test_kmeans_recovers_segments(valid: dict[str, pd.DataFrame],
                                  orders_typed: pd.DataFrame, landing: Path) -> None:
    x, seg = _features(valid, orders_typed, landing)
    q1, median, q3 = np.percentile(x, [25, 50, 75], axis=0)
    scaled = (x - median) / (q3 - q1)
    labels = _kmeans(scaled, 5, np.random.default_rng(0))
    assert _adjusted_rand(labels, seg) >= 0.9


# --- cohort retention -----------------------------------------------------------------------

def _month_one_retention(orders_typed: pd.DataFrame, window_end: pd.Timestamp) -> pd.Series:
    """Per first-purchase month: share of the cohort with a purchase in the next calendar
    month, for cohorts whose next month lies wholly inside the window (placed orders of
    registered customers; cancellations are not purchases)."""
    o = orders_typed[(orders_typed["customer_id"] != "") & ~orders_typed["is_cancel"]]
    month = o["ts"].dt.to_period("M")
    cohort = month.groupby(o["customer_id"]).transform("min")
    size = cohort.groupby(o["customer_id"]).first().value_counts()
    next_month = o.loc[month == cohort + 1, "customer_id"].unique()
    repeat = cohort.groupby(o["customer_id"]).first().loc[next_month].value_counts()
    retention = (repeat.reindex(size.index, fill_value=0) / size).sort_index()
    last_full = (window_end + pd.Timedelta(days=1)).to_period("M") - 1
    return retention[retention.index + 1 <= last_full]


def test_recent_cohorts_buy_again(orders_typed: pd.DataFrame) -> None:
    """Every cohort's month-1 repeat rate is within a factor 2 of the median cohort's: the
    customers acquired in the last months of the window buy again like earlier ones."""
    retention = _month_one_retention(orders_typed, pd.Timestamp("2025-12-30"))
    assert retention.index.min() == pd.Period("2024-01", "M")
    assert retention.index.max() == pd.Period("2025-10", "M")  # December is one day short
    median = retention.median()
    assert 0.1 < median < 0.7, retention
    outside = retention[(retention < median / 2) | (retention > median * 2)]
    assert outside.empty, f"median {median:.3f}; outside the band: {outside.round(3).to_dict()}"
