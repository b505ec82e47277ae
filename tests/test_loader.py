"""The spec-driven CSV loader against a real Postgres (one fresh database per test)."""

from __future__ import annotations

import gzip
import random
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from orchestration.ingest import (
    DatabaseUnavailableError,
    RefusedFileError,
    SpecError,
    load_file,
    load_landing,
    load_specs,
)
from orchestration.ingest import cli, reader
from orchestration.ingest.chunks import ChunkProcessor
from orchestration.ingest.discover import discover
from orchestration.ingest.plan import plan_for_header
from orchestration.ingest.spec import load_spec, parse_spec
from orchestration.ingest.values import Invalid, validate_record

SPECS = load_specs()
CAMPAIGN = SPECS["campaign_performance"]
HEADER = "date,campaign_id,campaign_name,channel,cost,impressions,clicks,conversions,revenue,currency"


def write(landing: Path, rel: str, lines: list[str], *, gz: bool = False, newline: str = "\n") -> Path:
    path = landing / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (newline.join(lines) + newline).encode("utf-8") if lines else b""
    if gz:
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def query(dsn: str, sql: str, params: list | None = None) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params or []).fetchall()


def rejected(dsn: str, table: str = "campaign_performance") -> dict[int, tuple[str, str]]:
    rows = query(dsn, f"select line_number, split_part(reason, ':', 1), raw_line from raw.{table}_rejected")
    return {ln: (code, raw) for ln, code, raw in rows}


def loaded_lines(dsn: str, table: str = "campaign_performance") -> list[int]:
    return [r[0] for r in query(dsn, f"select _line_number from raw.{table} order by 1")]


def registry(dsn: str) -> list[tuple]:
    return query(
        dsn,
        "select path, version, status, rows_read, rows_loaded, rows_rejected from raw.load_registry order by file_id",
    )


# --------------------------------------------------------------------------- rejections


def test_every_rejection_reason_with_exact_lines(fresh_db: str, tmp_path: Path) -> None:
    lines = [
        HEADER,                                                                      # 1
        "2024-01-01,c1,Spring,Google Ads,10.50,1000,10,1,20.5,USD",                 # 2 ok
        "2024-01-01,c2,Summer,Google Ads,abc,1000,10,1,20,USD",                     # 3 invalid_number
        "2024-02-30,c3,Autumn,fb,1,100,1,0,0,USD",                                  # 4 invalid_date
        "2024-01-02,c4,Winter,fb,-5,100,1,0,0,USD",                                 # 5 negative_value
        "2024-01-03,c5,Clicky,fb,1,10,11,0,0,USD",                                  # 6 clicks > impressions
        "2024-01-04,c6,,fb,1,10,1,0,0,USD",                                         # 7 missing_required
        "2024-01-01,c7,Spring,Google Ads,99,5000,50,2,40,USD",                      # 8 duplicate of 2
        "2024-01-05,c8,Short,fb,1,10",                                              # 9 wrong_column_count
        "2024-02-29,c9,Leap,fb,1,10,1,0,0,USD",                                     # 10 ok (leap day)
        "2023-02-29,c10,NoLeap,fb,1,10,1,0,0,USD",                                  # 11 invalid_date
        "2024-01-06,c11,Typo,fb,1,12x,1,0,0,USD",                                   # 12 invalid_number
        "2024-01-07,,NoCurrency,email,0,0,0,0,0,",                                  # 13 ok, optional blanks
        "2024-01-08,c12,Extra,fb,1,10,1,0,0,USD,surplus",                           # 14 wrong_column_count
        "2024-01-09,c13,Neg,fb,1,-10,1,0,0,USD",                                    # 15 negative_value
        "2024-13-01,c14,Month13,fb,1,10,1,0,0,USD",                                 # 16 invalid_date
        "2024-01-10,c15,Blank,   ,1,10,1,0,0,USD",                                  # 17 missing_required
    ]
    path = write(tmp_path, "campaign_performance/all.csv", lines)
    result = load_file(fresh_db, path, CAMPAIGN, tmp_path, progress=False)
    assert result.status == "loaded"
    expected = {
        3: "invalid_number", 4: "invalid_date", 5: "negative_value", 6: "clicks_exceed_impressions",
        7: "missing_required", 8: "duplicate_key", 9: "wrong_column_count", 11: "invalid_date",
        12: "invalid_number", 14: "wrong_column_count", 15: "negative_value", 16: "invalid_date",
        17: "missing_required",
    }
    got = rejected(fresh_db)
    assert {ln: code for ln, (code, _) in got.items()} == expected
    for ln, (_, raw) in got.items():
        assert raw == lines[ln - 1]  # the exact line of the file
    assert loaded_lines(fresh_db) == [2, 10, 13]
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (16, 3, 13)
    assert registry(fresh_db) == [("campaign_performance/all.csv", 1, "loaded", 16, 3, 13)]
    reasons = dict(query(fresh_db, "select line_number, reason from raw.campaign_performance_rejected"))
    assert reasons[3] == "invalid_number: cost='abc'"
    assert reasons[8] == "duplicate_key: (date, campaign_name, channel) already on line 2"
    assert reasons[6] == "clicks_exceed_impressions: clicks=11 > impressions=10"
    assert reasons[9] == "wrong_column_count: expected 10 fields, found 6"
    assert reasons[4].startswith("invalid_date: date='2024-02-30'")
    row = query(fresh_db, "select currency, campaign_id from raw.campaign_performance where _line_number = 13")
    assert row == [(None, None)]


