"""Customer marts on the real UCI Online Retail II file, checked against pandas.

The 2009-2010 file goes through the normal loader (spec ``online_retail_ii``) into
raw.orders; raw.customers and raw.campaign_performance exist but are empty (the UCI
data has neither). ``dbt build`` then builds the customer marts and everything they
depend on, with their data and unit tests. The marts are compared with an independent
pandas computation on the same CSV that applies the documented rules:

* the loader rejects the 3 negative-price "Adjust bad debt" lines, so pandas drops them;
* an order is an invoice; a ``C`` invoice is a cancellation (never a purchase, its
  negative amount reduces net revenue); a non-``C`` invoice whose lines all have a
  negative quantity is a stock adjustment; every other invoice is a purchase;
* customer marts cover customers (non-empty Customer ID) with at least one purchase;
* cohort = calendar month of the first purchase; active in month k = a purchase in
  calendar month cohort + k; a cancellation before the first purchase counts in month 0;
* reference date = the day after the last order date of the file.

A small second order file of guest lines (spec ``orders``) is loaded with it; the last
test re-delivers that file changed and checks that the incremental
int_order_lines_classified then matches raw.orders line for line (the superseded
version's lines deleted, the new ones added) without rewriting the retail rows.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from orchestration import settings
from orchestration.klaviyo.store import ensure_schema as ensure_klaviyo_schema
from orchestration.ingest import load_file, load_specs
from orchestration.ingest.schema import ensure_schema
from tests.dbt_cli import dbt_test_env, run_dbt

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = REPO_ROOT / ".venv" / "bin"
RETAIL = "online_retail_ii/online_retail_ii_2009_2010.csv.gz"
SELECTION = ["--select", "+path:dbt_project/models/marts/customers", "--indirect-selection", "cautious"]
UNITS = 10_000  # numeric(18,4): money in units of 0.0001, exact integers in pandas
# A small second order file (spec `orders`): guest lines, so the customer marts don't
# change. Version 1 is built with the retail file; version 2 re-delivers it changed.
LATE_ORDERS = "orders/late_orders.csv"
LATE_V1 = [("LATE1", "2010-12-09 21:00:00", "2", "5.00"), ("LATE1", "2010-12-09 21:00:00", "1", "3.50")]
LATE_V2 = [("LATE2", "2010-12-09 22:00:00", "1", "1.25")] * 3

pytestmark = pytest.mark.slow


def _dbt(args: list[str], dsn: str, work: Path) -> subprocess.CompletedProcess[str]:
    return run_dbt(args, dbt_test_env(settings.dbt_env(dsn)), work)


def _write_late_orders(path: Path, lines: list[tuple[str, str, str, str]]) -> None:
    rows = [f"{order_id},,{ordered_at},{quantity},{price}" for order_id, ordered_at, quantity, price in lines]
    path.write_text("\n".join(["order_id,customer_id,ordered_at,quantity,unit_price", *rows]) + "\n")


def _money(value: str) -> int:
    return int(Decimal(value) * UNITS)


def _units(value: Decimal | None) -> int | None:
    return None if value is None else int(value * UNITS)


def _six(numerator: int | Decimal, denominator: int) -> Decimal:
    """numeric(28,6) of numerator / denominator (Postgres rounds half away from zero)."""
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def _month_index(ts: pd.Series) -> pd.Series:
    return ts.dt.year * 12 + ts.dt.month


def _month_start(index: int) -> pd.Timestamp:
    return pd.Timestamp(year=(index - 1) // 12, month=(index - 1) % 12 + 1, day=1)


def _ntile_of_position(position: int, rows: int, bins: int) -> int:
    """Postgres ntile(bins) of the row at 1-based ``position`` among ``rows``."""
    size, extra = divmod(rows, bins)
    if position <= extra * (size + 1):
        return (position - 1) // (size + 1) + 1
    return extra + (position - extra * (size + 1) - 1) // size + 1


def _tied_scores(values: pd.Series, bins: int = 5) -> pd.Series:
    """Score = ntile of the first row of the value's tie group (values: higher is better)."""
    first_position = values.rank(method="min").astype(int)
    return first_position.map(lambda p: _ntile_of_position(p, len(values), bins))


