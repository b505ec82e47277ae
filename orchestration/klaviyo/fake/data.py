"""A generated Klaviyo account, consistent with the CSV demo data (``orchestration.demo``).

The account is built from the same seeded pipeline as the demo files
(``orchestration.demo.mirror``: same code, same random streams), so for the same ``DemoConfig``:

* every demo customer ``C000001`` … is a profile with ``external_id = customer_id`` and
  email ``c000001@example.com``; its ``created`` is its signup day. With ``profile_share``
  below 1 only that share of the customers (a seeded random sample: the ones who gave
  the shop their email) are profiles, as in a real shop where Klaviyo holds subscribers;
* every registered demo order of a profile is a "Placed Order" event at ``ordered_at`` with
  ``$value`` = Σ quantity × unit_price of its lines and ``$event_id`` = ``order_id``;
  every cancellation (``C…``) is a "Cancelled Order" event (guest orders have no profile);
* email and SMS campaigns (some archived, one draft each), flows with flow messages, and
  Received/Opened/Clicked/Bounced/Unsubscribed/Marked-Spam email and
  Received/Clicked/Failed/Unsubscribed SMS events at realistic rates;
* native last-touch attribution (email open/click within 5 days, SMS click within 1 day)
  on part of the Placed Order events: ``$attributed_message``/``$attributed_flow``/
  ``$attributed_channel``/``$attributed_event_id`` properties and an ``attribution`` resource;
* :meth:`FakeAccount.campaign_values` computes campaign-values reports from these events.

Mutators (``add_order``, ``touch_profile``, ``add_profile``, ``touch_campaign``…) change
the account between syncs for incremental tests.
"""

from __future__ import annotations

import bisect
import hashlib
import random
import threading
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd

from orchestration.demo.channels import CAMPAIGN_GEOS, CAMPAIGN_THEMES
from orchestration.demo.config import DemoConfig
from orchestration.demo.mirror import DemoCustomers, demo_customers_and_orders

UTC = timezone.utc
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
EMAIL_WINDOW = 5 * 86_400
SMS_WINDOW = 1 * 86_400

FIRST_NAMES = ("Olivia", "Noah", "Amelia", "Leo", "Isla", "Oscar", "Ava", "Arthur", "Mia", "Harry",
               "Ivy", "Jack", "Lily", "George", "Freya", "Theo", "Emily", "Finn", "Sophie", "Lucas")
LAST_NAMES = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Müller",
              "Martin", "Dubois", "Jansen", "Murphy", "García", "Rossi", "Peeters", "Nilsen", "Kowalski")

#: Metric name → integration (Klaviyo's own for messaging, the shop's for orders).
KLAVIYO_INTEGRATION = {"object": "integration", "id": "0rG4eQ", "key": "klaviyo", "name": "Klaviyo",
                       "category": "Internal"}
SHOP_INTEGRATION = {"object": "integration", "id": "0eMvjm", "key": "shopify", "name": "Shopify",
                    "category": "eCommerce"}
METRIC_NAMES = (
    ("Placed Order", SHOP_INTEGRATION), ("Cancelled Order", SHOP_INTEGRATION),
    ("Received Email", KLAVIYO_INTEGRATION), ("Opened Email", KLAVIYO_INTEGRATION),
    ("Clicked Email", KLAVIYO_INTEGRATION), ("Bounced Email", KLAVIYO_INTEGRATION),
    ("Unsubscribed", KLAVIYO_INTEGRATION), ("Marked Email as Spam", KLAVIYO_INTEGRATION),
    ("Received SMS", KLAVIYO_INTEGRATION), ("Clicked SMS", KLAVIYO_INTEGRATION),
    ("Failed to Deliver SMS", KLAVIYO_INTEGRATION), ("Unsubscribed from SMS", KLAVIYO_INTEGRATION),
)
LIST_NAMES = ("Newsletter", "SMS Subscribers", "VIP Customers", "Winback Audience", "Product Launch Waitlist",
              "Black Friday Early Access", "Wholesale Leads", "Giveaway Entrants", "Back in Stock",
              "Quiz Takers", "Event Invitees", "Preference Centre")


