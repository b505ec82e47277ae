"""The Klaviyo dbt models on a small raw fixture, checked against Python.

``tests/fixtures/klaviyo_minimal.sql`` holds JSON:API documents as Klaviyo's API returns
them (profiles, metrics, campaigns, a flow, events with native attribution, campaign
values reports) beside the CSV fixture ``raw_minimal.sql``. ``dbt build`` runs every
model, data test and unit test; the email marts, the attribution and the channel marts
are then compared with values computed here from the raw documents, independently of
the SQL. Also: the incremental events model picks up newly loaded events only once, no
e-mail address leaves ``klaviyo_raw``, and the reconciliation asset check lists a campaign
whose numbers disagree with Klaviyo's report.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import psycopg
import pytest

from orchestration import settings
from orchestration.assets.reconciliation import klaviyo_campaigns_reconcile
from orchestration.resources import WarehouseResource
from tests.dbt_cli import dbt_test_env, run_dbt
from tests.scratch import drop_database

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "tests" / "fixtures"
VENV_BIN = REPO_ROOT / ".venv" / "bin"
SIX_PLACES = Decimal("0.000001")

# the defaults of dbt_project.yml
CONVERSION = "Placed Order"
ELIGIBLE = {"Opened Email", "Clicked Email", "Clicked SMS"}
WINDOW = {"email": timedelta(hours=120), "sms": timedelta(hours=24)}
KIND = {
    "Received Email": "received", "Received SMS": "received", "Opened Email": "opened",
    "Clicked Email": "clicked", "Clicked SMS": "clicked", "Bounced Email": "bounced",
    "Unsubscribed": "unsubscribed", "Marked Email as Spam": "spam_complaint",
}
SPRING, NEWS, FLASH = "01HQSPRING0000000000000000", "01HQNEWSAPR000000000000000", "01HQFLASHSMS00000000000000"


def _dbt(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return run_dbt(args, env, tmp_path, timeout=300)


def _ratio(numerator, denominator) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(SIX_PLACES, rounding=ROUND_HALF_UP)


def _channel(metric_name: str) -> str | None:
    lowered = metric_name.lower()
    return "sms" if "sms" in lowered else "email" if "email" in lowered else None


def _events(conn: psycopg.Connection) -> list[dict]:
    """The raw events, unpacked here in Python (not by the staging SQL)."""
    metric_names = dict(conn.execute("select id, document #>> '{attributes,name}' from klaviyo_raw.metrics"))
    # $message may name a campaign message: its campaign lists it in relationships
    message_campaign = {
        message["id"]: document["id"]
        for (document,) in conn.execute("select document from klaviyo_raw.campaigns")
        for message in document["relationships"]["campaign-messages"]["data"]
    }
    events = []
    for (document,) in conn.execute("select document from klaviyo_raw.events"):
        attributes, relationships = document["attributes"], document["relationships"]
        properties = attributes["event_properties"]
        metric = metric_names[relationships["metric"]["data"]["id"]]
        attribution = next((r["relationships"] for r in document.get("included", []) if r["type"] == "attribution"), {})

        def rel(name: str, attribution=attribution) -> str | None:
            return attribution.get(name, {}).get("data", {}).get("id")

        event = {
            "id": document["id"],
            "profile": relationships["profile"]["data"]["id"],
            "metric": metric,
            "at": datetime.fromisoformat(attributes["datetime"]),
            "value": Decimal(str(properties.get("$value", 0))),
            "channel": _channel(metric),
            "variation": properties.get("$variation"),
        }
        if metric == CONVERSION:  # Klaviyo's own attribution, if any
            flow = rel("flow") or properties.get("$attributed_flow")
            campaign = None if flow else rel("campaign") or properties.get("$attributed_message")
            event["native"] = ("flow", flow, rel("flow-message") or properties.get("$attributed_message")) if flow \
                else ("campaign", campaign, None) if campaign else None
            event["native_touch"] = rel("attributed-event")
        else:
            flow = properties.get("$flow")
            message = properties.get("$message")
            campaign = message_campaign.get(message, message)
            event["message"] = ("flow", flow, message) if flow else ("campaign", campaign, None) if message else None
        events.append(event)
    return events


def _attribute(events: list[dict]) -> dict[str, dict]:
    """Native attribution wins; else the latest eligible touch inside its channel's window."""
    by_id = {e["id"]: e for e in events}
    result = {}
    for conversion in (e for e in events if e["metric"] == CONVERSION):
        if conversion["native"]:
            touch = by_id.get(conversion["native_touch"])
            result[conversion["id"]] = {"type": "native", "message": conversion["native"], "touch": touch,
                                        "conversion": conversion}
            continue
        touches = [
            e for e in events
            if e["metric"] in ELIGIBLE and e.get("message") and e["profile"] == conversion["profile"]
            and e["at"] <= conversion["at"] and conversion["at"] - e["at"] <= WINDOW[e["channel"]]
        ]
        touch = max(touches, key=lambda e: (e["at"], e["id"]), default=None)
        result[conversion["id"]] = {
            "type": "last_touch" if touch else "unattributed",
            "message": touch["message"] if touch else None,
            "touch": touch,
            "conversion": conversion,
        }
    return result


