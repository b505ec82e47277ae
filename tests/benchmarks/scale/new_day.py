""""Add a day": the files and Klaviyo events of the day after the demo data's last day.

* ``orders/orders_<day>.csv``: ~10,000 × SCALE order lines (≈ 3 lines per order) of existing
  customers (85 %), new customers (10 %, also in ``customers/customers_<day>.csv``) and
  guests (5 %), products and prices from the generator's catalogue, in the orders spec's
  columns (``ORDER_COLUMNS``), written with the generator's ``CsvSink``;
* ``campaign_performance/campaign_performance_<day>.csv``: the last day's campaign rows
  again, dated the new day, with the figures jittered ±20 %;
* ~15,000 × SCALE Klaviyo events dated that day (fast path, so their ``_loaded_at`` is
  newer than the full build): a new email campaign sent to profiles (received, opened,
  clicked …) and a "Placed Order" event (``$event_id`` = order id) for every new-day order
  of a customer who is a profile, with native attribution to the campaign's touches.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg

from orchestration.demo import DemoConfig
from orchestration.demo.config import CAMPAIGN_PATH
from orchestration.demo.csvio import CsvSink
from orchestration.demo.customers import CUSTOMER_COLUMNS
from orchestration.demo.orders import ORDER_COLUMNS
from orchestration.demo.pipeline import catalogue as demo_catalogue
from orchestration.klaviyo import store
from orchestration.klaviyo.fake.data import Campaign, Event, Touch
from tests.benchmarks.scale.klaviyo_fastpath import (
    ACCOUNT_ID, ChunkedAccount, collection_rows, copy_rows, event_rows,
)

LINES_PER_SCALE = 10_000
EVENTS_PER_SCALE = 15_000
LINES_PER_ORDER = 3
#: Events per campaign recipient (received + ~0.38 × 1.45 opens + clicks …), measured.
EVENTS_PER_RECIPIENT = 1.6
FIRST_ORDER_ID = 1_000_000_000


@dataclass(frozen=True)
class NewDay:
    """The day added and what was written for it."""

    day: date
    orders: pd.DataFrame  # the new order lines (ORDER_COLUMNS)
    order_ids: list[str]
    new_customers: int
    campaign_rows: int


def write_files(landing: Path, demo: DemoConfig, scale: float, seed: int = 7) -> NewDay:
    """Write the new day's orders, customers and campaign files under ``landing``."""
    day = demo.end + timedelta(days=1)
    rng = np.random.default_rng(seed)
    lines = max(30, round(LINES_PER_SCALE * scale))
    n_orders = max(10, lines // LINES_PER_ORDER)
    kind = rng.choice(3, size=n_orders, p=[0.85, 0.10, 0.05])  # existing, new, guest
    width = max(6, len(str(demo.customers + n_orders)))
    existing = rng.integers(1, demo.customers + 1, size=n_orders)
    new_ids = demo.customers + 1 + np.arange(n_orders)
    customer = np.where(kind == 0, [f"C{i:0{width}d}" for i in existing],
                        np.where(kind == 1, [f"C{i:0{width}d}" for i in new_ids], ""))
    seconds = np.sort(rng.integers(6 * 3600, 23 * 3600, size=n_orders))
    per_order = rng.multinomial(lines - n_orders, np.full(n_orders, 1 / n_orders)) + 1
    catalogue = demo_catalogue(demo)
    product = rng.choice(len(catalogue.codes), size=lines, p=catalogue.popularity)
    order_of_line = np.repeat(np.arange(n_orders), per_order)
    midnight = datetime.combine(day, time(0), timezone.utc)
    stamps = [(midnight + timedelta(seconds=int(s))).strftime("%Y-%m-%d %H:%M:%S") for s in seconds]
    order_ids = [str(FIRST_ORDER_ID + k) for k in range(n_orders)]
    orders = pd.DataFrame({
        "order_id": np.array(order_ids)[order_of_line],
        "customer_id": customer[order_of_line],
        "ordered_at": np.array(stamps)[order_of_line],
        "quantity": rng.integers(1, 6, size=lines),
        "unit_price": catalogue.price_cents[product] / 100.0,
        "product": catalogue.codes[product],
        "product_name": catalogue.names[product],
        "country": "United Kingdom",
    })[ORDER_COLUMNS]
    write_csv(landing / f"orders/orders_{day.isoformat()}.csv", orders)

    new = sorted(set(customer[kind == 1]))
    customers = pd.DataFrame({
        "customer_id": new, "age": rng.integers(18, 75, size=len(new)), "gender": "F",
        "country": "United Kingdom", "sessions": 1, "avg_session_duration": 120.0, "pages_per_session": 3.0,
        "transactions": 1, "revenue": 0.0, "signup_date": day.isoformat(), "acquisition_channel": "organic",
    })[CUSTOMER_COLUMNS]
    write_csv(landing / f"customers/customers_{day.isoformat()}.csv", customers)

    last = _last_day_campaigns(landing / CAMPAIGN_PATH, demo.end)
    jitter = rng.uniform(0.8, 1.2, size=len(last))
    last["date"] = day.isoformat()
    for column in ("cost", "conversions", "revenue"):
        last[column] = (last[column] * jitter).round(2)
    impressions = (last["impressions"] * jitter).round().astype("int64")
    last["clicks"] = np.minimum((last["clicks"] * jitter).round().astype("int64"), impressions)
    last["impressions"] = impressions
    write_csv(landing / f"campaign_performance/campaign_performance_{day.isoformat()}.csv", last)
    return NewDay(day, orders, order_ids, len(new), len(last))


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """``frame`` as a CSV file in the generator's format (no planted bad rows)."""
    with CsvSink(path, list(frame.columns), []) as sink:
        sink.write(frame)
        sink.close()


def _last_day_campaigns(path: Path, last: date) -> pd.DataFrame:
    """The valid campaign rows of day ``last`` (the file also holds planted bad rows: skipped)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, on_bad_lines="skip")
    frame = frame[frame["date"] == last.isoformat()].copy()
    for column in ("cost", "impressions", "clicks", "conversions", "revenue"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame = frame.dropna(subset=["cost", "impressions", "clicks", "conversions", "revenue"])
    frame = frame[(frame["cost"] >= 0) & (frame["clicks"] <= frame["impressions"]) & (frame["campaign_name"] != "")]
    return frame.drop_duplicates(subset=["campaign_name", "channel"], keep="last")


def write_events(conn: psycopg.Connection, account: ChunkedAccount, new_day: NewDay, scale: float,
                 sync_id: str = "bench-new-day") -> int:
    """Write the new day's Klaviyo campaign, its engagement events and the profiles' order
    events (fast path); returns the number of events written."""
    start = datetime.combine(new_day.day, time(0), timezone.utc).timestamp()
    end = start + 86_400
    rng = account.rng
    send = start + 10 * 3600
    camp = Campaign(id=account.ids.ulid("campaign", send - 3 * 86_400), name="EML_NewDay_All_999",
                    channel="email", status="Sent", archived=False, created_at=send - 3 * 86_400,
                    updated_at=send + 3600, scheduled_at=send, send_time=send, audience=[account.newsletter_list],
                    message_id=account.ids.ulid("campaign-message", send - 3 * 86_400), subject="New day news")
    account.campaigns[camp.id] = camp
    copy_rows(conn, "campaigns", ACCOUNT_ID, sync_id, collection_rows(account, "campaigns", [camp]))

    pending: list[Event] = []
    touches: dict[str, list[Touch]] = defaultdict(list)
    placed = _placed_orders(account, new_day)
    target = max(10, round(EVENTS_PER_SCALE * scale)) - len(placed)
    subscribed = [p for p in account.profiles.values() if p.email_subscribed and p.created < send]
    rng.shuffle(subscribed)
    for p in subscribed[: max(1, round(target / EVENTS_PER_RECIPIENT))]:
        props = {"Subject": camp.subject, "Campaign Name": camp.name, "$message": camp.message_id,
                 "Email Domain": "example.com", "$event_id": f"{camp.message_id}:{p.id}"}
        account._email_engagement(pending, touches, p, send + rng.randint(0, 1800), props, camp.message_id,
                                  camp.id, None, 0.38, 0.16)
    for pid, ts, order_id, value in placed:
        props = {"$value": value, "$event_id": order_id, "OrderId": order_id, "$currency_code": "USD",
                 "Items": ["NEW DAY ITEM"], "Item Count": 1}
        account._new_event(pending, "Placed Order", pid, ts, props)
    account._attribute(pending, touches)
    events = [e for e in pending if start <= e.ts < end]
    written = copy_rows(conn, "events", ACCOUNT_ID, sync_id, event_rows(account, events))
    store.put_state(conn, ACCOUNT_ID, "events", datetime.fromtimestamp(end, timezone.utc), None)
    return written


def _placed_orders(account: ChunkedAccount, new_day: NewDay) -> list[tuple[str, float, str, float]]:
    """(profile id, epoch, order id, value) of the new day's orders of profiles."""
    lines = new_day.orders[new_day.orders["customer_id"].isin(account.profile_by_customer.keys())]
    amount = lines["quantity"] * lines["unit_price"]
    grouped = lines.assign(amount=amount).groupby("order_id", sort=True).agg(
        customer_id=("customer_id", "first"), ordered_at=("ordered_at", "first"), value=("amount", "sum"))
    out = []
    for order_id, row in grouped.iterrows():
        ts = datetime.strptime(row.ordered_at, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
        out.append((account.profile_by_customer[row.customer_id], ts, str(order_id), round(float(row.value), 2)))
    return out