@pytest.fixture(scope="module")
def expected(shared_data: Path) -> dict[str, object]:
    """The marts' numbers computed in pandas straight from the CSV."""
    df = pd.read_csv(shared_data / RETAIL, dtype=str, keep_default_na=False)
    df = df[df["Price"].map(Decimal) >= 0]  # the loader rejects negative prices
    late = pd.DataFrame(LATE_V1, columns=["Invoice", "InvoiceDate", "Quantity", "Price"]).assign(**{"Customer ID": ""})
    df = pd.concat([df, late], ignore_index=True).fillna("")
    df["quantity"] = df["Quantity"].astype(int)
    df["amount"] = df["quantity"] * df["Price"].map(_money)
    df["ts"] = pd.to_datetime(df["InvoiceDate"])
    df["customer"] = df["Customer ID"].str.strip()

    orders = df.groupby("Invoice").agg(
        customer=("customer", "max"),
        ts=("ts", "min"),
        amount=("amount", "sum"),
        max_quantity=("quantity", "max"),
        lines=("quantity", "size"),
    )
    cancel = orders.index.str.startswith("C")
    orders["type"] = "purchase"
    orders.loc[(orders["max_quantity"] < 0) & ~cancel, "type"] = "stock_adjustment"  # every line negative
    orders.loc[cancel, "type"] = "cancellation"
    last_day = df["ts"].max().normalize()
    reference = last_day + pd.Timedelta(days=1)
    last_month = int(_month_index(pd.Series([last_day])).iloc[0])

    known = orders[orders["customer"] != ""].copy()
    purchases = known[known["type"] == "purchase"]
    first = purchases.groupby("customer")["ts"].min().rename("first_ts")
    known = known.join(first, on="customer", how="inner")  # customers with a purchase
    known["cohort"] = _month_index(known["first_ts"])
    known["k"] = (_month_index(known["ts"]) - known["cohort"]).clip(lower=0)
    purchases = known[known["type"] == "purchase"]

    customers = pd.DataFrame({
        "first_ts": first,
        "last_date": purchases.groupby("customer")["ts"].max().dt.normalize(),
        "frequency": purchases.groupby("customer").size(),
        "gross": purchases.groupby("customer")["amount"].sum(),
        "net": known.groupby("customer")["amount"].sum(),
        "cancellations": known[known["type"] == "cancellation"].groupby("customer").size(),
    })
    customers["cancellations"] = customers["cancellations"].fillna(0).astype(int)
    customers["cohort"] = _month_index(customers["first_ts"])
    customers["recency"] = (reference - customers["last_date"]).dt.days
    customers["r"] = _tied_scores(-customers["recency"])
    customers["f"] = _tied_scores(customers["frequency"])
    customers["m"] = _tied_scores(customers["net"])
    segment_map = pd.read_csv(REPO_ROOT / "seeds" / "rfm_segment_map.csv")
    cells = {
        (r, f): row.segment
        for row in segment_map.itertuples()
        for r in range(row.r_score_min, row.r_score_max + 1)
        for f in range(row.f_score_min, row.f_score_max + 1)
    }
    assert len(cells) == 25
    customers["segment"] = [cells[(r, f)] for r, f in zip(customers["r"], customers["f"], strict=True)]

    sizes = customers.groupby("cohort").size()
    active = purchases.groupby(["cohort", "k"])["customer"].nunique()
    revenue = known.groupby(["cohort", "k"])["amount"].sum()
    matrix = {}
    for cohort, size in sizes.items():
        cumulative = 0
        for k in range(last_month - cohort + 1):
            cumulative += int(revenue.get((cohort, k), 0))
            matrix[(_month_start(cohort).date(), k)] = (
                int(size), int(active.get((cohort, k), 0)), int(revenue.get((cohort, k), 0)), cumulative
            )
    return {
        "orders": orders, "customers": customers, "matrix": matrix, "sizes": sizes,
        "reference": reference.date(), "last_month": last_month, "lines": len(df),
    }