def _campaign_measures(events: list[dict], attribution: dict[str, dict], campaign_id: str) -> dict:
    mine = [e for e in events if e.get("message") and e["message"][:2] == ("campaign", campaign_id)]

    def profiles(*kinds: str) -> set[str]:
        return {e["profile"] for e in mine if KIND.get(e["metric"]) in kinds}

    credited = [
        a["conversion"] for a in attribution.values() if a["message"] and a["message"][:2] == ("campaign", campaign_id)
    ]
    return {
        "recipients": len(profiles("received", "bounced")),
        "delivered": len(profiles("received")),
        "bounces": len(profiles("bounced")),
        "unique_opens": len(profiles("opened")),
        "total_opens": sum(1 for e in mine if KIND.get(e["metric"]) == "opened"),
        "unique_clicks": len(profiles("clicked")),
        "total_clicks": sum(1 for e in mine if KIND.get(e["metric"]) == "clicked"),
        "unsubscribes": len(profiles("unsubscribed")),
        "spam_complaints": len(profiles("spam_complaint")),
        "attributed_orders": len(credited),
        "attributed_revenue": sum((c["value"] for c in credited), Decimal(0)),
    }


def _rows(conn: psycopg.Connection, query: str) -> list[dict]:
    cursor = conn.execute(query)
    names = [c.name for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _keyed(conn: psycopg.Connection, relation: str, key: str, where: str = "true") -> dict[str, dict]:
    return {row[key]: row for row in _rows(conn, f"select * from {relation} where {where}")}


#: the Klaviyo models, the channel marts they feed, and their tests (not the whole project)
SELECTION = [
    "+fct_email_campaign_performance", "+fct_email_campaign_message_performance", "+fct_flow_performance",
    "+fct_flow_message_performance", "+dim_email_profiles", "stg_klaviyo__lists", "+fct_channel_performance",
    "+fct_campaign_performance", "fct_email_campaign_reconciliation",
]


@pytest.fixture(scope="module")
def built(module_db: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str], Path, dict]:
    """Both fixtures loaded and the selection built once for the module: (dsn, env, dbt dir, statuses)."""
    with psycopg.connect(module_db, autocommit=True) as conn:
        conn.execute((FIXTURES / "raw_minimal.sql").read_text())
        conn.execute((FIXTURES / "klaviyo_minimal.sql").read_text())
    env = dbt_test_env(settings.dbt_env(module_db))
    dbt_dir = tmp_path_factory.mktemp("dbt")
    result = _dbt(["build", "--threads", "4", "--select", *SELECTION], env, dbt_dir)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    run_results = json.loads((dbt_dir / "target" / "run_results.json").read_text())
    return module_db, env, dbt_dir, {r["unique_id"]: r["status"] for r in run_results["results"]}


