"""Configuration and manifest types of the demo-data generator."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import date, timedelta
from pathlib import Path

GENERATOR_VERSION = "2.0.0"

#: Relative paths (inside the landing dir) of the files the generator writes.
CAMPAIGN_PATH = "campaign_performance/campaign_performance.csv"
CUSTOMERS_PATH = "customers/customers.csv"
ORDERS_PATH = "orders/orders.csv.gz"
GROUND_TRUTH_DIR = "_ground_truth"

#: Order lines per customer when ``orders_target`` is not given (100k customers → 1M lines).
DEFAULT_LINES_PER_CUSTOMER = 10


@dataclass(frozen=True)
class DemoConfig:
    """Every knob of the generator; equal configs give byte-identical files.

    ``orders_target`` is the number of *valid* order lines (registered, guest and
    cancellation lines together); ``None`` means ``10 × customers``.
    ``errors_per_reason`` planted bad rows are written per source and per reason code
    that applies to that source (0 = a clean file set, ``--no-errors``).
    """

    seed: int = 42
    start: date = date(2024, 1, 1)
    days: int = 730
    customers: int = 100_000
    campaigns: int = 200
    orders_target: int | None = None
    errors_per_reason: int = 2
    gzip_level: int = 3

    def __post_init__(self) -> None:
        if self.days < 14:
            raise ValueError("days must be >= 14")
        if self.customers < 50:
            raise ValueError("customers must be >= 50")
        if self.campaigns < 1:
            raise ValueError("campaigns must be >= 1")
        if self.errors_per_reason < 0:
            raise ValueError("errors_per_reason must be >= 0")
        if self.orders_target is not None and self.orders_target < 1:
            raise ValueError("orders_target must be >= 1")
        if not 1 <= self.gzip_level <= 9:
            raise ValueError("gzip_level must be in 1..9")

    @property
    def end(self) -> date:
        """Last day of the window (inclusive)."""
        return self.start + timedelta(days=self.days - 1)

    @property
    def order_lines_target(self) -> int:
        """Wanted number of valid order lines."""
        if self.orders_target is not None:
            return self.orders_target
        return DEFAULT_LINES_PER_CUSTOMER * self.customers

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly view (dates as ISO strings, resolved orders target)."""
        d = asdict(self)
        d["start"] = self.start.isoformat()
        d["end"] = self.end.isoformat()
        d["orders_target"] = self.order_lines_target
        return d


MANIFEST_PATH = f"{GROUND_TRUTH_DIR}/manifest.json"


def read_demo_config(landing_dir: Path) -> DemoConfig | None:
    """The config the demo files in ``landing_dir`` were generated with (from their
    manifest); ``None`` when the folder holds no generated demo data (real files)."""
    path = Path(landing_dir) / MANIFEST_PATH
    if not path.is_file():
        return None
    config = json.loads(path.read_text(encoding="utf-8"))["config"]
    values = {f.name: config[f.name] for f in fields(DemoConfig)}  # the manifest also holds "end"
    return DemoConfig(**{**values, "start": date.fromisoformat(values["start"])})


@dataclass(frozen=True)
class FileInfo:
    """One written data file: how many data rows (header excluded), how many valid."""

    source: str
    rows: int
    valid_rows: int
    planted_invalid_rows: int
    sha256: str


@dataclass
class Manifest:
    """What one generator run wrote; saved as ``_ground_truth/manifest.json``."""

    seed: int
    config: dict[str, object]
    files: dict[str, FileInfo]
    ground_truth: dict[str, str]
    definitions: dict[str, str]
    generator_version: str = GENERATOR_VERSION
    extra: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """Plain dict, stable key order (what the JSON file holds)."""
        return {
            "generator": "orchestration.demo",
            "generator_version": self.generator_version,
            "seed": self.seed,
            "config": self.config,
            "files": {path: asdict(info) for path, info in self.files.items()},
            "ground_truth": self.ground_truth,
            "definitions": self.definitions,
            **({"stats": self.extra} if self.extra else {}),
        }

    def to_json(self) -> str:
        """Deterministic JSON text (no timestamps, sorted nowhere but stable)."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"
