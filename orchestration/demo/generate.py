"""Entry point of the demo-data generator: :func:`generate` writes a landing dir."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from orchestration.demo.badrows import (
    BadRow, campaign_bad_rows, count_by_reason, customer_bad_rows, order_bad_rows,
)
from orchestration.demo.campaigns import CAMPAIGN_COLUMNS, build_campaigns
from orchestration.demo.catalogue import build_catalogue
from orchestration.demo.config import (
    CAMPAIGN_PATH, CUSTOMERS_PATH, GROUND_TRUTH_DIR, MANIFEST_PATH, ORDERS_PATH, DemoConfig, FileInfo, Manifest,
)
from orchestration.demo.csvio import WriteResult, sha256_of, write_csv
from orchestration.demo.customers import CUSTOMER_COLUMNS, customers_frame, draw_customers
from orchestration.demo.orders import ORDER_COLUMNS, build_orders
from orchestration.demo.segments import SEGMENT_NAMES

# Independent random streams: changing one part (e.g. the planted errors) never
# changes the random numbers of another.
STREAM_CAMPAIGNS, STREAM_CUSTOMERS, STREAM_CATALOGUE, STREAM_ORDERS = 1, 2, 3, 4
STREAM_BAD_CAMPAIGNS, STREAM_BAD_CUSTOMERS, STREAM_BAD_ORDERS = 11, 12, 13

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


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, stream]))


def generate(out_dir: Path, config: DemoConfig | None = None) -> Manifest:
    """Generate the demo landing files and ground truth under ``out_dir``; return the manifest.

    Writes ``campaign_performance/campaign_performance.csv``, ``customers/customers.csv``,
    ``orders/orders.csv.gz`` and ``_ground_truth/`` (``customer_segments.csv``,
    ``planted_rejections.json``, ``planted_rows.csv``, ``manifest.json``). Existing files
    of the same names are replaced; other files are left alone. Same config → same bytes.
    """
    cfg = config or DemoConfig()
    out_dir = Path(out_dir)
    per_reason = cfg.errors_per_reason

    campaigns = build_campaigns(cfg, _rng(cfg.seed, STREAM_CAMPAIGNS))
    conversions = campaigns.frame.groupby("channel")["conversions"].sum()
    alias_weights = {alias: float(conversions.get(alias, 0)) + 1.0
                     for alias in campaigns.campaigns["channel"].unique()}
    draw = draw_customers(cfg, _rng(cfg.seed, STREAM_CUSTOMERS), alias_weights)
    catalogue = build_catalogue(_rng(cfg.seed, STREAM_CATALOGUE))
    orders = build_orders(cfg, _rng(cfg.seed, STREAM_ORDERS), draw, catalogue)
    customers = customers_frame(cfg, draw, orders.transactions, orders.revenue_cents)

    camp_frame = campaigns.frame[CAMPAIGN_COLUMNS]
    bad: dict[str, list[BadRow]] = {"campaign_performance": [], "customers": [], "orders": []}
    if per_reason:
        bad["campaign_performance"] = campaign_bad_rows(
            cfg, campaigns, _rng(cfg.seed, STREAM_BAD_CAMPAIGNS), per_reason)
        bad["customers"] = customer_bad_rows(customers, _rng(cfg.seed, STREAM_BAD_CUSTOMERS),
                                             per_reason)
        bad["orders"] = order_bad_rows(orders.frame, _rng(cfg.seed, STREAM_BAD_ORDERS), per_reason)

    written: dict[str, tuple[str, WriteResult, int]] = {
        "campaign_performance": (CAMPAIGN_PATH, write_csv(
            out_dir / CAMPAIGN_PATH, camp_frame, bad["campaign_performance"]), len(camp_frame)),
        "customers": (CUSTOMERS_PATH, write_csv(
            out_dir / CUSTOMERS_PATH, customers[CUSTOMER_COLUMNS], bad["customers"]),
            len(customers)),
        "orders": (ORDERS_PATH, write_csv(
            out_dir / ORDERS_PATH, orders.frame[ORDER_COLUMNS], bad["orders"], cfg.gzip_level),
            len(orders.frame)),
    }
    gt_files = _write_ground_truth(out_dir / GROUND_TRUTH_DIR, draw.ids, draw.segment, written)

    manifest = Manifest(
        seed=cfg.seed,
        config=cfg.as_dict(),
        files={path: FileInfo(source=source, rows=res.rows, valid_rows=valid,
                              planted_invalid_rows=res.rows - valid, sha256=res.sha256)
               for source, (path, res, valid) in written.items()},
        ground_truth=gt_files,
        definitions=DEFINITIONS,
        extra={
            "segments": {name: int((draw.segment == k).sum()) for k, name in enumerate(SEGMENT_NAMES)},
            "orders": orders.stats,
            "campaigns": {"campaigns": int(len(campaigns.campaigns)),
                          "raw_channels": sorted(campaigns.campaigns["channel"].unique().tolist())},
        },
    )
    manifest_path = out_dir / MANIFEST_PATH
    _atomic_text(manifest_path, manifest.to_json())
    return manifest


def _atomic_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _write_ground_truth(gt_dir: Path, ids: np.ndarray, segment: np.ndarray,
                        written: dict[str, tuple[str, WriteResult, int]]) -> dict[str, str]:
    """customer_segments.csv, planted_rejections.json, planted_rows.csv; returns name → sha256."""
    gt_dir.mkdir(parents=True, exist_ok=True)
    seg = pd.DataFrame({"customer_id": ids, "segment": np.array(SEGMENT_NAMES)[segment]})
    _atomic_text(gt_dir / "customer_segments.csv", seg.to_csv(index=False, lineterminator="\n"))

    rejections = {source: count_by_reason([row for _, row in res.bad_lines], source)
                  for source, (_, res, _) in written.items()}
    _atomic_text(gt_dir / "planted_rejections.json", json.dumps(rejections, indent=2) + "\n")

    rows = [(source, path, line, row.reason, row.column)
            for source, (path, res, _) in written.items() for line, row in res.bad_lines]
    planted = pd.DataFrame(rows, columns=["source", "path", "line_number", "reason", "column"])
    _atomic_text(gt_dir / "planted_rows.csv", planted.to_csv(index=False, lineterminator="\n"))
    names = ["customer_segments.csv", "planted_rejections.json", "planted_rows.csv"]
    return {name: sha256_of(gt_dir / name) for name in names}