@dataclass(frozen=True)
class FakeAccountConfig:
    """Size and seed of a generated account (defaults: a small test account).

    ``start`` defaults to ``days`` days before yesterday (UTC), so the data ends yesterday;
    pass the demo's ``--start`` to line up with generated CSV files.
    """

    seed: int = 42
    customers: int = 300
    days: int = 60
    start: date | None = None
    demo_campaigns: int = 10
    orders_target: int | None = None
    email_campaigns: int = 6
    sms_campaigns: int = 2
    lists: int = 12
    email_subscribed: float = 0.75
    sms_subscribed: float = 0.30
    account_id: str = "fake"
    profile_share: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.profile_share <= 1:
            raise ValueError("profile_share must be in (0, 1]")

    @classmethod
    def mirroring(cls, demo: DemoConfig, **kwargs: Any) -> FakeAccountConfig:
        """An account whose profiles and orders are (a share of: ``profile_share``) the customers
        and orders of the demo files generated with ``demo``: same seed, window, customers,
        campaigns and orders. ``kwargs``: the account's other fields."""
        return cls(seed=demo.seed, customers=demo.customers, days=demo.days, start=demo.start,
                   demo_campaigns=demo.campaigns, orders_target=demo.orders_target, **kwargs)

    def resolved_start(self) -> date:
        if self.start is not None:
            return self.start
        return datetime.now(UTC).date() - timedelta(days=self.days + 1)

    def demo_config(self) -> DemoConfig:
        """The demo generator config whose customers/orders this account mirrors."""
        return DemoConfig(seed=self.seed, start=self.resolved_start(), days=self.days, customers=self.customers,
                          campaigns=self.demo_campaigns, orders_target=self.orders_target, errors_per_reason=0)


def iso(ts: float) -> str:
    """``2024-01-01T10:00:00+00:00`` (the spec's example format)."""
    return datetime.fromtimestamp(ts, UTC).isoformat()


@dataclass
class Metric:
    id: str
    name: str
    created: float
    updated: float
    integration: dict[str, Any]


@dataclass
class ListRes:
    id: str
    name: str
    created: float
    updated: float
    opt_in_process: str


@dataclass
class FlowMessage:
    id: str
    flow_id: str
    channel: str
    name: str
    subject: str


@dataclass
class Flow:
    id: str
    name: str
    status: str
    archived: bool
    created: float
    updated: float
    trigger_type: str
    actions: list[str] = field(default_factory=list)
    messages: list[FlowMessage] = field(default_factory=list)


@dataclass
class Campaign:
    id: str
    name: str
    channel: str  # email | sms
    status: str
    archived: bool
    created_at: float
    updated_at: float
    scheduled_at: float | None
    send_time: float | None
    audience: list[str]
    message_id: str
    subject: str


@dataclass
class Profile:
    id: str
    customer_id: str
    email: str
    phone_number: str | None
    first_name: str
    last_name: str
    country: str
    created: float
    updated: float
    email_subscribed: bool
    sms_subscribed: bool
    properties: dict[str, Any] = field(default_factory=dict)
    last_event: float | None = None


@dataclass(slots=True)
class Attribution:
    id: str
    event_id: str
    attributed_event_id: str
    channel: str
    message_id: str
    campaign_id: str | None
    flow_id: str | None


@dataclass(slots=True)
class Event:
    id: str
    ts: int
    metric_id: str
    profile_id: str
    properties: dict[str, Any]
    uuid: str
    attribution: Attribution | None = None


@dataclass(frozen=True)
class Touch:
    """A message interaction that can earn attribution."""

    ts: int
    event_id: str
    channel: str
    message_id: str
    campaign_id: str | None
    flow_id: str | None