def test_klaviyo_models_build_and_match_python(built) -> None:
    fresh_db, _env_unused, _dir, statuses = built
    assert not [u for u, status in statuses.items() if status not in ("pass", "success", "warn")]
    klaviyo_units = [u for u in statuses if u.startswith("unit_test.") and ("klaviyo" in u or "email" in u)]
    assert len(klaviyo_units) >= 8 and all(statuses[u] == "pass" for u in klaviyo_units), klaviyo_units
    reconciled = klaviyo_campaigns_reconcile(warehouse=WarehouseResource(dsn=fresh_db))
    assert reconciled.passed, reconciled.description
    assert reconciled.metadata["measures_compared"].value > 0

    with psycopg.connect(fresh_db) as conn:
        events = _events(conn)
        attribution = _attribute(events)
        got_attribution = _keyed(conn, "intermediate.int_klaviyo__event_attribution", "conversion_event_id")
        campaigns = _keyed(conn, "marts.fct_email_campaign_performance", "campaign_id")
        variations = _keyed(conn, "marts.fct_email_campaign_message_performance", "variation_id",
                            f"campaign_id = '{NEWS}'")
        flow = _rows(conn, "select * from marts.fct_flow_performance")
        flow_messages = _keyed(conn, "marts.fct_flow_message_performance", "flow_message_id")
        profiles = _keyed(conn, "marts.dim_email_profiles", "profile_id")
        raw_emails = dict(conn.execute("select id, document #>> '{attributes,email}' from klaviyo_raw.profiles"))
        channel_month = _keyed(conn, "marts.fct_channel_performance", "channel",
                               "grain = 'month' and period_start = '2024-03-01'")
        performance = _keyed(conn, "marts.fct_campaign_performance", "campaign_name")
        csv_rows = _rows(conn, "select channel, sum(cost) as spend from raw.campaign_performance"
                               " where date between '2024-03-01' and '2024-03-31' group by channel")

    # --- attribution: every conversion, by type and credited message --------------------
    assert set(got_attribution) == set(attribution)
    for conversion_id, expected in attribution.items():
        got = got_attribution[conversion_id]
        assert got["attribution_type"] == expected["type"], conversion_id
        message = expected["message"]
        got_message = (got["attributed_message_type"], got["attributed_flow_id"] or got["attributed_campaign_id"],
                       got["attributed_flow_message_id"]) if got["attributed_message_type"] else None
        assert got_message == message, conversion_id
        if expected["touch"]:
            assert got["touch_event_id"] == expected["touch"]["id"], conversion_id
    # concrete pins, so a shared mistake in the Python above can't hide
    assert {c: a["attribution_type"] for c, a in got_attribution.items()} == {
        "O1": "last_touch", "O2": "last_touch", "O3": "last_touch", "O4": "last_touch", "O5": "native",
        "O6": "native", "O7": "unattributed", "O8": "unattributed", "O9": "last_touch",
    }
    assert got_attribution["O3"]["attributed_campaign_id"] == FLASH  # most recent touch: the SMS click
    assert got_attribution["O4"]["attributed_campaign_id"] == NEWS  # SMS out of 24 h, email inside 120 h
    assert got_attribution["O5"]["attributed_campaign_id"] == SPRING  # native beats the flow's last touch
    assert got_attribution["O6"]["attributed_flow_message_id"] == "FM2"
    assert got_attribution["O6"]["attributed_channel"] == "sms"

    # --- campaign mart: measures and rates ------------------------------------------------
    assert set(campaigns) == {SPRING, NEWS, FLASH}
    for campaign_id, row in campaigns.items():
        expected = _campaign_measures(events, attribution, campaign_id)
        for measure, value in expected.items():
            assert row[measure] == value, (campaign_id, measure)
        assert row["open_rate"] == _ratio(expected["unique_opens"], expected["delivered"])
        assert row["click_rate"] == _ratio(expected["unique_clicks"], expected["delivered"])
        assert row["click_to_open_rate"] == _ratio(expected["unique_clicks"], expected["unique_opens"])
        assert row["delivery_rate"] == _ratio(expected["delivered"], expected["recipients"])
        assert row["unsubscribe_rate"] == _ratio(expected["unsubscribes"], expected["delivered"])
        assert row["revenue_per_recipient"] == _ratio(expected["attributed_revenue"], expected["recipients"])
        assert row["campaign_key"] == f"klaviyo:acct1:campaign:{campaign_id}"
    assert {c: r["channel"] for c, r in campaigns.items()} == {SPRING: "email", NEWS: "email", FLASH: "sms"}
    spring = campaigns[SPRING]
    assert (spring["recipients"], spring["delivered"], spring["bounces"], spring["unique_opens"],
            spring["total_opens"], spring["attributed_revenue"]) == (5, 4, 1, 2, 3, Decimal("160.0000"))
    assert spring["open_rate"] == Decimal("0.500000")
    assert campaigns[FLASH]["attributed_revenue"] == Decimal("125.0000")  # 80 + "45.00"

    # A/B variations of the newsletter: its one message, split by $variation
    assert set(variations) == {"VarB1", "VarB2"}
    assert {v: r["campaign_message_id"] for v, r in variations.items()} == {"VarB1": "CMNEWS01", "VarB2": "CMNEWS01"}
    assert (variations["VarB1"]["attributed_revenue"], variations["VarB2"]["attributed_revenue"]) == (50, 30)
    assert variations["VarB2"]["delivered"] == 2 and variations["VarB2"]["unique_clicks"] == 1

    # --- flow marts -------------------------------------------------------------------------
    assert len(flow) == 1 and flow[0]["flow_name"] == "Welcome Series" and flow[0]["channels"] == "email, sms"
    assert (flow[0]["delivered"], flow[0]["unique_clicks"], flow[0]["attributed_revenue"]) == (2, 1, 40)
    assert {m: r["channel"] for m, r in flow_messages.items()} == {"FM1": "email", "FM2": "sms"}
    assert flow_messages["FM2"]["attributed_orders"] == 1

    # --- profiles: hashed email, no PII, lifetime counts -----------------------------------
    assert set(profiles) == set(raw_emails)
    for profile_id, email in raw_emails.items():
        assert profiles[profile_id]["email_sha256"] == hashlib.sha256(email.strip().lower().encode()).hexdigest()
    p1 = profiles["P1"]
    p1_events = [e for e in events if e["profile"] == "P1"]
    assert p1["total_opens"] == sum(1 for e in p1_events if e["metric"] == "Opened Email") == 3
    assert p1["orders"] == 3 and p1["order_revenue"] == 220
    assert p1["attributed_orders"] == 2 and p1["attributed_revenue"] == 150
    assert p1["customer_id"] == "CUST-001" and profiles["P2"]["customer_id"] == "CUST-002"

    # --- channel marts: Klaviyo rows replace the CSV email/sms measures, spend kept ---------
    klaviyo_revenue: dict[str, Decimal] = defaultdict(Decimal)
    for a in attribution.values():
        if a["message"]:
            kind, parent, flow_message = a["message"]
            if kind == "campaign":
                channel = campaigns[parent]["channel"]
            else:
                channel = flow_messages[flow_message]["channel"]
            klaviyo_revenue[channel] += a["conversion"]["value"]
    csv_spend = {r["channel"]: r["spend"] for r in csv_rows}
    assert channel_month["email"]["revenue"] == klaviyo_revenue["email"] == 240  # CSV Newsletter March (210) replaced
    assert channel_month["email"]["spend"] == csv_spend["Klaviyo"] + csv_spend["email"]
    assert channel_month["email"]["sources"] == "ads, klaviyo"
    assert channel_month["sms"]["revenue"] == klaviyo_revenue["sms"] == 165
    assert channel_month["sms"]["sources"] == "klaviyo"
    assert channel_month["paid_search"]["sources"] == "ads"
    assert performance["Newsletter March"]["revenue"] == 0 and performance["Newsletter March"]["source"] == "ads"
    assert performance["Spring Sale"]["source"] == "klaviyo" and performance["Spring Sale"]["revenue"] == 160
    assert performance["Spring Sale"]["campaign_key_source"] == "klaviyo_campaign"
    assert performance["Welcome Series"]["campaign_key_source"] == "klaviyo_flow"


