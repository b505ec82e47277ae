"""Smoke test of the scale benchmark (tests/benchmarks/bench_scale.py) at a tiny scale.

Asserts correctness, never speed: the fast path's documents are the documents a sync
stores (same renderers, compared with the server's own page for the same events), every
event written parses through ``stg_klaviyo__events``, the new day's orders reach
``fct_orders``, every mart is equal between the incremental database and the full
refresh — and the comparator does report a difference planted in one of them.
"""

from __future__ import annotations

from typing import Any

import orjson
import psycopg
import pytest

from orchestration.demo import DemoConfig
from orchestration.klaviyo.fake.app import _collection_document
from orchestration.klaviyo.fake.data import FakeAccount
from orchestration.klaviyo.streams import EVENTS, PROFILES, STREAMS_BY_NAME
from orchestration.klaviyo.sync import page_rows
from orchestration.project import ML_FED
from tests.benchmarks.scale import compare
from tests.benchmarks.scale.klaviyo_fastpath import BASE_URL, account_config, collection_rows, event_rows
from tests.benchmarks.scale.main import Options, run

SCALE = 0.02


def _normal(document: dict[str, Any]) -> Any:
    """A document as it comes back from the API (JSON round trip; orjson, since the server
    keeps rendered resources as pre-serialised fragments)."""
    return orjson.loads(orjson.dumps(document))


def _server_rows(account: FakeAccount, stream: str, params: dict[str, Any]) -> list[Any]:
    doc = _normal(_collection_document(stream, {k: str(v) for k, v in params.items()}, account, BASE_URL,
                                       f"{BASE_URL}/api/{stream}/"))
    return page_rows(STREAMS_BY_NAME[stream], doc["data"], doc.get("included", []))


def test_fast_path_documents_are_what_the_sync_stores() -> None:
    account = FakeAccount(account_config(DemoConfig(customers=300, campaigns=3, days=60, orders_target=3000)))
    server = _server_rows(account, "events", EVENTS.params())
    assert len(server) == 1000 and any("attribution" in {r["type"] for r in row.document["included"]}
                                       for row in server)
    by_id = {e.id: e for e in account.events}
    for row in server:
        [mine] = event_rows(account, [by_id[row.id]])
        assert (mine.id, mine.cursor_value, _normal(mine.document)) == (row.id, row.cursor_value, row.document)
    for stream, params in (("profiles", PROFILES.params()),
                           ("campaigns", STREAMS_BY_NAME["campaigns"].params(STREAMS_BY_NAME["campaigns"].partitions[0]))):
        server = _server_rows(account, stream, params)
        assert server
        mine = {r.id: r for r in collection_rows(account, stream)}
        for row in server:
            assert (mine[row.id].cursor_value, _normal(mine[row.id].document)) == (row.cursor_value, row.document)


@pytest.mark.slow
def test_scale_benchmark_smoke(server_dsn: str) -> None:
    seen: dict[str, Any] = {}

    def inspect(incremental: str, full: str, fig: dict[str, Any]) -> None:
        # plant a difference in one mart of the full-refresh clone: the comparator must see it
        with psycopg.connect(full, autocommit=True) as conn:
            conn.execute("update marts.fct_orders set net_revenue = net_revenue + 1 "
                         "where order_id = (select min(order_id) from marts.fct_orders)")
            conn.execute("delete from marts.dim_customers where customer_id = "
                         "(select max(customer_id) from marts.dim_customers)")
        seen["planted"] = {d.table: d for d in compare.compare_marts(incremental, full)}

    opts = Options(scale=SCALE, runs=1, warmups=0,
                   build_args=("--exclude", ML_FED, "--resource-type", "model", "--resource-type", "seed"))
    fig = run(opts, inspect=inspect, say=lambda _: None)

    assert not fig["full_build"]["failures"] and not fig["incremental_build"]["failures"]
    assert not fig["full_refresh_build"]["failures"]
    written = fig["klaviyo_fastpath"]["rows"]["events"] + fig["new_day"]["klaviyo_events"]
    checks = fig["checks"]
    assert written > 15_000
    assert checks["raw_events"] == checks["stg_events"] == checks["stg_events_with_metric"] == written
    assert checks["new_day_orders"] > 0
    assert checks["new_day_orders_in_fct_orders"] == checks["new_day_orders"]
    assert checks["new_day_lines_in_int_order_lines"] == fig["new_day"]["order_lines"]

    compared = {c["table"]: c for c in fig["comparison"]}
    assert {"fct_orders", "dim_customers", "fct_campaign_daily", "fct_email_campaign_performance",
            "staging.stg_klaviyo__events", "intermediate.int_order_lines_classified"} <= set(compared)
    assert all(c["equal"] for c in compared.values()), [c for c in compared.values() if not c["equal"]]
    assert compared["fct_orders"]["rows_incremental"] > 0

    planted = seen["planted"]
    assert (planted["fct_orders"].only_in_a, planted["fct_orders"].only_in_b) == (1, 1)
    assert (planted["dim_customers"].only_in_a, planted["dim_customers"].only_in_b) == (1, 0)
    assert not planted["fct_orders"].equal and "2 rows differ" in planted["fct_orders"].line()
    assert [t for t, d in planted.items() if not d.equal] == ["dim_customers", "fct_orders"]

    queried = {q["name"]: q for q in fig["queries"]}
    assert queried["dashboards/campaign_daily"]["rows"] > 0 and queried["campaign_one"]["rows"] > 0