@pytest.fixture(scope="module")
def built(module_db: str, shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Path]:
    """The retail file (and late_orders.csv v1) loaded by the normal loader, then dbt build. (dsn, landing, work)"""
    work = tmp_path_factory.mktemp("customer_marts")
    landing = work / "landing"
    (landing / "orders").mkdir(parents=True)
    source = shared_data / RETAIL
    shutil.copy(source, landing / "orders" / source.name)
    specs = load_specs()
    with psycopg.connect(module_db, autocommit=True) as conn:
        ensure_schema(conn, specs.values())  # empty raw.customers and raw.campaign_performance
        ensure_klaviyo_schema(conn)  # and empty klaviyo_raw tables: no Klaviyo account here
    result = load_file(module_db, landing / "orders" / source.name, specs["online_retail_ii"], landing,
                       progress=False)
    assert (result.status, result.rows_rejected) == ("loaded", 3)
    _write_late_orders(landing / LATE_ORDERS, LATE_V1)
    assert load_file(module_db, landing / LATE_ORDERS, specs["orders"], landing, progress=False).status == "loaded"

    build = _dbt(["build", *SELECTION], module_db, work)
    assert build.returncode == 0, build.stdout[-6000:] + build.stderr[-2000:]
    run_results = json.loads((work / "target" / "run_results.json").read_text())
    statuses = {r["unique_id"]: r["status"] for r in run_results["results"]}
    for name in ("fct_orders", "dim_customers", "fct_customer_cohorts", "fct_customer_rfm",
                 "fct_channel_unit_economics"):
        assert statuses[f"model.marketing_warehouse.{name}"] == "success", name
    unit_tests = [uid for uid in statuses if uid.startswith("unit_test.")]
    assert len(unit_tests) >= 9 and all(statuses[uid] == "pass" for uid in unit_tests)
    return module_db, landing, work