def test_first_failing_reason_wins(fresh_db: str, tmp_path: Path) -> None:
    lines = [
        HEADER,
        "2024-02-30,c1,,fb,abc,10,1,0,0,USD",       # 2 missing before invalid
        "2024-01-01,c1,A,fb,abc,-1,1,0,0,USD",      # 3 invalid before negative
        "2024-01-01,c1,B,fb,-1,10,11,0,0,USD",      # 4 negative before rule
        "2024-01-01,c1,C,fb,1,10,11,0,0,USD",       # 5 rule (not a duplicate: nothing valid before)
        "2024-01-01,c1,C,fb,1,10,1,0,0,USD",        # 6 ok: first *valid* occurrence of the key
        "2024-01-01,c1,C,fb,2,10,11,0,0,USD",       # 7 rule before duplicate
    ]
    path = write(tmp_path, "campaign_performance/order.csv", lines)
    load_file(fresh_db, path, CAMPAIGN, tmp_path, progress=False)
    codes = {ln: code for ln, (code, _) in rejected(fresh_db).items()}
    assert codes == {
        2: "missing_required", 3: "invalid_number", 4: "negative_value",
        5: "clicks_exceed_impressions", 7: "clicks_exceed_impressions",
    }
    assert loaded_lines(fresh_db) == [6]


def test_gz_input_and_crlf_and_bom(fresh_db: str, tmp_path: Path) -> None:
    lines = ["\ufeff" + HEADER] + [f"2024-01-{d:02d},c{d},Camp {d},fb,1.5,100,10,1,3,EUR" for d in range(1, 29)]
    lines.append("2024-01-29,c,Bad,fb,x,1,1,1,1,EUR")
    path = write(tmp_path, "campaign_performance/day.csv.gz", lines, gz=True, newline="\r\n")
    result = load_file(fresh_db, path, CAMPAIGN, tmp_path, progress=False)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (29, 28, 1)
    assert rejected(fresh_db) == {30: ("invalid_number", "2024-01-29,c,Bad,fb,x,1,1,1,1,EUR")}
    total = query(fresh_db, "select sum(cost), min(date)::text, max(currency) from raw.campaign_performance")
    assert total == [(Decimal("42"), "2024-01-01", "EUR")]


# --------------------------------------------------------------------------- headers


def test_google_ads_header_aliases_and_extra_columns(fresh_db: str, tmp_path: Path) -> None:
    lines = [
        "Day,Campaign,Campaign ID,Campaign status,Channel,Cost,Impr.,Clicks,Avg. CPC,Conversions,Conv. value,Currency code",
        "2024-03-01,Brand Search,123,Enabled,Google Ads,12.34,1000,50,0.25,3,90.5,USD",
        "2024-03-02,Brand Search,123,Enabled,Google Ads,-1,1000,50,0.25,3,90.5,USD",
    ]
    path = write(tmp_path, "campaign_performance/google_ads.csv", lines)
    result = load_file(fresh_db, path, CAMPAIGN, tmp_path, progress=False)
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    row = query(
        fresh_db,
        "select date::text, campaign_name, campaign_id, channel, cost, impressions, clicks, conversions, revenue,"
        " currency from raw.campaign_performance",
    )
    assert row == [("2024-03-01", "Brand Search", "123", "Google Ads", Decimal("12.34"), 1000, 50, 3, Decimal("90.5"), "USD")]
    assert rejected(fresh_db)[3] == ("negative_value", lines[2])