class Ids:
    """Deterministic Klaviyo-looking ids (base62 short ids, ULIDs) from the seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.counter = 0

    def _digest(self, kind: str) -> bytes:
        self.counter += 1
        return hashlib.blake2b(f"{self.seed}:{kind}:{self.counter}".encode(), digest_size=16).digest()

    def short(self, kind: str, length: int = 6) -> str:
        n = int.from_bytes(self._digest(kind), "big")
        out = []
        for _ in range(length):
            n, r = divmod(n, 62)
            out.append(B62[r])
        return "".join(out)

    def ulid(self, kind: str, ts: float) -> str:
        n = (int(ts * 1000) << 80) | (int.from_bytes(self._digest(kind), "big") >> 48)
        out = []
        for _ in range(26):
            n, r = divmod(n, 32)
            out.append(CROCKFORD[r])
        return "".join(reversed(out))

    def uuid(self) -> str:
        return str(uuid.UUID(bytes=self._digest("uuid")))


class FakeAccount:
    """Everything one Klaviyo account holds; thread-safe for the server and the mutators."""

    def __init__(self, config: FakeAccountConfig | None = None) -> None:
        self.config = config or FakeAccountConfig()
        self.account_id = self.config.account_id
        self.lock = threading.RLock()
        self.ids = Ids(self.config.seed)
        self.rng = random.Random(self.config.seed)
        self.metrics: dict[str, Metric] = {}
        self.metric_by_name: dict[str, Metric] = {}
        self.lists: dict[str, ListRes] = {}
        self.flows: dict[str, Flow] = {}
        self.flow_messages: dict[str, FlowMessage] = {}
        self.campaigns: dict[str, Campaign] = {}
        self.profiles: dict[str, Profile] = {}
        self.profile_by_customer: dict[str, str] = {}
        self.attributions: dict[str, Attribution] = {}
        self._events: list[Event] = []
        self._keys: list[tuple[int, str]] = []
        self.events_by_id: dict[str, Event] = {}
        self.orders: dict[str, dict[str, Any]] = {}  # order_id → {customer_id, ts, value, cancel}
        self._generate()

    # -- public views ------------------------------------------------------------------------

    @property
    def events(self) -> list[Event]:
        """Events sorted by (timestamp, id)."""
        return self._events

    @property
    def event_keys(self) -> list[tuple[int, str]]:
        return self._keys

    def counts(self) -> dict[str, int]:
        """What a full sync must land, per raw table (campaigns and flows incl. archived)."""
        with self.lock:
            sent = [c for c in self.campaigns.values() if c.send_time is not None]
            return {"metrics": len(self.metrics), "lists": len(self.lists), "flows": len(self.flows),
                    "campaigns": len(self.campaigns), "profiles": len(self.profiles),
                    "events": len(self._events), "campaign_messages_sent": len(sent)}

    # -- generation --------------------------------------------------------------------------

    def _make_population(self) -> pd.DataFrame:
        """The window, metrics, lists, profiles (the demo's customers picked by
        ``profile_share``), flows and campaigns; returns the profiles' order lines."""
        cfg = self.config
        demo = cfg.demo_config()
        self.start_ts = datetime.combine(demo.start, datetime.min.time(), UTC).timestamp()
        self.end_ts = self.start_ts + demo.days * 86_400
        is_profile = np.random.default_rng(cfg.seed + 103).random(demo.customers) < cfg.profile_share
        draw, order_lines = demo_customers_and_orders(demo, keep=is_profile)
        self._make_metrics()
        self._make_lists()
        self._make_profiles(draw, is_profile)
        self._make_flows()
        self._make_campaigns()
        return order_lines

    def _generate(self) -> None:
        order_lines = self._make_population()
        pending: list[Event] = []
        touches: dict[str, list[Touch]] = defaultdict(list)
        self._campaign_events(pending, touches)
        self._flow_events(pending, touches)
        self._order_events(order_lines, pending, touches)
        self._attribute(pending, touches)
        # engagement can trail a late send: keep the account inside its window (never in the future)
        pending = [e for e in pending if e.ts < self.end_ts]
        pending.sort(key=lambda e: (e.ts, e.id))
        self._events = pending
        self._keys = [(e.ts, e.id) for e in pending]
        self.events_by_id = {e.id: e for e in pending}
        for e in pending:
            p = self.profiles.get(e.profile_id)
            if p is not None and (p.last_event is None or e.ts > p.last_event):
                p.last_event = e.ts

    def _make_metrics(self) -> None:
        created = self.start_ts - 400 * 86_400
        for k, (name, integration) in enumerate(METRIC_NAMES):
            m = Metric(self.ids.short("metric"), name, created + k * 3_600, created + k * 3_600 + 60, integration)
            self.metrics[m.id] = m
            self.metric_by_name[name] = m

    def _make_lists(self) -> None:
        base = self.start_ts - 200 * 86_400
        for k in range(self.config.lists):
            name = LIST_NAMES[k % len(LIST_NAMES)] + ("" if k < len(LIST_NAMES) else f" {k // len(LIST_NAMES) + 1}")
            created = base + k * 5 * 86_400 + self.rng.randint(0, 86_400)
            updated = created + int(self.rng.random() * (self.end_ts - 3_600 - created))
            lst = ListRes(self.ids.short("list"), name, created, updated,
                          "double_opt_in" if k % 3 == 0 else "single_opt_in")
            self.lists[lst.id] = lst
        ids = list(self.lists)
        self.newsletter_list, self.sms_list = ids[0], ids[1 % len(ids)]

    def _make_profiles(self, draw: DemoCustomers, is_profile: np.ndarray) -> None:
        rng = self.rng
        n = len(draw.ids)
        email_sub = np.random.default_rng(self.config.seed + 101).random(n) < self.config.email_subscribed
        sms_sub = np.random.default_rng(self.config.seed + 102).random(n) < self.config.sms_subscribed
        for i, cid in enumerate(draw.ids):
            if not is_profile[i]:
                continue
            created = self.start_ts + int(draw.signup_day[i]) * 86_400 + rng.randint(6 * 3_600, 22 * 3_600)
            updated = created + int(rng.random() * min(20 * 86_400, self.end_ts - 60 - created))
            sms = bool(sms_sub[i])
            p = Profile(
                id=self.ids.ulid("profile", created), customer_id=str(cid), email=f"{str(cid).lower()}@example.com",
                phone_number=f"+447700{900000 + i:06d}"[:13] if sms else None,
                first_name=FIRST_NAMES[i % len(FIRST_NAMES)], last_name=LAST_NAMES[(i * 7) % len(LAST_NAMES)],
                country=str(draw.country[i]), created=created, updated=updated,
                email_subscribed=bool(email_sub[i]), sms_subscribed=sms,
                properties={"Accepts Marketing": bool(email_sub[i]),
                            "Acquisition Channel": str(draw.acquisition[i])},
            )
            self.profiles[p.id] = p
            self.profile_by_customer[p.customer_id] = p.id

    def _flow(self, name: str, status: str, trigger: str, archived: bool,
              messages: list[tuple[str, str, str]]) -> Flow:
        created = self.start_ts - self.rng.randint(30, 300) * 86_400
        updated = created + int(self.rng.random() * (self.end_ts - 3_600 - created))
        flow = Flow(self.ids.short("flow"), name, status, archived, created, updated, trigger)
        for channel, mname, subject in messages:
            fm = FlowMessage(self.ids.short("flow-message"), flow.id, channel, mname, subject)
            flow.actions.append(self.ids.short("flow-action", 8))
            flow.messages.append(fm)
            self.flow_messages[fm.id] = fm
        self.flows[flow.id] = flow
        return flow

    def _make_flows(self) -> None:
        self.welcome = self._flow("Welcome Series", "live", "Added to List", False, [
            ("email", "Welcome 1", "Welcome! Here's 10% off"), ("email", "Welcome 2", "Our bestsellers")])
        self.abandoned = self._flow("Abandoned Cart", "live", "Metric", False, [
            ("email", "Cart reminder", "You left something behind"), ("sms", "Cart reminder SMS", "")])
        self.post_purchase = self._flow("Post-Purchase Thank You", "live", "Metric", False, [
            ("email", "Thank you", "Thanks for your order")])
        self._flow("Winback", "draft", "Metric", False, [("email", "We miss you", "We miss you")])
        self._flow("Old Welcome (2022)", "manual", "Added to List", True, [("email", "Old welcome", "Hi")])

    def _make_campaigns(self) -> None:
        cfg, rng = self.config, self.rng
        span = self.end_ts - self.start_ts
        for channel, n in (("email", cfg.email_campaigns), ("sms", cfg.sms_campaigns)):
            prefix = "EML" if channel == "email" else "SMS"
            audience = [self.newsletter_list if channel == "email" else self.sms_list]
            for k in range(n + 1):  # the extra one stays a draft
                theme = CAMPAIGN_THEMES[rng.randrange(len(CAMPAIGN_THEMES))]
                geo = CAMPAIGN_GEOS[rng.randrange(len(CAMPAIGN_GEOS))]
                draft = k == n
                send = None
                if not draft:
                    mid = self.start_ts + span * (k + 0.5) / max(n, 1)
                    send = mid - mid % 86_400 + 10 * 3_600 + rng.randint(0, 7_200)
                created = (send or self.end_ts - 5 * 86_400) - rng.randint(2, 10) * 86_400
                updated = (send + rng.randint(3_600, 6 * 3_600)) if send else created + 3_600
                camp = Campaign(
                    id=self.ids.ulid("campaign", created), name=f"{prefix}_{theme}_{geo}_{k + 1:03d}", channel=channel,
                    status="Draft" if draft else "Sent", archived=(k == 0 and n > 1),
                    created_at=created, updated_at=min(updated, self.end_ts - 60), scheduled_at=send,
                    send_time=send, audience=audience, message_id=self.ids.ulid("campaign-message", created),
                    subject=f"{theme} {'news' if channel == 'email' else 'offer'} for {geo}",
                )
                self.campaigns[camp.id] = camp

    def _new_event(self, pending: list[Event], metric: str, profile_id: str, ts: float,
                   properties: dict[str, Any]) -> Event:
        e = Event(self.ids.short("event", 12), int(ts), self.metric_by_name[metric].id, profile_id,
                  properties, self.ids.uuid())
        pending.append(e)
        return e

    def _email_engagement(self, pending: list[Event], touches: dict[str, list[Touch]], p: Profile, sent: float,
                          props: dict[str, Any], message_id: str, campaign_id: str | None, flow_id: str | None,
                          open_p: float, click_p: float) -> None:
        rng = self.rng
        if rng.random() < 0.015:
            self._new_event(pending, "Bounced Email", p.id, sent,
                            {**props, "Bounce Type": rng.choice(["hard", "soft"])})
            return
        self._new_event(pending, "Received Email", p.id, sent, dict(props))
        if rng.random() < open_p:
            t = sent + rng.expovariate(1 / 21_600)
            opens = 1 + (rng.random() < 0.35) + (rng.random() < 0.1)
            for j in range(opens):
                e = self._new_event(pending, "Opened Email", p.id, t + j * rng.randint(600, 86_400),
                                    {**props, "Client Name": rng.choice(["Gmail", "Apple Mail", "Outlook"])})
                touches[p.id].append(Touch(e.ts, e.id, "email", message_id, campaign_id, flow_id))
            if rng.random() < click_p:
                c = self._new_event(pending, "Clicked Email", p.id, t + rng.randint(5, 900),
                                    {**props, "URL": "https://shop.example.com/collections/new"})
                touches[p.id].append(Touch(c.ts, c.id, "email", message_id, campaign_id, flow_id))
            if rng.random() < 0.004:
                self._new_event(pending, "Unsubscribed", p.id, t + rng.randint(30, 600), dict(props))
            if rng.random() < 0.001:
                self._new_event(pending, "Marked Email as Spam", p.id, t + rng.randint(30, 600), dict(props))

    def _sms_engagement(self, pending: list[Event], touches: dict[str, list[Touch]], p: Profile, sent: float,
                        props: dict[str, Any], message_id: str, campaign_id: str | None, flow_id: str | None,
                        click_p: float) -> None:
        rng = self.rng
        if rng.random() < 0.02:
            self._new_event(pending, "Failed to Deliver SMS", p.id, sent, {**props, "Failure Type": "carrier"})
            return
        self._new_event(pending, "Received SMS", p.id, sent, dict(props))
        if rng.random() < click_p:
            c = self._new_event(pending, "Clicked SMS", p.id, sent + rng.randint(20, 7_200), dict(props))
            touches[p.id].append(Touch(c.ts, c.id, "sms", message_id, campaign_id, flow_id))
        if rng.random() < 0.01:
            self._new_event(pending, "Unsubscribed from SMS", p.id, sent + rng.randint(20, 3_600),
                            {**props, "Method": "keyword"})

    def _campaign_events(self, pending: list[Event], touches: dict[str, list[Touch]]) -> None:
        profiles = sorted(self.profiles.values(), key=lambda p: p.created)
        created = [p.created for p in profiles]
        for camp in self.campaigns.values():
            if camp.send_time is None:
                continue
            recipients = profiles[: bisect.bisect_left(created, camp.send_time)]
            for p in recipients:
                sent = camp.send_time + self.rng.randint(0, 1_800)
                if camp.channel == "email" and p.email_subscribed:
                    props = {"Subject": camp.subject, "Campaign Name": camp.name, "$message": camp.message_id,
                             "Email Domain": "example.com", "$event_id": f"{camp.message_id}:{p.id}"}
                    self._email_engagement(pending, touches, p, sent, props, camp.message_id, camp.id, None,
                                           0.38, 0.16)
                elif camp.channel == "sms" and p.sms_subscribed:
                    props = {"Campaign Name": camp.name, "$message": camp.message_id, "Message Type": "campaign",
                             "Message Body": f"{camp.subject}: shop.example.com", "To Number": p.phone_number,
                             "$event_id": f"{camp.message_id}:{p.id}"}
                    self._sms_engagement(pending, touches, p, sent, props, camp.message_id, camp.id, None, 0.09)

    def _flow_props(self, fm: FlowMessage, p: Profile) -> dict[str, Any]:
        props: dict[str, Any] = {"Campaign Name": fm.name, "$message": fm.id, "$flow": fm.flow_id,
                                 "$event_id": f"{fm.id}:{p.id}:{self.rng.getrandbits(32)}"}
        if fm.channel == "email":
            props.update({"Subject": fm.subject, "Email Domain": "example.com"})
        else:
            props.update({"Message Type": "flow", "To Number": p.phone_number})
        return props

    def _flow_events(self, pending: list[Event], touches: dict[str, list[Touch]]) -> None:
        w1, w2 = self.welcome.messages
        for p in self.profiles.values():
            if not p.email_subscribed:
                continue
            for fm, delay in ((w1, 600), (w2, 3 * 86_400)):
                sent = p.created + delay + self.rng.randint(0, 600)
                if sent < self.end_ts:
                    self._email_engagement(pending, touches, p, sent, self._flow_props(fm, p), fm.id, None,
                                           fm.flow_id, 0.55, 0.2)

    def _order_events(self, frame: Any, pending: list[Event], touches: dict[str, list[Touch]]) -> None:
        registered = frame[frame["customer_id"].isin(self.profile_by_customer.keys())]
        lines = registered.assign(amount=(registered["quantity"] * registered["unit_price"] * 100).round())
        grouped = lines.groupby("order_id", sort=False).agg(
            customer_id=("customer_id", "first"), ordered_at=("ordered_at", "first"),
            cents=("amount", "sum"), items=("product_name", list), quantity=("quantity", "sum"))
        grouped["ts"] = grouped["ordered_at"].to_numpy().astype("datetime64[s]").astype(np.int64)
        grouped = grouped.sort_values(["ts"], kind="stable")
        cart_email, cart_sms = self.abandoned.messages
        thank_you = self.post_purchase.messages[0]
        first_order_seen: set[str] = set()
        for row in grouped.itertuples():
            order_id = str(row.Index)
            pid = self.profile_by_customer[row.customer_id]
            p = self.profiles[pid]
            ts = int(row.ts)
            value = round(abs(float(row.cents)) / 100.0, 2)
            cancel = order_id.startswith("C")
            self.orders[order_id] = {"customer_id": row.customer_id, "ts": ts, "value": value, "cancel": cancel}
            items = [str(x) for x in row.items]
            props = {"$value": value, "$event_id": order_id, "OrderId": order_id, "$currency_code": "USD",
                     "Items": items[:10], "Item Count": int(abs(row.quantity))}
            if cancel:
                self._new_event(pending, "Cancelled Order", pid, ts, props)
                continue
            roll = self.rng.random()
            if roll < 0.12 and p.email_subscribed:  # abandoned cart email before the order
                sent = ts - self.rng.randint(2 * 3_600, 6 * 3_600)
                self._email_engagement(pending, touches, p, sent, self._flow_props(cart_email, p), cart_email.id,
                                       None, cart_email.flow_id, 0.7, 0.5)
            elif roll < 0.16 and p.sms_subscribed:
                sent = ts - self.rng.randint(3_600, 3 * 3_600)
                self._sms_engagement(pending, touches, p, sent, self._flow_props(cart_sms, p), cart_sms.id,
                                     None, cart_sms.flow_id, 0.6)
            self._new_event(pending, "Placed Order", pid, ts, props)
            if row.customer_id not in first_order_seen:
                first_order_seen.add(row.customer_id)
                if p.email_subscribed and ts + 2 * 86_400 < self.end_ts:
                    self._email_engagement(pending, touches, p, ts + 2 * 86_400, self._flow_props(thank_you, p),
                                           thank_you.id, None, thank_you.flow_id, 0.6, 0.1)

    def _attribute(self, pending: list[Event], touches: dict[str, list[Touch]]) -> None:
        placed = self.metric_by_name["Placed Order"].id
        for lst in touches.values():
            lst.sort(key=lambda t: (t.ts, t.event_id))
        keys = {pid: [t.ts for t in lst] for pid, lst in touches.items()}
        for e in pending:
            if e.metric_id != placed or e.profile_id not in touches:
                continue
            lst, ts_list = touches[e.profile_id], keys[e.profile_id]
            k = bisect.bisect_left(ts_list, e.ts) - 1
            while k >= 0:
                t = lst[k]
                window = EMAIL_WINDOW if t.channel == "email" else SMS_WINDOW
                if e.ts - t.ts > EMAIL_WINDOW:
                    break
                if e.ts - t.ts <= window:
                    self._set_attribution(e, t)
                    break
                k -= 1

    def _set_attribution(self, e: Event, t: Touch) -> None:
        a = Attribution(self.ids.short("attribution", 10), e.id, t.event_id, t.channel, t.message_id,
                        t.campaign_id, t.flow_id)
        e.attribution = a
        self.attributions[a.id] = a
        e.properties["$attributed_message"] = t.message_id
        e.properties["$attributed_channel"] = t.channel
        e.properties["$attributed_event_id"] = t.event_id
        if t.flow_id:
            e.properties["$attributed_flow"] = t.flow_id

    # -- mutators (between syncs) -------------------------------------------------------------

    def _insert_event(self, e: Event) -> None:
        key = (e.ts, e.id)
        pos = bisect.bisect_right(self._keys, key)
        self._keys.insert(pos, key)
        self._events.insert(pos, e)
        self.events_by_id[e.id] = e

    def add_order(self, profile_id: str, value: float, at: datetime, *, message_id: str | None = None,
                  order_id: str | None = None) -> Event:
        """A new Placed Order event; attributed to ``message_id`` (a campaign message) if given."""
        with self.lock:
            order_id = order_id or f"N{len(self.orders) + 1:07d}"
            ts = int(at.timestamp())
            props = {"$value": round(value, 2), "$event_id": order_id, "OrderId": order_id, "$currency_code": "USD",
                     "Items": ["GIFT CARD"], "Item Count": 1}
            e = Event(self.ids.short("event", 12), ts, self.metric_by_name["Placed Order"].id, profile_id, props,
                      self.ids.uuid())
            if message_id:
                camp = next(c for c in self.campaigns.values() if c.message_id == message_id)
                self._set_attribution(e, Touch(ts - 60, "", camp.channel, message_id, camp.id, None))
            self.orders[order_id] = {"customer_id": self.profiles[profile_id].customer_id, "ts": ts,
                                     "value": round(value, 2), "cancel": False}
            self._insert_event(e)
            return e

    def add_event(self, metric: str, profile_id: str, at: datetime, properties: dict[str, Any] | None = None) -> Event:
        with self.lock:
            e = Event(self.ids.short("event", 12), int(at.timestamp()), self.metric_by_name[metric].id, profile_id,
                      dict(properties or {}), self.ids.uuid())
            self._insert_event(e)
            return e

    def touch_profile(self, profile_id: str, at: datetime, **attributes: Any) -> Profile:
        """Change a profile (``first_name``, ``last_name``, ``properties``…); ``updated`` = ``at``."""
        with self.lock:
            p = self.profiles[profile_id]
            for k, v in attributes.items():
                setattr(p, k, v)
            p.updated = at.timestamp()
            return p

    def add_profile(self, customer_id: str, at: datetime) -> Profile:
        with self.lock:
            p = Profile(self.ids.ulid("profile", at.timestamp()), customer_id, f"{customer_id.lower()}@example.com",
                        None, "New", "Customer", "United Kingdom", at.timestamp(), at.timestamp(), True, False)
            self.profiles[p.id] = p
            self.profile_by_customer[customer_id] = p.id
            return p

    def touch_campaign(self, campaign_id: str, at: datetime, **attributes: Any) -> Campaign:
        with self.lock:
            c = self.campaigns[campaign_id]
            for k, v in attributes.items():
                setattr(c, k, v)
            c.updated_at = at.timestamp()
            return c

    def touch_list(self, list_id: str, at: datetime, **attributes: Any) -> ListRes:
        with self.lock:
            lst = self.lists[list_id]
            for k, v in attributes.items():
                setattr(lst, k, v)
            lst.updated = at.timestamp()
            return lst

    def touch_flow(self, flow_id: str, at: datetime, **attributes: Any) -> Flow:
        with self.lock:
            f = self.flows[flow_id]
            for k, v in attributes.items():
                setattr(f, k, v)
            f.updated = at.timestamp()
            return f

    # -- reporting -----------------------------------------------------------------------------

    def campaign_values(self, start: float, end: float, statistics: list[str], conversion_metric_id: str,
                        group_by: list[str]) -> list[dict[str, Any]]:
        """Campaign-values results computed from the events in [start, end)."""
        by_message = {c.message_id: c for c in self.campaigns.values()}
        names = {m.id: m.name for m in self.metrics.values()}
        acc: dict[str, dict[str, Any]] = {}

        def slot(message_id: str) -> dict[str, Any] | None:
            camp = by_message.get(message_id)
            if camp is None:
                return None
            if message_id not in acc:
                acc[message_id] = {"campaign": camp, "n": defaultdict(float), "u": defaultdict(set)}
            return acc[message_id]

        with self.lock:
            lo = bisect.bisect_left(self._keys, (int(start), ""))
            hi = bisect.bisect_left(self._keys, (int(end), ""))
            for e in self._events[lo:hi]:
                name = names.get(e.metric_id)
                if e.metric_id == conversion_metric_id:
                    if e.attribution is None or e.attribution.campaign_id is None:
                        continue
                    s = slot(e.attribution.message_id)
                    if s is not None:
                        s["n"]["conversions"] += 1
                        s["n"]["conversion_value"] += float(e.properties.get("$value") or 0)
                        s["u"]["conversion_uniques"].add(e.profile_id)
                    continue
                message_id = e.properties.get("$message")
                if not message_id or e.properties.get("$flow"):
                    continue
                s = slot(message_id)
                if s is None:
                    continue
                n, u = s["n"], s["u"]
                if name in ("Received Email", "Received SMS"):
                    n["delivered"] += 1
                    u["recipients"].add(e.profile_id)
                elif name == "Bounced Email":
                    n["bounced"] += 1
                    u["recipients"].add(e.profile_id)
                elif name == "Failed to Deliver SMS":
                    n["failed"] += 1
                    u["recipients"].add(e.profile_id)
                elif name == "Opened Email":
                    n["opens"] += 1
                    u["opens_unique"].add(e.profile_id)
                elif name in ("Clicked Email", "Clicked SMS"):
                    n["clicks"] += 1
                    u["clicks_unique"].add(e.profile_id)
                elif name in ("Unsubscribed", "Unsubscribed from SMS"):
                    n["unsubscribes"] += 1
                    u["unsubscribe_uniques"].add(e.profile_id)
                elif name == "Marked Email as Spam":
                    n["spam_complaints"] += 1
        results = []
        for message_id, s in sorted(acc.items(), key=lambda kv: (kv[1]["campaign"].id, kv[0])):
            camp, n, u = s["campaign"], s["n"], s["u"]
            values = {k: len(v) for k, v in u.items()}
            values.update({k: v for k, v in n.items()})
            values["bounced_or_failed"] = n["bounced"] + n["failed"]
            stats = {name: _stat(name, values) for name in statistics}
            groupings = {"campaign_id": camp.id, "campaign_message_id": message_id, "send_channel": camp.channel,
                         "campaign_message_name": camp.name}
            results.append({"groupings": {k: groupings[k] for k in group_by if k in groupings},
                            "statistics": stats})
        return results


_RATES = {
    "open_rate": ("opens_unique", "delivered"), "click_rate": ("clicks_unique", "delivered"),
    "click_to_open_rate": ("clicks_unique", "opens_unique"), "conversion_rate": ("conversion_uniques", "delivered"),
    "bounce_rate": ("bounced", "recipients"), "delivery_rate": ("delivered", "recipients"),
    "failed_rate": ("failed", "recipients"), "bounced_or_failed_rate": ("bounced_or_failed", "recipients"),
    "unsubscribe_rate": ("unsubscribe_uniques", "delivered"), "spam_complaint_rate": ("spam_complaints", "delivered"),
    "revenue_per_recipient": ("conversion_value", "delivered"),
    "average_order_value": ("conversion_value", "conversions"),
}


def _stat(name: str, values: dict[str, float]) -> float | int:
    if name in _RATES:
        num, den = _RATES[name]
        d = values.get(den, 0)
        return round(values.get(num, 0) / d, 6) if d else 0.0
    if name == "conversion_value":
        return round(values.get(name, 0.0), 2)
    return int(values.get(name, 0))