def _copy_event(conn: psycopg.Connection, source_id: str, new_id: str, at: str, profile: str | None = None,
                properties: dict | None = None) -> None:
    """A raw event as a later sync lands it (after every row loaded so far): the fixture event
    ``source_id`` with a new id, time, profile and event properties merged in."""
    conn.execute(
        """insert into klaviyo_raw.events (account_id, id, cursor_value, document, _sync_id, _loaded_at)
           select account_id, %(id)s, %(at)s, jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(document,
               '{id}', to_jsonb(%(id)s::text)),
               '{attributes,datetime}', to_jsonb(to_char(%(at)s::timestamptz at time zone 'UTC',
                                                        'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'))),
               '{attributes,timestamp}', to_jsonb(cast(extract(epoch from %(at)s::timestamptz) as bigint))),
               '{relationships,profile,data,id}', to_jsonb(coalesce(%(profile)s, document #>> '{relationships,profile,data,id}'))),
               '{attributes,event_properties}', document #> '{attributes,event_properties}' || %(props)s::jsonb)
           , 'sync-late', (select max(_loaded_at) + interval '1 minute' from klaviyo_raw.events)
           from klaviyo_raw.events where id = %(source)s""",
        {"id": new_id, "at": at, "profile": profile, "props": json.dumps(properties or {}), "source": source_id},
    )