def test_meta_header_aliases(fresh_db: str, tmp_path: Path) -> None:
    lines = [
        "Reporting starts,Reporting ends,Campaign name,Publisher platform,Amount spent (USD),Impressions,"
        "Link clicks,Results,Purchase conversion value",
        "2024-04-01,2024-04-01,Retargeting,meta,55.1,20000,400,12,600",
    ]
    path = write(tmp_path, "campaign_performance/meta.csv", lines)
    result = load_file(fresh_db, path, CAMPAIGN, tmp_path, progress=False)
    assert result.rows_loaded == 1
    row = query(fresh_db, "select date::text, campaign_name, channel, cost, clicks, currency from raw.campaign_performance")
    assert row == [("2024-04-01", "Retargeting", "meta", Decimal("55.1"), 400, None)]


def test_missing_required_column_refuses_the_file(fresh_db: str, tmp_path: Path) -> None:
    lines = ["Day,Campaign,Channel,Impr.,Conversions,Conv. value", "2024-03-01,X,fb,1,1,1"]
    path = write(tmp_path, "campaign_performance/no_cost.csv", lines)
    with pytest.raises(RefusedFileError) as info:
        load_file(fresh_db, path, CAMPAIGN, tmp_path, progress=False)
    message = str(info.value)
    assert message.count(". ") == 0 and message.endswith(".")  # one sentence
    assert "campaign_performance/no_cost.csv" in message
    assert "cost, clicks" in message
    assert "orchestration/ingest/specs/campaign_performance.yml" in message
    assert registry(fresh_db) == [("campaign_performance/no_cost.csv", 1, "refused", None, None, None)]
    assert query(fresh_db, "select count(*) from raw.campaign_performance") == [(0,)]


def test_empty_and_header_only_files(fresh_db: str, tmp_path: Path) -> None:
    empty = write(tmp_path, "campaign_performance/empty.csv", [])
    only = write(tmp_path, "campaign_performance/header.csv", [HEADER])
    for path in (empty, only):
        result = load_file(fresh_db, path, CAMPAIGN, tmp_path, progress=False)
        assert (result.status, result.rows_read, result.rows_loaded, result.rows_rejected) == ("loaded", 0, 0, 0)
    assert [r[2:] for r in registry(fresh_db)] == [("loaded", 0, 0, 0), ("loaded", 0, 0, 0)]


# --------------------------------------------------------------------------- versions


def test_reload_same_file_is_skipped(fresh_db: str, tmp_path: Path) -> None:
    path = write(tmp_path, "campaign_performance/a.csv", [HEADER, "2024-01-01,c,A,fb,1,10,1,0,0,USD"])
    first = load_file(fresh_db, path, CAMPAIGN, tmp_path, progress=False)
    second = load_file(fresh_db, path, CAMPAIGN, tmp_path, progress=False)
    assert first.status == "loaded" and second.status == "skipped"
    assert second.file_id == first.file_id and "already loaded" in second.message
    assert query(fresh_db, "select count(*) from raw.campaign_performance") == [(1,)]
    assert len(registry(fresh_db)) == 1


