"""Orders from the shop export and from Klaviyo in one fct_orders, each order once.

Demo files are generated and loaded by the normal loader; a Klaviyo account mirroring
half of their customers (profiles with ``external_id`` = customer_id, their orders as
"Placed Order"/"Cancelled Order" events with ``$event_id`` = order id) is served by the
local Klaviyo-compatible server and synced over real HTTP. Planted on top, orders only
Klaviyo knows of: a purchase and its cancellation by a known customer, and a purchase by
a profile without ``external_id`` (its key: the hashed email). ``dbt build`` of the
customer marts must then hold every CSV order once from the export, exactly the planted
orders from Klaviyo, and the customers' revenue with both.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import uuid
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from orchestration import settings
from orchestration.demo import DemoConfig, generate, read_demo_config
from orchestration.ingest.loader import load_landing
from orchestration.klaviyo.config import AccountConfig
from orchestration.klaviyo.fake import FakeAccount, FakeAccountConfig, ThreadedServer, create_app
from orchestration.klaviyo.streams import STREAMS
from orchestration.klaviyo.sync import sync_accounts
from tests.dbt_cli import dbt_test_env, run_dbt

CONFIG = DemoConfig(seed=5, customers=300, days=60, campaigns=6, orders_target=3_000, errors_per_reason=0)
SELECTION = ["--select", "+path:dbt_project/models/marts/customers", "--indirect-selection", "cautious"]
GUEST_EMAIL = "Jo.Guest@Example.net"
# the customer key of a profile without external_id: its email hashed (trimmed, lower-case)
GUEST_KEY = "email:" + hashlib.sha256(GUEST_EMAIL.strip().lower().encode()).hexdigest()
CENT = Decimal("0.01")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(module_db: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Demo files loaded, the mirroring Klaviyo account (+ planted orders) synced, dbt built."""
    work = tmp_path_factory.mktemp("orders_across_sources")
    landing = work / "landing"
    generate(landing, CONFIG)
    account = FakeAccount(FakeAccountConfig.mirroring(read_demo_config(landing), profile_share=0.5,
                                                      account_id="shop"))
    names = {m.id: m.name for m in account.metrics.values()}
    mirrored = {e.properties["$event_id"] for e in account.events
                if names[e.metric_id] in ("Placed Order", "Cancelled Order")}

    at = datetime.combine(CONFIG.end, time(12), tzinfo=timezone.utc)
    known = min(account.profiles.values(), key=lambda p: p.customer_id)
    account.add_order(known.id, 123.45, at, order_id="K0000001")
    account.add_event("Cancelled Order", known.id, at + timedelta(hours=2),
                      {"$value": 23.45, "$event_id": "K0000001", "Item Count": 1})
    guest = account.add_profile("", at - timedelta(days=3))
    account.touch_profile(guest.id, at - timedelta(days=3), email=GUEST_EMAIL)
    account.add_order(guest.id, 50.0, at + timedelta(hours=1), order_id="K0000002")

    key = "pk_orders_" + uuid.uuid4().hex
    with ThreadedServer(create_app({key: account})) as server:
        sync_accounts(module_db, [AccountConfig("shop", key, base_url=server.base_url)],
                      now=datetime.combine(CONFIG.end + timedelta(days=2), time.min, tzinfo=timezone.utc))
    results = load_landing(module_db, landing, progress=False)
    assert all(r.ok for r in results) and {r.rows_rejected for r in results} == {0}

    build = run_dbt(["build", *SELECTION], dbt_test_env(settings.dbt_env(module_db)), work)
    assert build.returncode == 0, build.stdout[-6000:] + build.stderr[-2000:]
    return {"dsn": module_db, "landing": landing, "known": known.customer_id, "mirrored": mirrored}


@pytest.fixture(scope="module")
def csv_orders(built: dict) -> pd.DataFrame:
    """Per order of the CSV file: customer and net amount (exact cents)."""
    with gzip.open(built["landing"] / "orders/orders.csv.gz", "rt") as fh:
        lines = pd.read_csv(fh, dtype=str, keep_default_na=False)
    lines["amount"] = [int(q) * Decimal(p) for q, p in zip(lines["quantity"], lines["unit_price"])]
    return lines.groupby("order_id").agg(customer=("customer_id", "max"), amount=("amount", "sum"))