def test_incremental_klaviyo_models_equal_a_full_refresh(built, server_dsn: str, tmp_path: Path) -> None:
    """Two later syncs, built incrementally, give table for table what a full refresh gives
    (on a clone of the module's database before the tests below change its raw data):
    (1) a late-arriving open that now credits an older order, and a click on a message no
    campaign lists yet followed by an order; (2) the campaign of that message arrives (a
    lookup change: the click, and the order it credits, move to the campaign)."""
    from tests.benchmarks.scale.compare import compare_marts
    from tests.benchmarks.scale.main import clone_database

    dsn, env, _dir, _statuses = built
    inc = clone_database(server_dsn, dsn, f"{settings.dsn_parts(dsn)['dbname'][:40]}_inc")
    full = None
    try:
        inc_env = dbt_test_env(settings.dbt_env(inc))
        with psycopg.connect(inc, autocommit=True) as conn:
            # O8 (P1, 03-16 12:00) was unattributed: its last touch was 146 h old
            _copy_event(conn, "E15", "L01", "2024-03-15 12:00+00")
            _copy_event(conn, "E16", "L02", "2024-03-21 09:00+00", profile="P5",
                        properties={"$message": "CMNEW01", "$variation": None})
            _copy_event(conn, "O7", "L03", "2024-03-21 10:00+00", properties={"$event_id": "1010"})
        step = _dbt(["build", "--threads", "4", "--select", *SELECTION], inc_env, tmp_path)
        assert step.returncode == 0, step.stdout[-5000:]
        with psycopg.connect(inc, autocommit=True) as conn:
            o8 = conn.execute("select attribution_type, touch_event_id from intermediate.int_klaviyo__event_attribution"
                              " where conversion_event_id = 'O8'").fetchone()
            l03 = conn.execute("select attributed_campaign_id from intermediate.int_klaviyo__event_attribution"
                               " where conversion_event_id = 'L03'").fetchone()
            assert o8 == ("last_touch", "L01") and l03 == ("CMNEW01",)
            conn.execute(
                """insert into klaviyo_raw.campaigns (account_id, id, cursor_value, document, _sync_id)
                   select account_id, '01HQNEWSMS000000000000000', '2024-03-21 08:05+00',
                          jsonb_set(jsonb_set(jsonb_set(document, '{id}', '"01HQNEWSMS000000000000000"'),
                                    '{attributes,name}', '"New SMS"'),
                                    '{relationships,campaign-messages,data}',
                                    '[{"type": "campaign-message", "id": "CMNEW01"}]'), 'sync-late'
                   from klaviyo_raw.campaigns where id = '01HQFLASHSMS00000000000000'""")
        step = _dbt(["build", "--threads", "4", "--select", *SELECTION], inc_env, tmp_path)
        assert step.returncode == 0, step.stdout[-5000:]
        with psycopg.connect(inc) as conn:
            assert conn.execute(
                "select e.campaign_id, a.attributed_campaign_id from intermediate.int_klaviyo__events as e"
                " join intermediate.int_klaviyo__event_attribution as a on a.conversion_event_id = 'L03'"
                " where e.event_id = 'L02'").fetchone() == ("01HQNEWSMS000000000000000",) * 2

        full = clone_database(server_dsn, inc, f"{settings.dsn_parts(dsn)['dbname'][:40]}_full")
        refresh = _dbt(["build", "--threads", "4", "--full-refresh", "--select", *SELECTION],
                       dbt_test_env(settings.dbt_env(full)), tmp_path)
        assert refresh.returncode == 0, refresh.stdout[-5000:]
        diffs = [d for schema in ("staging", "intermediate", "marts") for d in compare_marts(inc, full, schema)]
        assert len(diffs) >= 15
        unequal = [d.line() for d in diffs if not d.equal]
        assert not unequal, "\n".join(unequal)
    finally:
        for name in (inc, full):
            if name:
                drop_database(server_dsn, settings.dsn_parts(name)["dbname"])