def test_changed_file_replaces_its_earlier_version(fresh_db: str, tmp_path: Path) -> None:
    rel = "campaign_performance/a.csv"
    v1 = [HEADER, "2024-01-01,c,A,fb,1,10,1,0,0,USD", "2024-01-02,c,A,fb,x,10,1,0,0,USD", "2024-01-03,c,A,fb,1,10,1,0,0,USD"]
    write(tmp_path, rel, v1)
    load_file(fresh_db, tmp_path / rel, CAMPAIGN, tmp_path, progress=False)
    v2 = [HEADER, "2024-01-01,c,A,fb,2,10,1,0,0,USD", "2024-01-05,c,A,fb,2,10,1,0,0,USD", "2024-01-06,c,A,fb,2,10,20,0,0,USD"]
    write(tmp_path, rel, v2)
    result = load_file(fresh_db, tmp_path / rel, CAMPAIGN, tmp_path, progress=False)
    assert (result.version, result.rows_loaded, result.rows_rejected) == (2, 2, 1)
    rows = query(fresh_db, "select date::text, cost, _file_id from raw.campaign_performance order by 1")
    assert rows == [("2024-01-01", 2, result.file_id), ("2024-01-05", 2, result.file_id)]
    assert query(fresh_db, "select _file_id, line_number from raw.campaign_performance_rejected") == [(result.file_id, 4)]
    assert registry(fresh_db) == [(rel, 1, "superseded", 3, 2, 1), (rel, 2, "loaded", 3, 2, 1)]
    # the same content again is skipped; reverting to v1's content loads it as v3
    assert load_file(fresh_db, tmp_path / rel, CAMPAIGN, tmp_path, progress=False).status == "skipped"
    write(tmp_path, rel, v1)
    assert load_file(fresh_db, tmp_path / rel, CAMPAIGN, tmp_path, progress=False).version == 3
    assert query(fresh_db, "select count(*) from raw.campaign_performance") == [(2,)]
    assert [r[2] for r in registry(fresh_db)] == ["superseded", "superseded", "loaded"]


def test_loaded_plus_rejected_equals_read_in_registry(fresh_db: str, tmp_path: Path) -> None:
    rng = random.Random(7)
    lines = [HEADER]
    for i in range(3000):
        cost = rng.choice(["1.5", "x", "-2", "3"])
        clicks = rng.choice(["1", "500"])
        lines.append(f"2024-01-{1 + i % 28:02d},c,N{i % 900},fb,{cost},100,{clicks},0,0,USD")
    write(tmp_path, "campaign_performance/mix.csv", lines)
    results = load_landing(fresh_db, tmp_path, progress=False)
    assert [r.status for r in results] == ["loaded"]
    for _, _, _, read, ok, bad in registry(fresh_db):
        assert ok + bad == read == 3000
    counted = query(
        fresh_db,
        "select (select count(*) from raw.campaign_performance), (select count(*) from raw.campaign_performance_rejected)",
    )
    assert counted == [(results[0].rows_loaded, results[0].rows_rejected)]


# --------------------------------------------------------------------------- csv details


def test_quoted_fields_with_commas_quotes_and_newlines(fresh_db: str, tmp_path: Path) -> None:
    lines = [
        HEADER,
        '2024-01-01,c1,"Sale, 50% off",fb,1,10,1,0,0,USD',             # 2
        '2024-01-01,c2,"The ""Big"" one",fb,1,10,1,0,0,USD',            # 3
        '2024-01-01,c3,"two\nlines",fb,1,10,1,0,0,USD',                 # 4-5
        '2024-01-01,c4,"bad, number",fb,"1,5",10,1,0,0,USD',            # 6
        '2024-01-01,c5,plain,fb,1,10,1,0,0,USD',                        # 7
        '2024-01-01,c6,"three\nphysical\nlines",fb,zz,10,1,0,0,USD',   # 8-10
        "2024-01-01,c7,after,fb,1,10,1,0,0,USD",                        # 11
    ]
    path = write(tmp_path, "campaign_performance/quoted.csv", lines)
    result = load_file(fresh_db, path, CAMPAIGN, tmp_path, progress=False)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (7, 5, 2)
    names = query(fresh_db, "select _line_number, campaign_name from raw.campaign_performance order by 1")
    assert names == [(2, "Sale, 50% off"), (3, 'The "Big" one'), (4, "two\nlines"), (7, "plain"), (11, "after")]
    got = rejected(fresh_db)
    assert got[6] == ("invalid_number", lines[4])
    assert got[8] == ("invalid_number", lines[6])  # the whole three-line record


def test_quoted_records_across_chunk_boundaries(fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "CHUNK_SIZE", 97)
    lines = [HEADER]
    for i in range(200):
        name = f'"multi\nline {i}, with ""quotes"""' if i % 7 == 0 else f"Camp {i}"
        lines.append(f"2024-01-01,c{i},{name},fb,{i},1000,{i},0,0,USD")
    lines.append("2024-01-01,c0,Camp 1,fb,1,1000,1,0,0,USD")  # duplicate of an earlier chunk's line
    path = write(tmp_path, "campaign_performance/chunks.csv", lines)
    result = load_file(fresh_db, path, CAMPAIGN, tmp_path, progress=False)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (201, 200, 1)
    physical = 1 + sum(1 + line.count("\n") for line in lines[1:-1])
    assert rejected(fresh_db) == {physical + 1: ("duplicate_key", lines[-1])}
    first_multi = query(fresh_db, "select _line_number, campaign_name from raw.campaign_performance where campaign_id = 'c7'")
    assert first_multi == [(2 + 7 + 1, 'multi\nline 7, with "quotes"')]