def _query(dsn: str, sql: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


def test_fct_orders_match_pandas(built, expected) -> None:
    dsn, _, _ = built
    orders = expected["orders"]
    got = {
        order_id: rest
        for order_id, *rest in _query(
            dsn, "select order_id, customer_id, order_type, line_count, net_revenue, gross_revenue,"
                 " cancelled_revenue, ordered_at from marts.fct_orders"
        )
    }
    assert len(got) == len(orders)
    assert {t: sum(1 for r in got.values() if r[1] == t) for t in ("purchase", "cancellation", "stock_adjustment")} \
        == orders["type"].value_counts().to_dict()
    for order_id, row in orders.iterrows():
        customer_id, order_type, line_count, net, gross, cancelled, ordered_at = got[order_id]
        assert (customer_id or "", order_type, line_count) == (row["customer"], row["type"], row["lines"]), order_id
        assert _units(net) == row["amount"], order_id
        assert _units(gross) - _units(cancelled) == row["amount"], order_id
        assert pd.Timestamp(ordered_at) == row["ts"], order_id
    # net sales: every loaded line once, cancellations negative
    assert sum(_units(r[3]) for r in got.values()) == int(orders["amount"].sum())


def test_dim_customers_match_pandas(built, expected) -> None:
    dsn, _, _ = built
    customers = expected["customers"]
    rows = _query(
        dsn, "select customer_id, first_order_at, last_order_date, cohort_month, order_count,"
             " cancellation_count, gross_revenue, net_revenue, days_since_last_order, acquisition_channel,"
             " is_in_crm from marts.dim_customers"
    )
    assert len(rows) == len(customers) == 4_314
    last_day = expected["reference"] - pd.Timedelta(days=1).to_pytimedelta()
    for customer_id, first_at, last_date, cohort, orders, cancels, gross, net, days, channel, in_crm in rows:
        row = customers.loc[customer_id]
        assert pd.Timestamp(first_at) == row["first_ts"], customer_id
        assert pd.Timestamp(last_date) == row["last_date"], customer_id
        assert cohort == _month_start(row["cohort"]).date(), customer_id
        assert (orders, cancels) == (row["frequency"], row["cancellations"]), customer_id
        assert (_units(gross), _units(net)) == (row["gross"], row["net"]), customer_id
        assert days == (last_day - last_date).days, customer_id
        assert (channel, in_crm) == ("unknown", False)  # the UCI data has no customers file


def test_cohort_matrix_matches_pandas(built, expected) -> None:
    dsn, _, _ = built
    rows = _query(
        dsn, "select cohort_month, months_since_first_purchase, cohort_size, active_customers, revenue,"
             " cumulative_revenue, retention_rate, cumulative_revenue_per_customer, is_partial_month"
             " from marts.fct_customer_cohorts"
    )
    got = {(r[0], r[1]): r[2:] for r in rows}
    matrix = expected["matrix"]
    assert set(got) == set(matrix)  # the full matrix, zero-activity months included
    assert len(got) == 13 * 14 // 2  # Dec 2009 .. Dec 2010: 13 cohorts, a triangle
    for key, (size, active, revenue, cumulative) in matrix.items():
        g_size, g_active, g_revenue, g_cumulative, retention, ltv, partial = got[key]
        assert (g_size, g_active) == (size, active), key
        assert (_units(g_revenue), _units(g_cumulative)) == (revenue, cumulative), key
        assert retention == _six(active, size), key
        assert ltv == _six(Decimal(cumulative) / UNITS, size), key
        assert partial == (key[0] + pd.DateOffset(months=key[1]) == _month_start(expected["last_month"])), key
    sizes = expected["sizes"]
    assert sum(sizes) == 4_314 and sizes.index.min() == 2009 * 12 + 12
    december_2009 = {k: v for (c, k), v in matrix.items() if c == _month_start(2009 * 12 + 12).date()}
    assert december_2009[0][0] == december_2009[0][1]  # month 0: every member active


def test_rfm_matches_pandas(built, expected) -> None:
    dsn, _, _ = built
    customers = expected["customers"]
    rows = _query(
        dsn, "select customer_id, reference_date, recency_days, frequency, monetary, r_score, f_score, m_score,"
             " rfm_score, segment from marts.fct_customer_rfm"
    )
    assert len(rows) == len(customers)
    for customer_id, reference, recency, frequency, monetary, r, f, m, rfm, segment in rows:
        row = customers.loc[customer_id]
        assert reference == expected["reference"]
        assert (recency, frequency, _units(monetary)) == (row["recency"], row["frequency"], row["net"]), customer_id
        assert (r, f, m) == (row["r"], row["f"], row["m"]), customer_id
        assert rfm == f"{r}{f}{m}" and segment == row["segment"], customer_id
    scores = pd.DataFrame(rows, columns=["c", "ref", "rec", "freq", "mon", "r", "f", "m", "rfm", "seg"])
    # equal values never get different scores
    for value, score in (("rec", "r"), ("freq", "f"), ("mon", "m")):
        assert (scores.groupby(value)[score].nunique() == 1).all(), value
    assert scores.loc[scores["freq"] == 1, "f"].eq(1).all()  # one-order customers: the lowest score
    assert set(scores["seg"]) <= set(pd.read_csv(REPO_ROOT / "seeds" / "rfm_segment_map.csv")["segment"])


def test_unit_economics_without_customer_or_spend_data(built, expected) -> None:
    dsn, _, _ = built
    rows = _query(
        dsn, "select acquisition_channel, cohort_month, new_customers, spend, cac, ltv_3m, ltv_12m, ltv_to_date,"
             " payback_month, cohort_age_months from marts.fct_channel_unit_economics"
    )
    matrix, sizes = expected["matrix"], expected["sizes"]
    assert {r[0] for r in rows} == {"unknown"}
    assert {r[1]: r[2] for r in rows} == {_month_start(c).date(): int(n) for c, n in sizes.items()}
    for _channel, cohort, new, spend, cac, ltv_3m, ltv_12m, ltv_to_date, payback, age in rows:
        assert (spend, cac, payback) == (0, 0, None)
        assert age == max(k for (c, k) in matrix if c == cohort)
        if age >= 3:
            assert ltv_3m == _six(Decimal(matrix[(cohort, 3)][3]) / UNITS, new)
        else:
            assert ltv_3m is None
        assert (ltv_12m is None) == (age < 12)
        assert ltv_to_date == _six(Decimal(matrix[(cohort, age)][3]) / UNITS, new)


def test_incremental_order_lines_follow_raw(built, expected) -> None:
    """A re-delivered file replaces its predecessor's lines; the other rows stay untouched."""
    dsn, landing, work = built
    retail_rows = (
        "select count(*), min(xmin::text::bigint), max(xmin::text::bigint)"
        " from intermediate.int_order_lines_classified where _file_id = (select min(_file_id) from raw.orders)"
    )
    before = _query(dsn, retail_rows)[0]
    assert before[0] == expected["lines"] - len(LATE_V1)

    _write_late_orders(landing / LATE_ORDERS, LATE_V2)  # same path, new content: supersedes version 1
    assert load_file(dsn, landing / LATE_ORDERS, load_specs()["orders"], landing, progress=False).status == "loaded"
    run = _dbt(["run", "--select", "int_order_lines_classified"], dsn, work)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-1000:]

    raw_keys = set(_query(dsn, "select _file_id, _line_number from raw.orders"))
    int_keys = _query(dsn, "select _file_id, _line_number from intermediate.int_order_lines_classified")
    assert len(int_keys) == len(raw_keys) == before[0] + len(LATE_V2) and set(int_keys) == raw_keys
    late = _query(dsn, "select order_id, count(*) from intermediate.int_order_lines_classified"
                       " where order_id like 'LATE%' group by order_id")
    assert late == [("LATE2", len(LATE_V2))]  # version 1's lines are gone
    assert _query(dsn, retail_rows)[0] == before  # the retail rows were not rewritten