def test_incremental_events_reconciliation_and_no_pii(built) -> None:
    """Runs after test_klaviyo_models_build_and_match_python on the same database (it changes
    the raw data)."""
    fresh_db, env, tmp_path, _statuses = built
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        # no e-mail address (nor any '@') anywhere outside klaviyo_raw
        relations = conn.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema in ('staging', 'intermediate', 'marts') and table_name like any"
            " (array['%klaviyo%', '%email%', '%flow%'])"
        ).fetchall()
        assert len(relations) >= 17
        for schema, table in relations:
            query = f"select count(*) from \"{schema}\".\"{table}\" as t where t::text like '%@%'"
            leaks = conn.execute(query).fetchone()
            assert leaks == (0,), f"{schema}.{table} holds an e-mail address"

        # append-only: a row changed in place after it was staged is not re-read ...
        conn.execute(
            "update klaviyo_raw.events set document = jsonb_set(document,"
            " '{attributes,event_properties,$value}', '999') where id = 'O1'"
        )
        # ... while the events a later sync appends are
        conn.execute("""
            insert into klaviyo_raw.events (account_id, id, cursor_value, document, _sync_id, _loaded_at)
            select account_id, 'N' || id, cursor_value + interval '30 days',
                   jsonb_set(jsonb_set(document, '{id}', to_jsonb('N' || id)),
                             '{attributes,datetime}',
                             to_jsonb(to_char((cursor_value + interval '30 days') at time zone 'UTC',
                                              'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'))),
                   'sync-2', now() + interval '1 day'
            from klaviyo_raw.events where id in ('E16', 'O2')
        """)
    second = _dbt(["run", "--select", "stg_klaviyo__events", "int_klaviyo__events", "int_klaviyo__event_attribution"],
                  env, tmp_path)
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-2000:]
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        # inside the reload overlap (1 h before the newest staged row): a row staged already is
        # skipped (its value change is not re-read, so a backfill is not unpacked twice) ...
        conn.execute(
            "update klaviyo_raw.events set document = jsonb_set(document,"
            " '{attributes,event_properties,$value}', '555') where id = 'NO2'"
        )
        # ... while a row that committed late (older _loaded_at than the newest staged one,
        # inside the overlap) is staged
        conn.execute("""
            insert into klaviyo_raw.events (account_id, id, cursor_value, document, _sync_id, _loaded_at)
            select account_id, 'L' || id, cursor_value, jsonb_set(document, '{id}', to_jsonb('L' || id)),
                   'sync-late', (select max(_loaded_at) from klaviyo_raw.events) - interval '30 minutes'
            from klaviyo_raw.events where id = 'E16'
        """)
    third = _dbt(["run", "--select", "stg_klaviyo__events"], env, tmp_path)
    assert third.returncode == 0, third.stdout[-4000:]

    with psycopg.connect(fresh_db, autocommit=True) as conn:
        raw_count, staged_count, distinct_count = conn.execute(
            "select (select count(*) from klaviyo_raw.events), count(*), count(distinct (account_id, event_id))"
            " from staging.stg_klaviyo__events"
        ).fetchone()
        assert raw_count == staged_count == distinct_count == 38
        assert conn.execute(
            "select event_value from staging.stg_klaviyo__events where event_id = 'O1'"
        ).fetchone() == (Decimal("100.0000"),)
        assert conn.execute(
            "select event_value <> 555 from staging.stg_klaviyo__events where event_id = 'NO2'"
        ).fetchone() == (True,)
        assert conn.execute(
            "select count(*) from staging.stg_klaviyo__events where event_id = 'LE16'"
        ).fetchone() == (1,)
        new_order = conn.execute(
            "select attribution_type, attributed_campaign_id, touch_event_id"
            " from intermediate.int_klaviyo__event_attribution where conversion_event_id = 'NO2'"
        ).fetchone()
        assert new_order == ("last_touch", "01HQNEWSAPR000000000000000", "NE16")

        # Klaviyo reports more revenue for Flash SMS than we attribute: the test lists it
        conn.execute("""
            insert into klaviyo_raw.campaign_values_reports (account_id, id, cursor_value, document, _sync_id)
            values ('acct1', 'cvr:flash', '2024-03-20', '{"type": "campaign-values-report", "id": "cvr:flash",
              "attributes": {"groupings": {"campaign_id": "01HQFLASHSMS00000000000000",
                                           "campaign_message_id": "CMFLASH01", "send_channel": "sms"},
                             "statistics": {"clicks": 2, "clicks_unique": 2, "conversion_value": 999.0}}}', 'sync-2')
        """)
    rebuilt = _dbt(["run", "--select", "fct_email_campaign_reconciliation"], env, tmp_path)
    assert rebuilt.returncode == 0, rebuilt.stdout[-3000:]
    check = klaviyo_campaigns_reconcile(warehouse=WarehouseResource(dsn=fresh_db))
    assert not check.passed
    listed = [(r["campaign_id"], r["campaign_name"], r["measure"], r["ours"], r["reported"])
              for r in check.metadata["out_of_tolerance"].value]
    assert listed == [("01HQFLASHSMS00000000000000", "Flash SMS", "attributed_revenue", 125.0, 999.0)]
    assert "Flash SMS (attributed_revenue)" in check.description