def test_invalid_utf8_and_nul_lines_are_rejected(fresh_db: str, tmp_path: Path) -> None:
    path = tmp_path / "campaign_performance/enc.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(
        (HEADER + "\n").encode()
        + b"2024-01-01,c,Caf\xe9,fb,1,10,1,0,0,USD\n"
        + b"2024-01-01,c,Nul\x00,fb,1,10,1,0,0,USD\n"
        + "2024-01-01,c,Café,fb,1,10,1,0,0,USD\n".encode()
    )
    result = load_file(fresh_db, path, CAMPAIGN, tmp_path, progress=False)
    assert (result.rows_loaded, result.rows_rejected) == (1, 2)
    codes = {ln: code for ln, (code, _) in rejected(fresh_db).items()}
    assert codes == {2: "invalid_encoding", 3: "invalid_encoding"}
    assert query(fresh_db, "select campaign_name from raw.campaign_performance") == [("Café",)]


def test_timestamp_formats_and_non_iso_dates(fresh_db: str, tmp_path: Path) -> None:
    orders = SPECS["orders"]
    lines = [
        "Invoice,StockCode,Quantity,InvoiceDate,Price,Customer ID",
        "1,A,2,2024-01-02 03:04:05,1.5,77",
        "2,A,2,2024-01-02T03:04:05,1.5,",
        "3,A,-2,2024-01-02,1.5,",
        "C4,A,-1,2024-01-02 03:04,1.5,",
        "5,A,1,2024-02-30 00:00:00,1.5,",
        "6,A,1,02/01/2024 00:00:00,1.5,",
    ]
    path = write(tmp_path, "orders/shop.csv", lines)
    result = load_file(fresh_db, path, orders, tmp_path, progress=False)
    assert (result.rows_loaded, result.rows_rejected) == (4, 2)
    rows = query(fresh_db, "select order_id, ordered_at::text, customer_id from raw.orders order by _line_number")
    assert rows == [("1", "2024-01-02 03:04:05", "77"), ("2", "2024-01-02 03:04:05", None),
                    ("3", "2024-01-02 00:00:00", None), ("C4", "2024-01-02 03:04:00", None)]
    # a spec may declare a day-first format; the loader rewrites it to ISO for Postgres
    spec = parse_spec({
        "name": "eu_orders", "target": "eu_orders", "files": ["eu/*.csv"], "natural_key": ["day"],
        "columns": [{"name": "day", "type": "date", "required": True, "format": "%d/%m/%Y"},
                    {"name": "amount", "type": "numeric", "min": 0}],
    })
    path = write(tmp_path, "eu/a.csv", ["Day,Amount,Note", "31/01/2024,5,x", "30/02/2024,5,y", "29/02/2024,,z",
                                        "31/01/2024,6,dup"])
    result = load_file(fresh_db, path, spec, tmp_path, progress=False)
    assert (result.rows_loaded, result.rows_rejected) == (2, 2)
    assert query(fresh_db, "select day::text, amount from raw.eu_orders order by 1") == [("2024-01-31", 5), ("2024-02-29", None)]
    assert {ln: c for ln, (c, _) in rejected(fresh_db, "eu_orders").items()} == {3: "invalid_date", 5: "duplicate_key"}


def test_fast_path_never_accepts_what_the_exact_path_rejects(tmp_path: Path) -> None:
    """Random dirty lines: whatever the vectorized path loads, values.validate_record accepts."""
    rng = random.Random(11)
    pieces = {
        "date": ["2024-01-31", "2024-02-29", "2023-02-29", "2024-04-31", "2024-1-01", "0000-01-01", "", "x"],
        "text": ["A", "", "  ", "b c", " lead", "x"],
        "num": ["0", "1.5", "-1", "1.", ".5", "12345678901234", "123456789012345", "1.23456", "1e5", "", "  ", "7"],
        "int": ["0", "10", "-3", "1.0", "999999999999999999", "9999999999999999999", "", "5"],
    }
    kinds = ["date", "text", "text", "text", "num", "int", "int", "num", "num", "text"]
    lines = []
    for _ in range(4000):
        lines.append(",".join(rng.choice(pieces[k]) for k in kinds))
    buf = ("\n".join(lines) + "\n").encode()
    plan = plan_for_header(CAMPAIGN, HEADER.split(","), "x.csv")
    result = ChunkProcessor(plan, 1).process(buf, 2, True)
    rejected_lines = {ln for ln, _, _ in result.rejects}
    assert result.rows_loaded + len(result.rejects) == result.rows_read == 4000
    for i, line in enumerate(lines):
        ln = i + 2
        try:
            validate_record(CAMPAIGN, plan.mapped_columns, line.split(","))
            ok = True
        except Invalid:
            ok = False
        if not ok:
            assert ln in rejected_lines, line


