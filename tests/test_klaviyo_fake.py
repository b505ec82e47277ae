"""The local Klaviyo-compatible server: filter syntax, validation like the real API, paging,
consistency with the CSV demo data, and stream definitions checked against Klaviyo's OpenAPI spec."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone

import httpx
import pandas as pd
import pytest

from orchestration.demo import DemoConfig, generate, read_demo_config
from orchestration.klaviyo.config import DEFAULT_REVISION
from orchestration.klaviyo.fake import ENDPOINTS, FakeAccount, FakeAccountConfig, ThreadedServer, create_app
from orchestration.klaviyo.fake import filters as flt
from orchestration.klaviyo.streams import (
    CONVERSION_METRIC_NAME,
    REPORT_GROUP_BY,
    REPORT_STATISTICS,
    STREAMS,
)

KEY = "pk_fake_tests"
HEADERS = {"Authorization": f"Klaviyo-API-Key {KEY}", "revision": DEFAULT_REVISION, "accept": "application/vnd.api+json"}


@pytest.fixture(scope="module")
def account() -> FakeAccount:
    return FakeAccount(FakeAccountConfig(customers=200, days=30))


@pytest.fixture(scope="module")
def http(account):
    with ThreadedServer(create_app({KEY: account})) as srv, httpx.Client(base_url=srv.base_url, headers=HEADERS) as c:
        yield c


# -- filter syntax -----------------------------------------------------------------------------------

def test_filter_parser_handles_klaviyos_syntax():
    node = flt.parse("and(equals(messages.channel,'email'),equals(archived,true),"
                     "greater-or-equal(updated_at,2024-01-01T00:00:00Z))")
    assert node == flt.Bool("and", (
        flt.Cond("equals", "messages.channel", "email"), flt.Cond("equals", "archived", True),
        flt.Cond("greater-or-equal", "updated_at", datetime(2024, 1, 1, tzinfo=timezone.utc))))
    assert flt.parse("equals(a,1),less-than(b,2.5)") == flt.Bool("and", (flt.Cond("equals", "a", 1),
                                                                          flt.Cond("less-than", "b", 2.5)))
    assert flt.parse('any(id,["x","y\\"z"])') == flt.Cond("any", "id", ["x", 'y"z'])
    assert flt.parse("has(profile)") == flt.Cond("has", "profile")
    assert flt.parse("greater-than(updated,2024-01-01T00:00:00+02:00)").value.isoformat() == "2024-01-01T00:00:00+02:00"
    assert flt.parse("not(equals(status,'Draft'))").op == "not"
    node = flt.parse("or(equals(name,'a'),and(greater-than(n,2),less-than(n,5)))")
    assert [flt.evaluate(node, {"name": name, "n": n}.get) for name, n in [("a", 0), ("b", 3), ("b", 5)]] == [
        True, True, False]
    for bad in ("equals(a,'x'", "wat(a,1)", "equals(a,)", "and()", "equals(a,1) trailing", "equals(a,2024-13-45T00:00:00)"):
        with pytest.raises(flt.FilterError):
            flt.parse(bad)


# -- the API answers like Klaviyo's ---------------------------------------------------------------------

@pytest.mark.parametrize("path, params, fragment", [
    ("events", {"page[size]": "1001"}, "between 1 and 1000"),
    ("events", {"page[size]": "0"}, "between 1 and 1000"),
    ("lists", {"page[size]": "11"}, "between 1 and 10"),
    ("metrics", {"page[size]": "10"}, "'page[size]' is not a valid query parameter"),
    ("events", {"filter": "greater-than(updated,2024-01-01T00:00:00Z)"}, "'updated' is not a valid field"),
    ("profiles", {"filter": "greater-or-equal(updated,2024-01-01T00:00:00Z)"}, "'greater-or-equal' operation is not allowed"),
    ("events", {"filter": "greater-or-equal(datetime,yesterday)"}, "Invalid filter provided"),
    ("events", {"filter": "greater-or-equal(datetime,'2024')"}, "not a valid date-time"),
    ("campaigns", {}, "A channel filter is required"),
    ("events", {"include": "metric,campaign"}, "'campaign' is not a valid related resource"),
    ("events", {"sort": "updated"}, "'updated' is not a valid sort field"),
    ("events", {"page[cursor]": "!!!"}, "Invalid page cursor"),
    ("events", {"fields[campaign]": "name"}, "'fields[campaign]' is not a valid query parameter"),
])
def test_bad_requests_get_a_400_with_klaviyo_style_errors(http, path, params, fragment):
    r = http.get(path, params=params)
    assert r.status_code == 400, r.text
    (err,) = r.json()["errors"]
    assert fragment in err["detail"] and err["code"] == "invalid" and err["status"] == 400


def test_key_and_revision_are_required(http):
    assert http.get("metrics", headers={"Authorization": "Klaviyo-API-Key nope"}).status_code == 401
    assert http.get("metrics", headers={"Authorization": f"Bearer {KEY}"}).status_code == 401
    r = httpx.get(str(http.base_url.join("metrics")), headers={"Authorization": f"Klaviyo-API-Key {KEY}"})
    assert r.status_code == 400 and "revision" in r.json()["errors"][0]["detail"]
    assert http.get("metrics", headers={"revision": "2099-01-01"}).status_code == 400
    assert http.get("metrics/").status_code == 200  # trailing slash as on the real API


def test_paging_is_keyset_and_complete_both_directions(http, account):
    def walk(params):
        ids, url, pages = [], "events", 0
        while url:
            doc = http.get(url, params=params if url == "events" else None).json()
            ids += [(r["attributes"]["timestamp"], r["id"]) for r in doc["data"]]
            url, pages = doc["links"]["next"], pages + 1
        return ids, pages

    asc, pages = walk({"sort": "datetime", "page[size]": "500"})
    assert asc == sorted((e.ts, e.id) for e in account.events) and pages == -(-len(asc) // 500)
    desc, _ = walk({"sort": "-datetime", "page[size]": "700"})
    assert desc == asc[::-1]
    lo, hi = asc[100][0], asc[900][0]
    ranged, _ = walk({"filter": f"and(greater-or-equal(datetime,{datetime.fromtimestamp(lo, timezone.utc).isoformat()}),"
                                f"less-than(timestamp,{hi}))", "page[size]": "250"})
    assert ranged == [k for k in asc if lo <= k[0] < hi]


def test_defaults_sparse_fields_and_includes(http, account):
    doc = http.get("profiles").json()
    assert len(doc["data"]) == 20 and doc["links"]["next"]  # default page size 20, max 100
    doc = http.get("events", params={"page[size]": "1", "fields[event]": "datetime"}).json()
    assert list(doc["data"][0]["attributes"]) == ["datetime"] and "included" not in doc
    doc = http.get("campaigns", params={"filter": "equals(messages.channel,'sms')", "include": "campaign-messages"}).json()
    assert {c["attributes"]["archived"] for c in doc["data"]} == {False}  # archived only when asked
    assert all(m["attributes"]["definition"]["channel"] == "sms" for m in doc["included"])
    archived = http.get("campaigns", params={"filter": "and(equals(messages.channel,'sms'),equals(archived,true))"})
    assert [c["attributes"]["archived"] for c in archived.json()["data"]] == [True]


def test_report_endpoint_validates_and_answers(http, account):
    placed = account.metric_by_name[CONVERSION_METRIC_NAME].id
    body = {"data": {"type": "campaign-values-report", "attributes": {
        "statistics": ["opens", "conversions", "open_rate"],
        "timeframe": {"start": "2020-01-01T00:00:00Z", "end": "2021-06-01T00:00:00Z"},
        "conversion_metric_id": placed}}}
    r = http.post("campaign-values-reports", content=json.dumps(body),
                  headers={"content-type": "application/vnd.api+json"})
    assert r.status_code == 400 and "at most one year" in r.text
    body["data"]["attributes"]["timeframe"] = {"key": "last_365_days"}
    body["data"]["attributes"]["statistics"].append("likes")
    r = http.post("campaign-values-reports", content=json.dumps(body), headers={"content-type": "application/vnd.api+json"})
    assert r.status_code == 400 and "'likes' is not a valid statistic" in r.text
    body["data"]["attributes"]["statistics"].pop()
    r = http.post("campaign-values-reports/", content=json.dumps(body), headers={"content-type": "application/vnd.api+json"})
    results = r.json()["data"]["attributes"]["results"]
    sent = [c for c in account.campaigns.values() if c.send_time]
    assert {x["groupings"]["campaign_id"] for x in results} == {c.id for c in sent}
    assert all(set(x["statistics"]) == {"opens", "conversions", "open_rate"} for x in results)


# -- consistent with the CSV demo data ------------------------------------------------------------------

@pytest.mark.parametrize("share", [1.0, 0.3])
def test_account_mirrors_the_demo_customers_and_orders(tmp_path, share):
    """The account built from the demo files' manifest holds (a share of) their customers, and
    exactly the orders of those customers, with the files' order ids as $event_id."""
    generate(tmp_path, DemoConfig(customers=150, days=30, seed=11, campaigns=4, errors_per_reason=0))
    account = FakeAccount(FakeAccountConfig.mirroring(read_demo_config(tmp_path), profile_share=share))
    customers = pd.read_csv(tmp_path / "customers/customers.csv", dtype=str)
    with gzip.open(tmp_path / "orders/orders.csv.gz", "rt") as fh:
        orders = pd.read_csv(fh, dtype={"customer_id": str, "order_id": str}, keep_default_na=False)

    profiles = {p.customer_id: p for p in account.profiles.values()}
    assert set(profiles) <= set(customers["customer_id"])
    if share == 1.0:
        assert sorted(profiles) == sorted(customers["customer_id"])
    else:
        assert 0.2 * len(customers) < len(profiles) < 0.4 * len(customers)
    assert all(p.email == f"{cid.lower()}@example.com" for cid, p in profiles.items())
    signup = dict(zip(customers["customer_id"], customers["signup_date"]))
    assert all(datetime.fromtimestamp(p.created, timezone.utc).date().isoformat() == signup[cid]
               for cid, p in profiles.items())

    registered = orders[orders["customer_id"].isin(profiles.keys())].copy()
    registered["cents"] = (registered["quantity"].astype(int) * (registered["unit_price"].astype(float) * 100).round())
    by_order = registered.groupby("order_id").agg(customer_id=("customer_id", "first"),
                                                  ordered_at=("ordered_at", "first"), cents=("cents", "sum"))
    names = {m.id: m.name for m in account.metrics.values()}
    events = {e.properties["$event_id"]: e for e in account.events
              if names[e.metric_id] in ("Placed Order", "Cancelled Order")}
    assert set(events) == set(by_order.index)
    for order_id, row in by_order.iterrows():
        e = events[order_id]
        assert names[e.metric_id] == ("Cancelled Order" if order_id.startswith("C") else "Placed Order")
        assert account.profiles[e.profile_id].customer_id == row.customer_id
        assert e.properties["$value"] == round(abs(row.cents) / 100, 2)
        assert datetime.fromtimestamp(e.ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S") == row.ordered_at


def test_generated_account_is_deterministic_and_realistic():
    a = FakeAccount(FakeAccountConfig(customers=200, days=30, seed=5, start=datetime(2024, 3, 1).date()))
    b = FakeAccount(FakeAccountConfig(customers=200, days=30, seed=5, start=datetime(2024, 3, 1).date()))
    assert [(e.id, e.ts, e.properties) for e in a.events] == [(e.id, e.ts, e.properties) for e in b.events]
    names = {m.id: m.name for m in a.metrics.values()}
    count = {n: sum(1 for e in a.events if names[e.metric_id] == n) for n in names.values()}
    assert 0.25 < count["Opened Email"] / count["Received Email"] < 0.8
    assert count["Clicked Email"] < count["Opened Email"] and count["Bounced Email"] < 0.05 * count["Received Email"]
    placed = [e for e in a.events if names[e.metric_id] == "Placed Order"]
    share = sum(1 for e in placed if e.attribution) / len(placed)
    assert 0.1 < share < 0.7
    assert any(e.attribution.flow_id for e in placed if e.attribution)
    assert any(e.attribution.campaign_id for e in placed if e.attribution)
    assert all(e.ts < a.end_ts for e in a.events)


# -- stream definitions against the published OpenAPI spec ----------------------------------------------

def _spec(shared_data):
    return json.loads((shared_data / "klaviyo_openapi" / "stable.json").read_text())


def _param(op, name):
    return next(p for p in op["parameters"] if p.get("name") == name)


def test_streams_follow_the_openapi_spec(shared_data):
    spec = _spec(shared_data)
    assert spec["info"]["version"] == DEFAULT_REVISION
    for stream in STREAMS:
        path = f"/api/{stream.path}"
        if stream.kind == "report":
            op = spec["paths"][path]["post"]
            attrs = spec["components"]["schemas"]["CampaignValuesRequestDTOResourceObject"]["properties"]["attributes"]
            assert set(REPORT_STATISTICS) <= set(attrs["properties"]["statistics"]["items"]["enum"])
            assert set(REPORT_GROUP_BY) <= set(attrs["properties"]["group_by"]["items"]["enum"])
            assert stream.scope in op["x-klaviyo-scopes"]
            continue
        op = spec["paths"][path]["get"]
        assert op["x-klaviyo-scopes"] == [stream.scope], stream.name
        names = {p.get("name") for p in op["parameters"]}
        if stream.page_size is None:
            assert "page[size]" not in names, stream.name
        else:
            assert _param(op, "page[size]")["schema"]["maximum"] == stream.page_size, stream.name
        filters = op.get("x-klaviyo-filters") or {}
        if stream.cursor_field:
            allowed = filters[stream.cursor_field]["operators"]["single"]
            assert stream.cursor_operator in allowed, stream.name
            if stream.kind == "events":
                assert "less-than" in allowed
            if stream.cursor_operator == "greater-than":
                assert "greater-or-equal" not in allowed and stream.overlap.total_seconds() > 0
            assert stream.sort in _param(op, "sort")["schema"]["enum"]
        for partition in stream.partitions:
            for cond in flt.conditions(flt.parse(partition)) if partition else []:
                assert cond.op in sum(filters[cond.field]["operators"].values(), []), (stream.name, cond)
        if stream.include:
            assert set(stream.include) <= set(_param(op, "include")["schema"]["items"]["enum"])


def test_fake_endpoints_follow_the_openapi_spec(shared_data):
    spec = _spec(shared_data)
    for name, endpoint in ENDPOINTS.items():
        op = spec["paths"][f"/api/{name}"]["get"]
        names = {p.get("name") for p in op["parameters"]}
        if endpoint.page_max is None:
            assert "page[size]" not in names
        else:
            schema = _param(op, "page[size]")["schema"]
            assert (schema["default"], schema["maximum"]) == (endpoint.page_default, endpoint.page_max), name
        ops = {f: set(sum(v["operators"].values(), [])) for f, v in (op.get("x-klaviyo-filters") or {}).items()}
        assert ops == endpoint.filters, name
        sorts = {s.lstrip("-") for s in _param(op, "sort")["schema"]["enum"]} if "sort" in names else set()
        assert set(endpoint.sorts) <= sorts and (not sorts or endpoint.default_sort in sorts), name
        assert set(endpoint.includes) == set(_param(op, "include")["schema"]["items"]["enum"]), name
        assert {f"fields[{t}]" for t in endpoint.fields} == {n for n in names if n and n.startswith("fields[")}, name
        assert op["x-klaviyo-scopes"] == [endpoint.scope]


def test_demo_resource_serves_the_landing_files_or_nothing(tmp_path):
    """Without a Klaviyo key the resource serves the demo files' own customers (a share of
    them), over HTTP; with real files (no demo manifest) it serves no account at all."""
    from orchestration.assets.klaviyo import KlaviyoResource

    resource = KlaviyoResource(demo_profile_share=0.5)
    with resource.accounts(tmp_path) as (accounts, now):
        assert (accounts, now) == ([], None)

    demo = DemoConfig(customers=120, days=20, seed=3, campaigns=2, errors_per_reason=0)
    generate(tmp_path, demo)
    customers = set(pd.read_csv(tmp_path / "customers/customers.csv", dtype=str)["customer_id"])
    with resource.accounts(tmp_path) as (accounts, now):
        [config] = accounts
        assert now.date() == demo.end + pd.Timedelta(days=2)
        headers = {**HEADERS, "Authorization": f"Klaviyo-API-Key {config.api_key}"}
        with httpx.Client(base_url=config.base_url, headers=headers) as client:
            page = client.get("profiles/", params={"page[size]": 100, "fields[profile]": "external_id"}).json()
    served = {p["attributes"]["external_id"] for p in page["data"]}
    assert served <= customers and 0.3 * len(customers) < len(served) < 0.7 * len(customers)