def test_fixture_documents_follow_the_openapi_spec(shared_data: Path) -> None:
    """Every attribute and relationship the fixture uses exists in Klaviyo's spec."""
    spec = json.loads((shared_data / "klaviyo_openapi" / "stable.json").read_text())
    schemas = spec["components"]["schemas"]

    def names(schema_name: str, part: str) -> set[str]:
        return set(schemas[schema_name]["properties"][part]["properties"])

    text = (FIXTURES / "klaviyo_minimal.sql").read_text()
    expected = {
        "EventResponseObjectResource": ({"timestamp", "event_properties", "datetime", "uuid"},
                                        {"profile", "metric", "attributions"}),
        "AttributionResponseObjectResource": (set(), {"event", "attributed-event", "campaign", "campaign-message"}),
        "CampaignResponseObjectResource": ({"name", "status", "archived", "send_strategy", "send_time", "created_at",
                                            "scheduled_at", "updated_at"}, {"campaign-messages"}),
        "FlowResponseObjectResource": ({"name", "status", "archived", "created", "updated", "trigger_type"}, set()),
        "ProfileResponseObjectResource": ({"email", "phone_number", "external_id", "locale", "created", "updated",
                                           "last_event_date", "location", "properties"}, set()),
        "MetricResponseObjectResource": ({"name", "created", "updated", "integration"}, set()),
        "ListResponseObjectResource": ({"name", "created", "updated", "opt_in_process"}, set()),
    }
    for schema_name, (attributes, relationships) in expected.items():
        if attributes:
            assert attributes <= names(schema_name, "attributes"), schema_name
        if relationships:
            assert relationships <= names(schema_name, "relationships"), schema_name
        for attribute in attributes | relationships:
            assert f'"{attribute}"' in text or f"'{attribute}'" in text, (schema_name, attribute)


