"""Duplicate natural keys: the loader rejects exactly the later valid occurrences of a key.

The expected rejects are computed independently of the loader: the generator knows which
rows it made invalid and where each record starts, and pandas marks the later occurrences
of (date, campaign_name, channel) among the valid rows.  The same file is loaded with the
default limits and with tiny ones that force every path of the bounded-memory spill
(flushes to disk, partitions split again and again, a key repeated past the last level)
and records split across chunk boundaries.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import random
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from orchestration.ingest import load_file, load_specs, loader, reader
from orchestration.ingest.keyspill import RECORD, KeySpill

CAMPAIGN = load_specs()["campaign_performance"]
KEY = ["date", "campaign_name", "channel"]
HEADER = ["date", "campaign_id", "campaign_name", "channel", "cost", "impressions", "clicks", "conversions",
          "revenue", "currency"]
NAMES = ["Spring", "Spring ", " Spring", "Sale, 50% off", 'The "Big" one', "two\nlines", "three\nphysical\nlines",
         "Ünïcode ✓", "L" * 300]
DATES = ["2024-01-01", "2024-01-02", "2024-02-29"]
CHANNELS = ["fb", "Google Ads"]


def generate(path: Path, rows: int, seed: int, gz: bool = False) -> pd.DataFrame:
    """Write a campaign file full of repeated keys and bad rows; returns one row per record with
    its first physical line, raw text and whether it is valid (known by construction)."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    line = 2
    records = []
    for _ in range(rows):
        impressions, clicks = rng.randint(0, 50), rng.randint(0, 45)
        cost = rng.choices(["1.5", "0", "n/a", "-2"], weights=[80, 10, 5, 5])[0]
        date = rng.choices(DATES + ["2023-02-29"], weights=[30, 30, 30, 3])[0]
        fields = [date, "c1", rng.choice(NAMES), rng.choice(CHANNELS), cost, impressions, clicks, 0, 0, "USD"]
        start = out.tell()
        writer.writerow(fields)
        raw = out.getvalue()[start:].removesuffix("\n")
        valid = cost in ("1.5", "0") and clicks <= impressions and date != "2023-02-29"
        records.append({"line": line, "raw": raw, "valid": valid})
        line += raw.count("\n") + 1
    data = out.getvalue().encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)
    return pd.DataFrame(records)


def expected_duplicates(path: Path, records: pd.DataFrame, gz: bool) -> dict[int, tuple[str, str]]:
    """{line: (raw line, reason)} of the later valid occurrences of each key, by pandas."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, compression="gzip" if gz else None)
    frame = pd.concat([frame, records], axis=1)
    valid = frame[frame["valid"]].copy()
    valid["first"] = valid.groupby(KEY, sort=False)["line"].transform("min")
    later = valid[valid.duplicated(KEY, keep="first")]
    return {
        int(r.line): (r.raw, f"duplicate_key: (date, campaign_name, channel) already on line {int(r.first)}")
        for r in later.itertuples()
    }


def query(dsn: str, sql: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.parametrize(
    "gz, tiny",
    [(False, False), (True, False), (False, True)],
    ids=["plain", "gzip", "tiny-limits-small-chunks"],
)
def test_duplicate_keys_are_rejected_exactly(fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             gz: bool, tiny: bool) -> None:
    if tiny:
        monkeypatch.setattr(reader, "CHUNK_SIZE", 61)
        monkeypatch.setattr(loader, "KeySpill", functools.partial(
            KeySpill, memory_bytes=8 * RECORD.itemsize, partition_bytes=4 * RECORD.itemsize, directory=tmp_path,
        ))
    path = tmp_path / "landing" / ("campaign_performance/dups.csv" + (".gz" if gz else ""))
    records = generate(path, 1_500, seed=7, gz=gz)
    expected = expected_duplicates(path, records, gz)
    assert 100 < len(expected) < len(records)  # the data really has many duplicates

    result = load_file(fresh_db, path, CAMPAIGN, tmp_path / "landing", progress=False)

    rejected = query(fresh_db, "select line_number, raw_line, reason from raw.campaign_performance_rejected")
    got = {ln: (raw, reason) for ln, raw, reason in rejected if reason.startswith("duplicate_key")}
    assert got == expected
    other = {ln for ln, _, reason in rejected if not reason.startswith("duplicate_key")}
    assert other == set(records.loc[~records["valid"], "line"])
    loaded = [r[0] for r in query(fresh_db, "select _line_number from raw.campaign_performance order by 1")]
    assert loaded == sorted(set(records.loc[records["valid"], "line"]) - set(expected))
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (
        len(records), len(loaded), len(rejected)
    )
    assert not list(tmp_path.glob("keyspill-*"))  # temporary files are removed