def _rows(dsn: str, sql: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


def test_every_csv_order_once_and_only_klaviyos_own_orders_added(built: dict, csv_orders: pd.DataFrame) -> None:
    orders = {r[0]: r[1:] for r in _rows(
        built["dsn"], "select order_id, order_source, customer_id, order_type, net_revenue, line_count"
                      " from marts.fct_orders")}
    # the synced account really carried the CSV's orders: more than a third of them
    assert built["mirrored"] <= set(csv_orders.index)
    assert len(built["mirrored"]) > len(csv_orders) / 3
    shop = {order_id for order_id, row in orders.items() if row[0] == "shop"}
    assert shop == set(csv_orders.index)
    assert all(orders[o][1] == (csv_orders.at[o, "customer"] or None) for o in shop)
    assert all(orders[o][3] == csv_orders.at[o, "amount"] for o in shop)

    klaviyo = {order_id: row[1:] for order_id, row in orders.items() if row[0] == "klaviyo"}
    assert klaviyo == {
        "K0000001": (built["known"], "purchase", Decimal("123.45"), None),
        "CK0000001": (built["known"], "cancellation", Decimal("-23.45"), None),
        "K0000002": (GUEST_KEY, "purchase", Decimal("50.00"), None),
    }
    total = _rows(built["dsn"], "select sum(net_revenue) from marts.fct_orders")[0][0]
    assert total == sum(csv_orders["amount"]) + Decimal("150.00")


def test_customers_count_both_sources(built: dict, csv_orders: pd.DataFrame) -> None:
    dsn, known = built["dsn"], built["known"]
    customers = {r[0]: r[1:] for r in _rows(
        dsn, "select customer_id, order_count, net_revenue, is_in_crm from marts.dim_customers")}
    own = csv_orders[csv_orders["customer"] == known]
    purchases = sum(1 for o in own.index if not o.startswith("C"))
    assert customers[known] == (purchases + 1, own["amount"].sum() + Decimal("100.00"), True)
    assert customers[GUEST_KEY] == (1, Decimal("50.00"), False)
    # the customer marts agree with each other on the combined orders (dbt test, re-checked here)
    rfm = dict(_rows(dsn, "select customer_id, frequency from marts.fct_customer_rfm"))
    assert rfm[known] == purchases + 1 and rfm[GUEST_KEY] == 1
    run_results = json.loads((Path(built["landing"]).parent / "target" / "run_results.json").read_text())
    reconcile = [r for r in run_results["results"] if "assert_customer_marts_reconcile" in r["unique_id"]]
    assert reconcile and reconcile[0]["status"] == "pass"


def test_demo_sync_replaces_stale_demo_accounts_and_adds_no_order_twice(built: dict) -> None:
    """The demo Klaviyo asset syncs an account of its own (``demo-<fingerprint>``) holding the
    same CSV orders: fct_orders gains nothing. A demo account made from other demo files (here
    the old plain ``demo``) is removed from raw, and staging follows."""
    import dagster as dg

    from orchestration.assets.klaviyo import KlaviyoResource, klaviyo_streams
    from orchestration.resources import WarehouseResource

    dsn, env, work = built["dsn"], dbt_test_env(settings.dbt_env(built["dsn"])), built["landing"].parent
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in [stream.name for stream in STREAMS]:
            conn.execute(f"insert into klaviyo_raw.{table} (account_id, id, cursor_value, document, _sync_id)"
                         f" select 'demo', id, cursor_value, document, _sync_id from klaviyo_raw.{table}"
                         " where account_id = 'shop'")
        conn.execute("insert into klaviyo_raw._stream_state (account_id, stream, cursor_value)"
                     " select 'demo', stream, cursor_value from klaviyo_raw._stream_state where account_id = 'shop'")
    assert run_dbt(["run", "--select", "stg_klaviyo__events"], env, work).returncode == 0

    resource = KlaviyoResource(demo_profile_share=0.5)
    demo_account = resource.demo_account_id(built["landing"])
    result = dg.materialize([klaviyo_streams], resources={
        "warehouse": WarehouseResource(dsn=dsn, landing_dir=str(built["landing"])), "klaviyo": resource})
    assert result.success
    build = run_dbt(["build", *SELECTION], env, work)
    assert build.returncode == 0, build.stdout[-4000:]

    accounts = dict(_rows(dsn, "select account_id, count(*) from klaviyo_raw.events group by 1"))
    assert set(accounts) == {"shop", demo_account} and accounts[demo_account] > 0
    assert _rows(dsn, "select distinct account_id from staging.stg_klaviyo__events order by 1") == [
        (demo_account,), ("shop",)]
    klaviyo_orders = _rows(dsn, "select order_id from marts.fct_orders where order_source = 'klaviyo' order by 1")
    assert klaviyo_orders == [("CK0000001",), ("K0000001",), ("K0000002",)]