# --------------------------------------------------------------------------- discovery, specs, errors


def test_each_file_belongs_to_exactly_one_spec(tmp_path: Path) -> None:
    for rel in ("orders/shop.csv", "orders/online_retail_ii_2009_2010.csv.gz", "campaign_performance/a.csv.gz",
                "_ground_truth/manifest.json", "orders/notes.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    found = [(p.relative_to(tmp_path).as_posix(), s.name) for p, s in discover(tmp_path, SPECS.values())]
    assert found == [
        ("campaign_performance/a.csv.gz", "campaign_performance"),
        ("orders/online_retail_ii_2009_2010.csv.gz", "online_retail_ii"),
        ("orders/shop.csv", "orders"),
    ]


def test_spec_errors_are_clear(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yml"
    bad.write_text("name: broken\ntarget: broken\nfiles: ['b/*.csv']\ncolumns:\n  - {name: x, type: float}\n")
    with pytest.raises(SpecError, match=r"column 'x': unknown type 'float' \(use one of text, int"):
        load_spec(bad)
    bad.write_text("name: broken\nfiles: ['b/*.csv']\ncolumns:\n  - {name: x, type: int}\n"
                   "rules:\n  - {check: 'x <= y', reason: too_big}\n")
    with pytest.raises(SpecError, match="names unknown column 'y'"):
        load_spec(bad)


def test_bad_dsn_is_one_clear_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "campaign_performance/a.csv", [HEADER])
    dsn = "postgresql://nobody:wrong@127.0.0.1:9/analytics"
    with pytest.raises(DatabaseUnavailableError) as info:
        load_landing(dsn, tmp_path)
    message = str(info.value)
    assert message.startswith("Cannot reach Postgres at 127.0.0.1:9/analytics")
    assert "make db-start" in message and "WAREHOUSE_DSN" in message and "\n" not in message
    assert cli.main(["--landing", str(tmp_path), "--dsn", dsn]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: Cannot reach Postgres") and "Traceback" not in err and len(err.splitlines()) == 1


def test_bad_password_is_one_clear_sentence(server_dsn: str, tmp_path: Path) -> None:
    dsn = psycopg.conninfo.make_conninfo(server_dsn, password="definitely-wrong")
    with pytest.raises(DatabaseUnavailableError, match="check WAREHOUSE_DSN"):
        load_landing(dsn, tmp_path)


def test_cli_prints_one_line_per_file(fresh_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "campaign_performance/a.csv", [HEADER, "2024-01-01,c,A,fb,1,10,1,0,0,USD"])
    write(tmp_path, "campaign_performance/b.csv", ["Day,Campaign", "2024-01-01,x"])
    write(tmp_path, "customers/c.csv", ["customer_id,age,signup_date", "u1,30,2024-01-01", "u1,31,2024-01-02"])
    code = cli.main(["--landing", str(tmp_path), "--dsn", fresh_db, "--no-progress"])
    out = capsys.readouterr().out.splitlines()
    assert code == 1  # b.csv was refused
    assert len(out) == 3
    assert out[0].startswith("loaded   campaign_performance/a.csv (v1") and "1 read, 1 loaded, 0 rejected" in out[0]
    assert out[1].startswith("refused  campaign_performance/b.csv: File campaign_performance/b.csv was refused")
    assert out[2].startswith("loaded   customers/c.csv") and "2 read, 1 loaded, 1 rejected" in out[2]
    assert cli.main(["--landing", str(tmp_path), "--dsn", fresh_db, "--source", "customers"]) == 0
    assert capsys.readouterr().out.startswith("skipped  customers/c.csv")