def test_changed_incremental_columns_name_the_fix(built) -> None:
    """An incremental table missing a column its model now selects (a pulled change) fails
    dbt; the dbt assets turn that into one sentence naming the model (parsed here from dbt's
    own output) and the fix, a full refresh, which restores the table."""
    from orchestration.assets.dbt import out_of_sync_model

    fresh_db, env, tmp_path, _statuses = built
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("alter table staging.stg_klaviyo__events drop column item_count cascade")
    failed = _dbt(["run", "--select", "stg_klaviyo__events"], env, tmp_path)
    assert failed.returncode != 0
    assert out_of_sync_model(failed.stdout) == "stg_klaviyo__events", failed.stdout[-3000:]
    assert out_of_sync_model("Database Error in model stg_klaviyo__events: relation does not exist") is None
    fixed = _dbt(["run", "--full-refresh", "--select", "stg_klaviyo__events"], env, tmp_path)
    assert fixed.returncode == 0, fixed.stdout[-3000:]
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute(
            "select count(*) from information_schema.columns"
            " where table_schema = 'staging' and table_name = 'stg_klaviyo__events' and column_name = 'item_count'"
        ).fetchone() == (1,)


def test_data_tests_window_reads_only_rows_loaded_since(built) -> None:
    """With var data_tests_since, the data tests of a model or source declaring
    meta.test_window_column read only the rows loaded since then; without it, every row.
    Broken rows loaded two days ago fail the full run and pass a one-day window; the same
    rows loaded now fail both."""
    dsn, env, tmp_path, _statuses = built
    selection = ["--select", "stg_klaviyo__events", "source:shop.orders"]
    since = json.dumps({"data_tests_since": (datetime.now(timezone.utc) - timedelta(days=1)).isoformat(sep=" ")})

    def failing(*extra: str) -> set[str]:
        result = _dbt(["test", *selection, *extra], env, tmp_path)
        results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
        assert len(results) >= 6, result.stdout[-3000:]
        return {r["unique_id"].split(".")[2][:30] for r in results if r["status"] in ("fail", "error")}

    with psycopg.connect(dsn, autocommit=True) as conn:
        event_id, occurred_at, event_loaded = conn.execute(
            "select event_id, occurred_at, _loaded_at from staging.stg_klaviyo__events order by event_id limit 1"
        ).fetchone()
        file_id, line, line_loaded = conn.execute(
            "select _file_id, _line_number, _loaded_at from raw.orders limit 1").fetchone()
        assert not failing() and not failing("--vars", since)
        try:
            # a null occurred_at in staging, a second raw order line with the same (_file_id, _line_number)
            conn.execute("update staging.stg_klaviyo__events set occurred_at = null,"
                         " _loaded_at = now() - interval '2 days' where event_id = %s", (event_id,))
            conn.execute("insert into raw.orders select order_id, customer_id, ordered_at, quantity, unit_price,"
                         " product, product_name, country, _file_id, _line_number, now() - interval '2 days'"
                         " from raw.orders where _file_id = %s and _line_number = %s", (file_id, line))
            conn.execute("update raw.orders set _loaded_at = now() - interval '2 days'"
                         " where _file_id = %s and _line_number = %s", (file_id, line))
            broken = {"not_null_stg_klaviyo__events_occurred_at"[:30], "source_unique_combination_of_columns"[:30]}
            assert failing() == broken
            assert failing("--vars", since) == set()
            conn.execute("update staging.stg_klaviyo__events set _loaded_at = now() where event_id = %s", (event_id,))
            conn.execute("update raw.orders set _loaded_at = now() where _file_id = %s and _line_number = %s",
                         (file_id, line))
            assert failing("--vars", since) == broken
            bad = _dbt(["test", *selection, "--vars", '{"data_tests_since": "yesterday"}'], env, tmp_path)
            assert bad.returncode != 0 and "must be a timestamp" in bad.stdout
        finally:
            conn.execute("update staging.stg_klaviyo__events set occurred_at = %s, _loaded_at = %s"
                         " where event_id = %s", (occurred_at, event_loaded, event_id))
            conn.execute("delete from raw.orders where ctid in (select ctid from raw.orders"
                         " where _file_id = %s and _line_number = %s limit 1)", (file_id, line))
            conn.execute("update raw.orders set _loaded_at = %s where _file_id = %s and _line_number = %s",
                         (line_loaded, file_id, line))

