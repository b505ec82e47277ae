"""Entry point of the demo-data generator: :func:`generate` writes a landing dir.

Files are streamed: campaign rows a block of days at a time, customers a block at a
time (their order lines spilled to time buckets on disk), then the orders file bucket by
bucket in time order. Peak memory does not grow with the number of customers or lines.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from orchestration.demo.badrows import count_by_reason, plan_campaign_rows, plan_customer_rows, plan_order_rows
from orchestration.demo.campaigns import CAMPAIGN_COLUMNS
from orchestration.demo.config import (
    CAMPAIGN_PATH, CUSTOMERS_PATH, GROUND_TRUTH_DIR, MANIFEST_PATH, ORDERS_PATH, DemoConfig, FileInfo, Manifest,
)
from orchestration.demo.csvio import CsvSink, WriteResult, sha256_of
from orchestration.demo.customers import CUSTOMER_COLUMNS, customers_frame
from orchestration.demo.orders import ORDER_COLUMNS
from orchestration.demo.pipeline import (
    STREAM_BAD_CAMPAIGNS, STREAM_BAD_CUSTOMERS, STREAM_BAD_ORDERS, CampaignStream, catalogue, customer_blocks,
    order_frames, rng,
)
from orchestration.demo.seasonality import daily_demand
from orchestration.demo.segments import SEGMENT_NAMES
from orchestration.demo.spill import LINES_PER_BUCKET, LineSpill, bucket_edges

DEFINITIONS = {
    "order": "one order_id; its lines share order_id, customer_id, ordered_at and country",
    "cancellation": "an order whose order_id starts with 'C': later than an earlier order of "
                    "the same customer, repeating some of its lines with negative quantity "
                    "(at most the ordered quantity, same product and unit_price)",
    "guest_checkout": "order lines with an empty customer_id (not counted for any customer)",
    "customers.transactions": "number of distinct order_ids of the customer that do not start "
                              "with 'C' (cancellations are not transactions)",
    "customers.revenue": "sum of quantity * unit_price over all of the customer's order lines, "
                         "cancellation lines included (net revenue), rounded to cents (exact)",
    "recency_reference": "days are counted back from config.end (last day of the window)",
    "planted_rows": "extra invalid rows inserted between valid rows; each breaks exactly one "
                    "rule and is listed in _ground_truth/planted_rows.csv (1 = header line)",
}
SEGMENTS_FILE = "customer_segments.csv"


def generate(out_dir: Path, config: DemoConfig | None = None, *,
             lines_per_bucket: int = LINES_PER_BUCKET) -> Manifest:
    """Generate the demo landing files and ground truth under ``out_dir``; return the manifest.

    Writes ``campaign_performance/campaign_performance.csv``, ``customers/customers.csv``,
    ``orders/orders.csv.gz`` and ``_ground_truth/`` (``customer_segments.csv``,
    ``planted_rejections.json``, ``planted_rows.csv``, ``manifest.json``). Existing files
    of the same names are replaced; other files are left alone. Same config → same bytes.
    ``lines_per_bucket`` bounds the order lines held in memory at once (it never changes
    the output).
    """
    cfg = config or DemoConfig()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    per_reason = cfg.errors_per_reason

    campaigns = CampaignStream.of(cfg)
    planned = (plan_campaign_rows(cfg, campaigns.table, campaigns.rows, rng(cfg.seed, STREAM_BAD_CAMPAIGNS),
                                  per_reason) if per_reason else [])
    with CsvSink(out_dir / CAMPAIGN_PATH, CAMPAIGN_COLUMNS, planned) as sink:
        for frame in campaigns.frames():
            sink.write(frame)
        camp_res = sink.close()

    cat = catalogue(cfg)
    segment_counts = np.zeros(len(SEGMENT_NAMES), dtype=np.int64)
    order_stats: dict[str, int] = {}
    edges = bucket_edges(daily_demand(cfg.start, cfg.days), cfg.order_lines_target, lines_per_bucket)
    gt_dir = out_dir / GROUND_TRUTH_DIR
    planned = plan_customer_rows(cfg.customers, rng(cfg.seed, STREAM_BAD_CUSTOMERS), per_reason) if per_reason else []
    with tempfile.TemporaryDirectory(prefix=".demo-spill-", dir=out_dir) as tmp, LineSpill(Path(tmp), edges) as spill:
        with CsvSink(out_dir / CUSTOMERS_PATH, CUSTOMER_COLUMNS, planned) as cust_sink, \
                CsvSink(gt_dir / SEGMENTS_FILE, ["customer_id", "segment"], []) as seg_sink:
            for block in customer_blocks(cfg, campaigns.alias_weights(), cat):
                draw, orders = block.draw, block.orders
                cust_sink.write(customers_frame(cfg, draw, orders.transactions, orders.revenue_cents))
                seg_sink.write(pd.DataFrame({"customer_id": draw.ids,
                                             "segment": np.array(SEGMENT_NAMES)[draw.segment]}))
                spill.add(orders.lines)
                segment_counts += np.bincount(draw.segment, minlength=len(SEGMENT_NAMES))
                for key, value in orders.stats.items():
                    order_stats[key] = order_stats.get(key, 0) + value
            cust_res = cust_sink.close()
            seg_sink.close()
        planned = plan_order_rows(spill.lines, rng(cfg.seed, STREAM_BAD_ORDERS), per_reason) if per_reason else []
        with CsvSink(out_dir / ORDERS_PATH, ORDER_COLUMNS, planned, cfg.gzip_level) as order_sink:
            for frame in order_frames(cfg, spill, cat):
                order_sink.write(frame)
            order_res = order_sink.close()

    written: dict[str, tuple[str, WriteResult]] = {
        "campaign_performance": (CAMPAIGN_PATH, camp_res),
        "customers": (CUSTOMERS_PATH, cust_res),
        "orders": (ORDERS_PATH, order_res),
    }
    gt_files = _write_ground_truth(gt_dir, written)
    manifest = Manifest(
        seed=cfg.seed,
        config=cfg.as_dict(),
        files={path: FileInfo(source=source, rows=res.rows, valid_rows=res.rows - len(res.bad_lines),
                              planted_invalid_rows=len(res.bad_lines), sha256=res.sha256)
               for source, (path, res) in written.items()},
        ground_truth=gt_files,
        definitions=DEFINITIONS,
        extra={
            "segments": {name: int(c) for name, c in zip(SEGMENT_NAMES, segment_counts)},
            "orders": order_stats,
            "campaigns": {"campaigns": int(len(campaigns.table)),
                          "raw_channels": sorted(campaigns.table["channel"].unique().tolist())},
        },
    )
    _atomic_text(out_dir / MANIFEST_PATH, manifest.to_json())
    return manifest


def _atomic_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _write_ground_truth(gt_dir: Path, written: dict[str, tuple[str, WriteResult]]) -> dict[str, str]:
    """planted_rejections.json, planted_rows.csv (customer_segments.csv is already written);
    returns name → sha256 of the three files."""
    gt_dir.mkdir(parents=True, exist_ok=True)
    rejections = {source: count_by_reason([row for _, row in res.bad_lines], source)
                  for source, (_, res) in written.items()}
    _atomic_text(gt_dir / "planted_rejections.json", json.dumps(rejections, indent=2) + "\n")

    rows = [(source, path, line, row.reason, row.column)
            for source, (path, res) in written.items() for line, row in res.bad_lines]
    planted = pd.DataFrame(rows, columns=["source", "path", "line_number", "reason", "column"])
    _atomic_text(gt_dir / "planted_rows.csv", planted.to_csv(index=False, lineterminator="\n"))
    names = [SEGMENTS_FILE, "planted_rejections.json", "planted_rows.csv"]
    return {name: sha256_of(gt_dir / name) for name in names}
