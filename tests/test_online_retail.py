"""The real UCI Online Retail II file through the normal loader: every line accounted for."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from orchestration.ingest import load_landing

RETAIL = "online_retail_ii/online_retail_ii_2009_2010.csv.gz"
DATA_LINES = 525_461
NO_CUSTOMER = 107_927
CANCELLATIONS = 10_206


@pytest.mark.slow
def test_online_retail_loads_every_line(fresh_db: str, shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / RETAIL
    (tmp_path / "orders").mkdir()
    shutil.copy(source, tmp_path / "orders" / source.name)  # unchanged bytes
    [result] = load_landing(fresh_db, tmp_path, progress=False)
    assert (result.spec, result.target, result.status) == ("online_retail_ii", "orders", "loaded")
    assert result.rows_read == DATA_LINES
    assert result.rows_loaded + result.rows_rejected == result.rows_read

    df = pd.read_csv(source, dtype=str, keep_default_na=False)
    assert len(df) == DATA_LINES
    price = df["Price"].map(Decimal)
    qty = df["Quantity"].astype(int)
    valid = price >= 0  # decision: the 3 negative "Adjust bad debt" prices are not sales
    assert int((~valid).sum()) == result.rows_rejected == 3

    with psycopg.connect(fresh_db) as conn:
        reasons = conn.execute(
            "select line_number, split_part(reason, ':', 1), raw_line from raw.orders_rejected order by 1"
        ).fetchall()
        assert [r[1] for r in reasons] == ["negative_value"] * 3
        assert all(",Adjust bad debt," in r[2] for r in reasons)
        expected_lines = [int(i) + 2 for i in df.index[~valid]]
        assert [r[0] for r in reasons] == expected_lines

        total, with_customer, cancellations, amount = conn.execute(
            "select count(*), count(customer_id), count(*) filter (where order_id like 'C%%'),"
            " sum(quantity * unit_price) from raw.orders"
        ).fetchone()
        no_customer_loaded = conn.execute("select count(*) from raw.orders where customer_id is null").fetchone()[0]
        by_country = dict(conn.execute("select country, count(*) from raw.orders group by 1").fetchall())
        stamps = conn.execute("select min(ordered_at)::text, max(ordered_at)::text from raw.orders").fetchone()

    assert total == result.rows_loaded == DATA_LINES - 3
    # every customer-less line is either loaded with a NULL customer_id or rejected (with a reason)
    no_customer = df["Customer ID"] == ""
    assert int(no_customer.sum()) == NO_CUSTOMER
    assert no_customer_loaded == int((no_customer & valid).sum())
    assert no_customer_loaded + int((no_customer & ~valid).sum()) == NO_CUSTOMER
    assert with_customer == DATA_LINES - NO_CUSTOMER
    assert cancellations == int(df["Invoice"].str.startswith("C").sum()) == CANCELLATIONS
    expected_amount = sum((p * q for p, q, v in zip(price, qty, valid) if v), Decimal(0))
    assert amount == expected_amount
    assert by_country == df[valid].groupby("Country").size().to_dict()
    assert stamps == (df["InvoiceDate"].min(), df["InvoiceDate"].max())
