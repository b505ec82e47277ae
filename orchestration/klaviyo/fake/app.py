"""A local Klaviyo-compatible API (FastAPI): the endpoints the sync uses, per the OpenAPI spec.

``create_app({api_key: FakeAccount, ...})`` serves, under ``/api/`` (with or without a
trailing slash): ``GET metrics, lists, flows, campaigns, profiles, events`` (JSON:API
documents, ``included``, sparse fieldsets, the spec's filters/operators/sorts/includes,
opaque keyset ``page[cursor]`` in ``links.next``, each endpoint's page-size default and
maximum) and ``POST campaign-values-reports``. It answers 401 for an unknown key, 403 for a
key without the endpoint's scope, 400 for a missing/invalid ``revision`` header, an unknown
parameter, a bad filter, sort, include or page size (Klaviyo-style ``errors`` bodies), 429
when an optional rate limit is exceeded, and injects faults (:mod:`faults`).

Admin (no key): ``GET/DELETE /__admin/requests`` (the request log: method, path, query,
status, fault, auth scheme, revision — never the key), ``GET/POST/DELETE /__admin/faults``,
``GET /__admin/counts`` (rows a full sync must land, per account), ``POST /__admin/mutate``,
``GET/DELETE /__admin/ratelimits`` (Klaviyo's limits as enforced, 429s answered and the
**violations**: requests a client sent over a limit or before a Retry-After elapsed —
:mod:`limits`).

Realism (``create_app(latency=0.15, klaviyo_limits=spec_limits())``): every answer waits
``latency`` seconds without blocking other requests (asyncio), and Klaviyo's burst/steady
limits per key and endpoint are enforced with 429 + ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from orchestration.klaviyo.fake import filters as flt
from orchestration.klaviyo.fake.data import (
    Attribution,
    Campaign,
    Event,
    FakeAccount,
    Flow,
    ListRes,
    Metric,
    Profile,
    iso,
)
from orchestration.klaviyo.fake.cache import FragmentCache, ProfileIndex
from orchestration.klaviyo.fake.faults import Fault, FaultPlan, RateLimiter
from orchestration.klaviyo.fake.limits import KlaviyoRateLimits, Limits, retry_after_header

try:
    import orjson

    def _dumps(doc: Any) -> bytes:
        return orjson.dumps(doc)
except ImportError:  # pragma: no cover
    def _dumps(doc: Any) -> bytes:
        return json.dumps(doc, separators=(",", ":")).encode()

JSONAPI = "application/vnd.api+json"
LATEST_REVISION = "2026-07-15"
_REVISION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[A-Za-z0-9]+)?$")
DT = {"equals", "greater-or-equal", "greater-than", "less-or-equal", "less-than"}
DT4 = {"greater-or-equal", "greater-than", "less-or-equal", "less-than"}


@dataclass(frozen=True)
class Endpoint:
    """What the spec allows on one GET collection endpoint."""

    name: str
    type: str
    scope: str
    page_default: int | None
    page_max: int | None  # None: no page[size] parameter (fixed page of page_default)
    filters: dict[str, set[str]]
    datetime_fields: frozenset[str]
    sorts: tuple[str, ...]
    includes: tuple[str, ...]
    fields: tuple[str, ...]
    extra_params: tuple[str, ...] = ()
    default_sort: str = "id"


ENDPOINTS: dict[str, Endpoint] = {e.name: e for e in (
    Endpoint("metrics", "metric", "metrics:read", 200, None,
             {"integration.name": {"equals"}, "integration.category": {"equals"}}, frozenset(),
             (), ("flow-triggers",), ("flow", "metric")),
    Endpoint("lists", "list", "lists:read", 10, 10,
             {"name": {"any", "equals"}, "id": {"any", "equals"}, "created": {"greater-than"},
              "updated": {"greater-than"}}, frozenset({"created", "updated"}),
             ("created", "id", "name", "updated"), ("flow-triggers", "tags"), ("flow", "list", "tag")),
    Endpoint("flows", "flow", "flows:read", 50, 50,
             {"id": {"any"}, "name": {"contains", "ends-with", "equals", "starts-with"}, "status": {"equals"},
              "archived": {"equals"}, "created": DT, "updated": DT, "trigger_type": {"equals"}},
             frozenset({"created", "updated"}),
             ("created", "id", "name", "status", "trigger_type", "updated"), ("flow-actions", "tags"),
             ("flow-action", "flow", "tag")),
    Endpoint("campaigns", "campaign", "campaigns:read", 100, 100,
             {"id": {"any"}, "messages.channel": {"equals"}, "name": {"contains"}, "status": {"any", "equals"},
              "archived": {"equals"}, "created_at": DT4, "scheduled_at": DT4, "updated_at": DT4},
             frozenset({"created_at", "scheduled_at", "updated_at"}),
             ("created_at", "id", "name", "scheduled_at", "updated_at"), ("campaign-messages", "tags"),
             ("campaign-message", "campaign", "tag")),
    Endpoint("profiles", "profile", "profiles:read", 20, 100,
             {"id": {"any", "equals"}, "email": {"any", "equals"}, "phone_number": {"any", "equals"},
              "external_id": {"any", "equals"}, "_kx": {"equals"}, "created": {"greater-than", "less-than"},
              "updated": {"greater-than", "less-than"},
              # accepted for validation; no generated profile is suppressed, so they match nothing
              "subscriptions.email.marketing.list_suppressions.reason": {"equals"},
              "subscriptions.email.marketing.list_suppressions.timestamp": DT4,
              "subscriptions.email.marketing.list_suppressions.list_id": {"equals"},
              "subscriptions.email.marketing.suppression.reason": {"equals"},
              "subscriptions.email.marketing.suppression.timestamp": DT4},
             frozenset({"created", "updated", "subscriptions.email.marketing.list_suppressions.timestamp",
                        "subscriptions.email.marketing.suppression.timestamp"}),
             ("created", "email", "id", "updated"), ("conversations", "push-tokens"),
             ("conversation", "profile", "push-token"), ("additional-fields[profile]",)),
    Endpoint("events", "event", "events:read", 200, 1000,
             {"metric_id": {"equals"}, "profile_id": {"equals"}, "profile": {"has"}, "metric": {"has"},
              "datetime": DT4, "timestamp": DT4},
             frozenset({"datetime"}), ("datetime", "timestamp"), ("attributions", "metric", "profile"),
             ("attribution", "event", "metric", "profile"), default_sort="datetime"),
)}

REPORT_STATISTICS = {
    "average_order_value", "bounce_rate", "bounced", "bounced_or_failed", "bounced_or_failed_rate", "click_rate",
    "click_to_open_rate", "clicks", "clicks_unique", "conversion_rate", "conversion_uniques", "conversion_value",
    "conversions", "delivered", "delivery_rate", "failed", "failed_rate", "message_segment_count_sum", "open_rate",
    "opens", "opens_unique", "recipients", "revenue_per_recipient", "spam_complaint_rate", "spam_complaints",
    "text_message_credit_usage_amount", "text_message_roi", "text_message_spend", "unsubscribe_rate",
    "unsubscribe_uniques", "unsubscribes",
}
REPORT_GROUP_BYS = {"campaign_id", "campaign_message_id", "campaign_message_name", "group", "group_name",
                    "send_channel", "tag_id", "tag_name", "text_message_format", "variation", "variation_name"}
TIMEFRAME_KEYS = {"last_12_months": 365, "last_30_days": 30, "last_365_days": 365, "last_3_months": 90,
                  "last_7_days": 7, "last_90_days": 90, "last_year": 365, "today": 0, "yesterday": 1}


class ApiError(Exception):
    def __init__(self, status: int, code: str, title: str, detail: str, parameter: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.parameter = parameter
        self.headers = headers or {}

    def response(self) -> Response:
        err: dict[str, Any] = {"id": str(uuid.uuid4()), "status": self.status, "code": self.code,
                               "title": self.title, "detail": self.detail}
        if self.parameter:
            err["source"] = {"parameter": self.parameter}
        return Response(_dumps({"errors": [err]}), status_code=self.status, media_type=JSONAPI,
                        headers=self.headers)


def bad_request(detail: str, parameter: str | None = None) -> ApiError:
    return ApiError(400, "invalid", "Invalid input.", detail, parameter)


# -- resource rendering ----------------------------------------------------------------------------

def _rel(base: str, kind: str, rid: str, name: str, data: Any = ..., ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if data is not ...:
        out["data"] = data
    out["links"] = {"self": f"{base}/api/{kind}/{rid}/relationships/{name}/",
                    "related": f"{base}/api/{kind}/{rid}/{name}/"}
    return out


def render_metric(m: Metric, base: str) -> dict[str, Any]:
    return {"type": "metric", "id": m.id,
            "attributes": {"name": m.name, "created": iso(m.created), "updated": iso(m.updated),
                           "integration": m.integration},
            "relationships": {"flow-triggers": _rel(base, "metrics", m.id, "flow-triggers")},
            "links": {"self": f"{base}/api/metrics/{m.id}/"}}


def render_list(lst: ListRes, base: str) -> dict[str, Any]:
    return {"type": "list", "id": lst.id,
            "attributes": {"name": lst.name, "created": iso(lst.created), "updated": iso(lst.updated),
                           "opt_in_process": lst.opt_in_process},
            "relationships": {"profiles": _rel(base, "lists", lst.id, "profiles"),
                              "tags": _rel(base, "lists", lst.id, "tags"),
                              "flow-triggers": _rel(base, "lists", lst.id, "flow-triggers")},
            "links": {"self": f"{base}/api/lists/{lst.id}/"}}


def render_flow(f: Flow, base: str, includes: set[str]) -> dict[str, Any]:
    actions = [{"type": "flow-action", "id": a} for a in f.actions] if "flow-actions" in includes else ...
    return {"type": "flow", "id": f.id,
            "attributes": {"name": f.name, "status": f.status, "archived": f.archived, "created": iso(f.created),
                           "updated": iso(f.updated), "trigger_type": f.trigger_type},
            "relationships": {"flow-actions": _rel(base, "flows", f.id, "flow-actions", actions),
                              "tags": _rel(base, "flows", f.id, "tags", [] if "tags" in includes else ...)},
            "links": {"self": f"{base}/api/flows/{f.id}/"}}


def render_flow_action(f: Flow, index: int, base: str) -> dict[str, Any]:
    fm = f.messages[index]
    aid = f.actions[index]
    return {"type": "flow-action", "id": aid,
            "attributes": {"action_type": "SEND_EMAIL" if fm.channel == "email" else "SEND_SMS",
                           "status": f.status, "created": iso(f.created), "updated": iso(f.updated)},
            "relationships": {"flow": _rel(base, "flow-actions", aid, "flow", {"type": "flow", "id": f.id}),
                              "flow-messages": _rel(base, "flow-actions", aid, "flow-messages",
                                                    [{"type": "flow-message", "id": fm.id}])},
            "links": {"self": f"{base}/api/flow-actions/{aid}/"}}


def render_campaign(c: Campaign, base: str, includes: set[str]) -> dict[str, Any]:
    if c.send_time is not None:
        strategy: dict[str, Any] = {"method": "static", "datetime": iso(c.send_time), "options": {"is_local": False}}
    else:
        strategy = {"method": "immediate"}
    tracking = ({"add_tracking_params": False, "is_tracking_clicks": True, "is_tracking_opens": True}
                if c.channel == "email" else {"add_tracking_params": False})
    messages = [{"type": "campaign-message", "id": c.message_id}] if "campaign-messages" in includes else ...
    return {"type": "campaign", "id": c.id,
            "attributes": {"name": c.name, "status": c.status, "archived": c.archived,
                           "audiences": {"included": list(c.audience), "excluded": []},
                           "send_options": {"use_smart_sending": True}, "tracking_options": tracking,
                           "send_strategy": strategy, "created_at": iso(c.created_at),
                           "scheduled_at": iso(c.scheduled_at) if c.scheduled_at else None,
                           "updated_at": iso(c.updated_at), "send_time": iso(c.send_time) if c.send_time else None},
            "relationships": {"campaign-messages": _rel(base, "campaigns", c.id, "campaign-messages", messages),
                              "tags": _rel(base, "campaigns", c.id, "tags", [] if "tags" in includes else ...)},
            "links": {"self": f"{base}/api/campaigns/{c.id}/"}}


def render_campaign_message(c: Campaign, base: str) -> dict[str, Any]:
    if c.channel == "email":
        definition: dict[str, Any] = {
            "channel": "email", "label": c.name,
            "content": {"subject": c.subject, "preview_text": "", "from_email": "hello@shop.example.com",
                        "from_label": "Example Shop", "reply_to_email": None, "cc_email": None, "bcc_email": None}}
    else:
        definition = {"channel": "sms", "content": {"body": f"{c.subject}: shop.example.com", "media_url": None},
                      "render_options": {"shorten_links": True, "add_org_prefix": True, "add_info_link": True,
                                         "add_opt_out_language": False}}
    return {"type": "campaign-message", "id": c.message_id,
            "attributes": {"definition": definition,
                           "send_times": [{"datetime": iso(c.send_time), "is_local": False}] if c.send_time else [],
                           "created_at": iso(c.created_at), "updated_at": iso(c.updated_at)},
            "relationships": {"campaign": _rel(base, "campaign-messages", c.message_id, "campaign",
                                               {"type": "campaign", "id": c.id})},
            "links": {"self": f"{base}/api/campaign-messages/{c.message_id}/"}}


def render_profile(p: Profile, base: str) -> dict[str, Any]:
    return {"type": "profile", "id": p.id,
            "attributes": {"email": p.email, "phone_number": p.phone_number, "external_id": p.customer_id,
                           "first_name": p.first_name, "last_name": p.last_name, "organization": None,
                           "locale": None, "title": None, "image": None, "created": iso(p.created),
                           "updated": iso(p.updated),
                           "last_event_date": iso(p.last_event) if p.last_event else None,
                           "location": {"address1": None, "address2": None, "city": None, "country": p.country,
                                        "latitude": None, "longitude": None, "region": None, "zip": None,
                                        "timezone": None, "ip": None},
                           "properties": dict(p.properties)},
            "relationships": {"lists": _rel(base, "profiles", p.id, "lists"),
                              "segments": _rel(base, "profiles", p.id, "segments")},
            "links": {"self": f"{base}/api/profiles/{p.id}/"}}


def render_event(e: Event, base: str, includes: set[str]) -> dict[str, Any]:
    me = f"{base}/api/events/{e.id}"
    rels: dict[str, Any] = {
        "profile": {"data": {"type": "profile", "id": e.profile_id},
                    "links": {"self": f"{me}/relationships/profile/", "related": f"{me}/profile/"}},
        "metric": {"data": {"type": "metric", "id": e.metric_id},
                   "links": {"self": f"{me}/relationships/metric/", "related": f"{me}/metric/"}},
    }
    attributions: dict[str, Any] = {"links": {"self": f"{me}/relationships/attributions/",
                                              "related": f"{me}/attributions/"}}
    if "attributions" in includes:
        attributions = {"data": [{"type": "attribution", "id": e.attribution.id}] if e.attribution else [],
                        **attributions}
    rels["attributions"] = attributions
    return {"type": "event", "id": e.id,
            "attributes": {"timestamp": e.ts, "event_properties": e.properties, "datetime": iso(e.ts),
                           "uuid": e.uuid},
            "relationships": rels,
            "links": {"self": f"{me}/"}}


def render_attribution(a: Attribution, base: str) -> dict[str, Any]:
    rels: dict[str, Any] = {
        "event": {"data": {"type": "event", "id": a.event_id}},
        "attributed-event": {"data": {"type": "event", "id": a.attributed_event_id} if a.attributed_event_id else None},
    }
    if a.campaign_id:
        rels["campaign"] = {"data": {"type": "campaign", "id": a.campaign_id}}
        rels["campaign-message"] = {"data": {"type": "campaign-message", "id": a.message_id}}
    if a.flow_id:
        rels["flow"] = {"data": {"type": "flow", "id": a.flow_id}}
        rels["flow-message"] = {"data": {"type": "flow-message", "id": a.message_id}}
    return {"type": "attribution", "id": a.id, "relationships": rels,
            "links": {"self": f"{base}/api/attributions/{a.id}/"}}


def _sparse(resource: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    if fields is None or "attributes" not in resource:
        return resource
    return {**resource, "attributes": {k: v for k, v in resource["attributes"].items() if k in fields}}


# -- collections --------------------------------------------------------------------------------------

@dataclass
class Collection:
    """How one endpoint reads its items: filter values, rendering and included resources."""

    endpoint: Endpoint
    items: Callable[[FakeAccount], list[Any]]
    value: Callable[[Any, str, FakeAccount], Any]
    render: Callable[[Any, str, set[str], FakeAccount], dict[str, Any]]
    related: Callable[[Any, str, str, FakeAccount], list[dict[str, Any]]] = lambda item, inc, base, acct: []
    default_filter: Callable[[Any], Callable[[Any], bool] | None] = lambda node: None


def _archived_default(node: Any) -> Callable[[Any], bool] | None:
    """Klaviyo leaves archived campaigns out unless the filter asks about ``archived``."""
    if node is not None and any(c.field == "archived" for c in flt.conditions(node)):
        return None
    return lambda item: not item.archived


def _campaign_value(c: Campaign, f: str, acct: FakeAccount) -> Any:
    if f == "messages.channel":
        return c.channel
    if f in ("created_at", "updated_at", "scheduled_at"):
        return getattr(c, f)
    return getattr(c, f, None)


def _profile_value(p: Profile, f: str, acct: FakeAccount) -> Any:
    if f == "external_id":
        return p.customer_id
    return None if f == "_kx" else getattr(p, f, None)


def _flow_related(f: Flow, include: str, base: str, acct: FakeAccount) -> list[dict[str, Any]]:
    if include == "flow-actions":
        return [render_flow_action(f, i, base) for i in range(len(f.actions))]
    return []


COLLECTIONS: dict[str, Collection] = {
    "metrics": Collection(
        ENDPOINTS["metrics"], lambda a: list(a.metrics.values()),
        lambda m, f, a: {"integration.name": m.integration["name"],
                         "integration.category": m.integration["category"]}.get(f, getattr(m, f, None)),
        lambda m, base, inc, a: render_metric(m, base)),
    "lists": Collection(
        ENDPOINTS["lists"], lambda a: list(a.lists.values()), lambda x, f, a: getattr(x, f, None),
        lambda x, base, inc, a: render_list(x, base)),
    "flows": Collection(
        ENDPOINTS["flows"], lambda a: list(a.flows.values()), lambda x, f, a: getattr(x, f, None),
        lambda x, base, inc, a: render_flow(x, base, inc), _flow_related, _archived_default),
    "campaigns": Collection(
        ENDPOINTS["campaigns"], lambda a: list(a.campaigns.values()), _campaign_value,
        lambda x, base, inc, a: render_campaign(x, base, inc),
        lambda x, inc, base, a: [render_campaign_message(x, base)] if inc == "campaign-messages" else [],
        _archived_default),
    "profiles": Collection(
        ENDPOINTS["profiles"], lambda a: list(a.profiles.values()), _profile_value,
        lambda x, base, inc, a: render_profile(x, base)),
}


def _encode_cursor(key: tuple[Any, ...]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key), separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(token: str) -> tuple[Any, ...]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key = json.loads(raw)
        if not isinstance(key, list) or not key:
            raise ValueError
        return tuple(key)
    except ValueError:
        raise bad_request("Invalid page cursor.", "page[cursor]") from None


def _sort_key(value: Any, rid: str) -> tuple[Any, ...]:
    return (value is not None, value if value is not None else 0, rid)


@dataclass
class Query:
    endpoint: Endpoint
    node: Any
    sort: str
    descending: bool
    includes: set[str]
    page_size: int
    cursor: tuple[Any, ...] | None
    fields: dict[str, list[str]] = field(default_factory=dict)


def parse_query(endpoint: Endpoint, params: dict[str, str]) -> Query:
    allowed = {"filter", "sort", "include", "page[cursor]"} | {f"fields[{t}]" for t in endpoint.fields}
    allowed |= set(endpoint.extra_params)
    if endpoint.page_max is not None:
        allowed.add("page[size]")
    for name in params:
        if name not in allowed:
            raise bad_request(f"'{name}' is not a valid query parameter for this endpoint.", name)
    node = None
    if params.get("filter"):
        try:
            node = flt.parse(params["filter"])
            flt.validate(node, endpoint.filters, set(endpoint.datetime_fields))
        except flt.FilterError as exc:
            raise bad_request(str(exc), "filter") from None
    if endpoint.name == "campaigns" and (node is None or not any(
            c.field == "messages.channel" for c in flt.conditions(node))):
        raise bad_request("A channel filter is required to list campaigns. Please try a filter like "
                          "equals(messages.channel,'email').", "filter")
    sort = params.get("sort") or endpoint.default_sort
    descending = sort.startswith("-")
    if sort.lstrip("-") not in endpoint.sorts + (endpoint.default_sort,):
        raise bad_request(f"'{sort}' is not a valid sort field for this endpoint.", "sort")
    includes = {x.strip() for x in params.get("include", "").split(",") if x.strip()}
    for inc in includes:
        if inc not in endpoint.includes:
            raise bad_request(f"'{inc}' is not a valid related resource for include.", "include")
    page_size = endpoint.page_default or 20
    if "page[size]" in params:
        text = params["page[size]"]
        if not text.isdigit() or not 1 <= int(text) <= (endpoint.page_max or 0):
            raise bad_request(f"Page size must be an integer between 1 and {endpoint.page_max}.", "page[size]")
        page_size = int(text)
    cursor = _decode_cursor(params["page[cursor]"]) if params.get("page[cursor]") else None
    fields = {k[7:-1]: [x for x in v.split(",") if x] for k, v in params.items() if k.startswith("fields[")}
    return Query(endpoint, node, sort.lstrip("-"), descending, includes, page_size, cursor, fields)


_RENDERED = FragmentCache()


def _profile_index(acct: FakeAccount) -> ProfileIndex:
    index = acct.__dict__.get("_profile_index")
    if index is None:
        index = acct.__dict__["_profile_index"] = ProfileIndex()
    return index


def _page_collection(coll: Collection, q: Query, acct: FakeAccount) -> tuple[list[Any], tuple[Any, ...] | None]:
    if coll.endpoint.name == "profiles" and q.sort == "updated" and not q.descending:
        return _profile_index(acct).page(acct, q.node, q.cursor, q.page_size, lambda p, f: coll.value(p, f, acct))
    getter = coll.value
    keep = coll.default_filter(q.node)
    items = []
    for item in coll.items(acct):
        if keep is not None and not keep(item):
            continue
        if q.node is not None and not flt.evaluate(q.node, lambda f, it=item: getter(it, f, acct)):
            continue
        items.append((_sort_key(getter(item, q.sort, acct), item.id), item))
    items.sort(key=lambda kv: kv[0], reverse=q.descending)
    if q.cursor is not None:
        c = tuple(q.cursor)
        items = [kv for kv in items if (kv[0] < c if q.descending else kv[0] > c)]
    page = items[: q.page_size]
    more = len(items) > q.page_size
    return [it for _, it in page], (page[-1][0] if more and page else None)


def _page_events(q: Query, acct: FakeAccount) -> tuple[list[Event], tuple[Any, ...] | None]:
    keys, events = acct.event_keys, acct.events
    lo, hi = flt.time_bounds(q.node, {"datetime", "timestamp"}) if q.node is not None else (None, None)

    def get(e: Event, f: str) -> Any:
        if f in ("datetime", "timestamp"):
            return e.ts
        if f == "metric_id" or f == "metric":
            return e.metric_id
        if f == "profile_id" or f == "profile":
            return e.profile_id
        return None

    out: list[Event] = []
    more = False
    if not q.descending:
        start = bisect.bisect_left(keys, (int(lo) if lo is not None else -(2 ** 62), ""))
        if q.cursor is not None:
            start = max(start, bisect.bisect_right(keys, (int(q.cursor[0]), str(q.cursor[1]))))
        idx = range(start, len(events))
    else:
        end = bisect.bisect_right(keys, (int(hi) + 1, "")) if hi is not None else len(events)
        if q.cursor is not None:
            end = min(end, bisect.bisect_left(keys, (int(q.cursor[0]), str(q.cursor[1]))))
        idx = range(end - 1, -1, -1)
    for i in idx:
        e = events[i]
        if not q.descending and hi is not None and e.ts > hi:
            break
        if q.descending and lo is not None and e.ts < lo:
            break
        if q.node is not None and not flt.evaluate(q.node, lambda f, ev=e: get(ev, f)):
            continue
        if len(out) == q.page_size:
            more = True
            break
        out.append(e)
    return out, ((out[-1].ts, out[-1].id) if more and out else None)


# -- the service ----------------------------------------------------------------------------------------

class FakeKlaviyo:
    """State behind the app: accounts by API key, scopes, faults, rate limits, the request log."""

    def __init__(self, accounts: dict[str, FakeAccount], *, faults: list[Fault] | None = None,
                 rate_limits: dict[str, tuple[int, float]] | None = None,
                 scopes: dict[str, set[str]] | None = None, latency: float = 0.0,
                 klaviyo_limits: Limits | None = None) -> None:
        self.accounts = dict(accounts)
        self.scopes = dict(scopes or {})
        self.faults = FaultPlan(faults)
        self.limiter = RateLimiter(rate_limits)
        #: seconds every answer waits (concurrent requests wait side by side)
        self.latency = latency
        self.ratelimits = KlaviyoRateLimits(klaviyo_limits)
        self._log_lock = threading.Lock()
        self._log: list[dict[str, Any]] = []

    def account(self, account_id: str) -> FakeAccount:
        return next(a for a in self.accounts.values() if a.account_id == account_id)

    def requests(self, path: str | None = None, method: str | None = None) -> list[dict[str, Any]]:
        """Logged requests (oldest first), optionally those whose path starts with ``path``."""
        with self._log_lock:
            out = list(self._log)
        if path:
            out = [r for r in out if r["path"].rstrip("/").startswith(path.rstrip("/"))]
        if method:
            out = [r for r in out if r["method"] == method.upper()]
        return out

    def clear_requests(self) -> None:
        with self._log_lock:
            self._log.clear()

    def log(self, entry: dict[str, Any]) -> None:
        with self._log_lock:
            self._log.append(entry)


def create_app(accounts: dict[str, FakeAccount] | None = None, *, faults: list[Fault] | None = None,
               rate_limits: dict[str, tuple[int, float]] | None = None,
               scopes: dict[str, set[str]] | None = None, latency: float = 0.0,
               klaviyo_limits: Limits | None = None) -> FastAPI:
    """The FastAPI app; ``app.state.fake`` is the :class:`FakeKlaviyo` behind it.

    ``latency``: seconds added to every answer; ``klaviyo_limits``: burst/steady windows per
    endpoint (:func:`limits.spec_limits` for Klaviyo's own), enforced per API key."""
    fake = FakeKlaviyo(accounts if accounts is not None else {"test-key": FakeAccount()}, faults=faults,
                       rate_limits=rate_limits, scopes=scopes, latency=latency, klaviyo_limits=klaviyo_limits)
    app = FastAPI(title="Klaviyo-compatible fake", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.fake = fake

    async def handle(request: Request, resource: str) -> Response:
        arrived = fake.ratelimits.now()
        response = await serve(request, resource, arrived)
        if fake.latency > 0:
            await asyncio.sleep(fake.latency)
        if response.status_code == 429:
            key = _key_of(request.headers.get("authorization", ""))
            if key is not None:
                fake.ratelimits.answered_429(key, request.method, request.url.path,
                                             _retry_after_of(response.headers.get("retry-after")))
        return response

    async def serve(request: Request, resource: str, arrived: float) -> Response:
        method, path = request.method, request.url.path
        params = dict(request.query_params)
        auth = request.headers.get("authorization", "")
        entry: dict[str, Any] = {
            "t": time.time(), "method": method, "path": path, "query": params, "status": None, "fault": None,
            "account": None, "auth_scheme": auth.split(" ", 1)[0] if auth else None,
            "revision": request.headers.get("revision"), "accept": request.headers.get("accept"),
            "content_type": request.headers.get("content-type"),
        }
        fake.log(entry)
        body = await request.body()
        if method == "POST":
            try:
                entry["body"] = json.loads(body) if body else None
            except ValueError:
                entry["body"] = None
        try:
            fault = fake.faults.take(method, path)
            if fault is not None:
                entry["fault"] = fault.kind
                if fault.kind == "rate_limit":
                    headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
                    raise ApiError(429, "throttled", "Request was throttled.",
                                   "Request was throttled. Expected available in a moment.", headers=headers)
                if fault.kind == "status":
                    raise ApiError(fault.status, "error", "A server error occurred.",
                                   "An unexpected error occurred (injected).")
                if fault.kind == "slow":
                    await asyncio.sleep(fault.delay)
            key = _key_of(auth)
            acct = fake.accounts.get(key) if key else None
            if acct is None:
                raise ApiError(401, "not_authenticated", "Authentication credentials were not provided.",
                               "Missing or invalid private key.")
            entry["account"] = acct.account_id
            revision = request.headers.get("revision")
            if not revision or not _REVISION.match(revision):
                raise bad_request("Missing or invalid revision header; expected YYYY-MM-DD[.suffix].", "revision")
            if revision > LATEST_REVISION:
                raise bad_request(f"Revision {revision} is not available; the latest is {LATEST_REVISION}.",
                                  "revision")
            scope = ENDPOINTS[resource].scope if resource in ENDPOINTS else "campaigns:read"
            granted = fake.scopes.get(key)
            if granted is not None and scope not in granted:
                raise ApiError(403, "permission_denied", "You do not have permission to perform this action.",
                               f"This API key is missing required scopes: {scope}.")
            wait = fake.ratelimits.admit(key, acct.account_id, method, path, arrived)
            if wait is not None:
                raise ApiError(429, "throttled", "Request was throttled.",
                               f"Request was throttled. Expected available in {wait:.0f} seconds.",
                               headers={"Retry-After": retry_after_header(wait)})
            wait = fake.limiter.check(key, path)
            if wait is not None:
                raise ApiError(429, "throttled", "Request was throttled.",
                               f"Request was throttled. Expected available in {wait:.0f} seconds.",
                               headers={"Retry-After": str(max(1, int(wait + 0.999)))})
            base = f"{request.url.scheme}://{request.url.netloc}"
            with acct.lock:
                if method == "GET":
                    doc = _collection_document(resource, params, acct, base, str(request.url))
                else:
                    doc = _report_document(body, request.headers.get("content-type", ""), acct, base,
                                           str(request.url))
            if fault is not None and fault.kind == "repeat_cursor" and method == "GET":
                doc.setdefault("links", {})["next"] = str(request.url)
            content = _dumps(doc)
            if fault is not None and fault.kind == "truncate":
                content = content[: max(1, len(content) // 2)]
            entry["status"] = 200
            entry["rows"] = len(doc["data"]) if isinstance(doc.get("data"), list) else None
            return Response(content, status_code=200, media_type=JSONAPI)
        except ApiError as exc:
            entry["status"] = exc.status
            entry["error"] = exc.detail
            return exc.response()

    for name in ENDPOINTS:
        def make(resource: str):
            async def get(request: Request) -> Response:
                return await handle(request, resource)
            return get
        app.add_api_route(f"/api/{name}", make(name), methods=["GET"], include_in_schema=False)
        app.add_api_route(f"/api/{name}/", make(name), methods=["GET"], include_in_schema=False)

    async def post_report(request: Request) -> Response:
        return await handle(request, "campaign-values-reports")
    app.add_api_route("/api/campaign-values-reports", post_report, methods=["POST"], include_in_schema=False)
    app.add_api_route("/api/campaign-values-reports/", post_report, methods=["POST"], include_in_schema=False)

    # -- admin -----------------------------------------------------------------------------------------
    @app.get("/__admin/requests", include_in_schema=False)
    async def admin_requests(path: str | None = None, method: str | None = None) -> JSONResponse:
        return JSONResponse({"requests": fake.requests(path, method)})

    @app.delete("/__admin/requests", include_in_schema=False)
    async def admin_clear_requests() -> JSONResponse:
        fake.clear_requests()
        return JSONResponse({"ok": True})

    @app.get("/__admin/faults", include_in_schema=False)
    async def admin_faults() -> JSONResponse:
        return JSONResponse({"pending": fake.faults.pending(), "fired": fake.faults.fired})

    @app.post("/__admin/faults", include_in_schema=False)
    async def admin_add_faults(request: Request) -> JSONResponse:
        payload = await request.json()
        items = payload if isinstance(payload, list) else [payload]
        try:
            fake.faults.add(*[Fault.from_dict(d) for d in items])
        except (TypeError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"pending": fake.faults.pending()})

    @app.delete("/__admin/faults", include_in_schema=False)
    async def admin_clear_faults() -> JSONResponse:
        fake.faults.clear()
        return JSONResponse({"ok": True})

    @app.get("/__admin/counts", include_in_schema=False)
    async def admin_counts() -> JSONResponse:
        return JSONResponse({a.account_id: a.counts() for a in fake.accounts.values()})

    @app.get("/__admin/ratelimits", include_in_schema=False)
    async def admin_ratelimits() -> JSONResponse:
        rl = fake.ratelimits
        return JSONResponse({"latency": fake.latency, "limits": rl.describe(), "throttled": rl.throttled(),
                             "violations": rl.violations(), "total_violations": rl.total_violations()})

    @app.delete("/__admin/ratelimits", include_in_schema=False)
    async def admin_reset_ratelimits() -> JSONResponse:
        fake.ratelimits.reset()
        return JSONResponse({"ok": True})

    @app.post("/__admin/mutate", include_in_schema=False)
    async def admin_mutate(request: Request) -> JSONResponse:
        """``{"account": id, "op": "add_order|add_event|touch_profile|add_profile|touch_campaign|touch_list|
        touch_flow", "args": {..., "at": ISO datetime}}``."""
        payload = await request.json()
        ops = {"add_order", "add_event", "touch_profile", "add_profile", "touch_campaign", "touch_list", "touch_flow"}
        if payload.get("op") not in ops:
            return JSONResponse({"error": f"op must be one of {sorted(ops)}"}, status_code=400)
        args = dict(payload.get("args") or {})
        args["at"] = flt.parse_datetime(args.get("at", "")) or datetime.now(timezone.utc)
        acct = fake.account(payload.get("account") or next(iter(fake.accounts.values())).account_id)
        obj = getattr(acct, payload["op"])(**args)
        return JSONResponse({"id": getattr(obj, "id", None)})

    return app


def _key_of(auth: str) -> str | None:
    return auth[len("Klaviyo-API-Key "):] if auth.startswith("Klaviyo-API-Key ") else None


def _retry_after_of(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _collection_document(resource: str, params: dict[str, str], acct: FakeAccount, base: str,
                         url: str) -> dict[str, Any]:
    endpoint = ENDPOINTS[resource]
    q = parse_query(endpoint, params)
    if resource == "events":
        items, last = _page_events(q, acct)
        shape = (id(acct), base, tuple(sorted(q.includes)), tuple(q.fields.get("event") or ("*",)))
        data = [_RENDERED.get((e.id, *shape), lambda e=e: _sparse(render_event(e, base, q.includes),
                                                                   q.fields.get("event"))) for e in items]
        included: dict[tuple[str, str], dict[str, Any]] = {}
        for e in items:
            if "metric" in q.includes and ("metric", e.metric_id) not in included:
                included[("metric", e.metric_id)] = _sparse(render_metric(acct.metrics[e.metric_id], base),
                                                            q.fields.get("metric"))
            if "attributions" in q.includes and e.attribution is not None:
                included[("attribution", e.attribution.id)] = _RENDERED.get(
                    ("attribution", e.attribution.id, id(acct), base),
                    lambda a=e.attribution: render_attribution(a, base))
            if ("profile" in q.includes and ("profile", e.profile_id) not in included
                    and e.profile_id in acct.profiles):
                included[("profile", e.profile_id)] = _sparse(render_profile(acct.profiles[e.profile_id], base),
                                                              q.fields.get("profile"))
        inc_list = list(included.values())
    else:
        coll = COLLECTIONS[resource]
        items, last = _page_collection(coll, q, acct)
        data = [_sparse(coll.render(x, base, q.includes, acct), q.fields.get(endpoint.type)) for x in items]
        seen: dict[tuple[str, str], dict[str, Any]] = {}
        for x in items:
            for inc in q.includes:
                for r in coll.related(x, inc, base, acct):
                    seen.setdefault((r["type"], r["id"]), r)
        inc_list = list(seen.values())
    doc: dict[str, Any] = {"data": data, "links": {"self": url, "next": _next_link(url, last), "prev": None}}
    if q.includes:
        doc["included"] = inc_list
    return doc


def _next_link(url: str, last: tuple[Any, ...] | None) -> str | None:
    if last is None:
        return None
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "page[cursor]"]
    query.append(("page[cursor]", _encode_cursor(last)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _report_document(body: bytes, content_type: str, acct: FakeAccount, base: str, url: str) -> dict[str, Any]:
    if "json" not in content_type:
        raise ApiError(415, "unsupported_media_type", "Unsupported media type.",
                       f"Content-Type must be {JSONAPI}.")
    try:
        payload = json.loads(body)
        attrs = payload["data"]["attributes"]
        if payload["data"].get("type") != "campaign-values-report":
            raise bad_request("data.type must be 'campaign-values-report'.")
    except (ValueError, KeyError, TypeError):
        raise bad_request("The request body is not a campaign-values-report document.") from None
    stats = attrs.get("statistics")
    if not isinstance(stats, list) or not stats:
        raise bad_request("statistics is required.", "statistics")
    bad = [s for s in stats if s not in REPORT_STATISTICS]
    if bad:
        raise bad_request(f"'{bad[0]}' is not a valid statistic.", "statistics")
    metric_id = attrs.get("conversion_metric_id")
    if not metric_id:
        raise bad_request("conversion_metric_id is required.", "conversion_metric_id")
    if metric_id not in acct.metrics:
        raise bad_request(f"Metric {metric_id} does not exist.", "conversion_metric_id")
    group_by = attrs.get("group_by") or ["campaign_id", "campaign_message_id", "send_channel"]
    if any(g not in REPORT_GROUP_BYS for g in group_by) or not {"campaign_id", "campaign_message_id"} <= set(group_by):
        raise bad_request("group_by must contain campaign_id and campaign_message_id and only allowed attributes.",
                          "group_by")
    if attrs.get("filter"):
        raise bad_request("The fake server does not support report filters.", "filter")
    tf = attrs.get("timeframe") or {}
    now = datetime.now(timezone.utc)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if "key" in tf:
        if tf["key"] not in TIMEFRAME_KEYS:
            raise bad_request(f"'{tf['key']}' is not a valid timeframe key.", "timeframe")
        days = TIMEFRAME_KEYS[tf["key"]]
        start, end = (today - timedelta(days=1), today) if tf["key"] == "yesterday" else (
            today - timedelta(days=days), now)
    else:
        start, end = flt.parse_datetime(str(tf.get("start", ""))), flt.parse_datetime(str(tf.get("end", "")))
        if start is None or end is None or end <= start:
            raise bad_request("timeframe needs a key or a start before its end.", "timeframe")
        if end - start > timedelta(days=366):
            raise bad_request("The timeframe must be at most one year.", "timeframe")
    results = acct.campaign_values(start.timestamp(), end.timestamp(), stats, metric_id, group_by)
    campaigns = sorted({r["groupings"]["campaign_id"] for r in results})
    links = {"self": f"{base}/api/campaign-values-reports/relationships/campaigns/",
             "related": f"{base}/api/campaigns/"}
    return {"data": {"type": "campaign-values-report",
                     "attributes": {"results": results},
                     "relationships": {"campaigns": {"data": [{"type": "campaign", "id": c} for c in campaigns],
                                                     "links": links}}},
            "links": {"self": url}}
