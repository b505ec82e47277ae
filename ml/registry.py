"""Model registry helpers (pure): model versions, data fingerprints and ``ml.model_runs`` rows.

No database code: Dagster assets write the rows these functions build.
"""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MODEL_RUN_COLUMNS = ["model_name", "model_version", "params", "training_start", "training_end",
                     "row_count", "metrics", "trained_at", "code_version"]


def data_fingerprint(frame: pd.DataFrame, columns: Sequence[str]) -> str:
    """sha256 (16 hex chars) of the values in ``columns``, row order included, and the row count."""
    hashed = pd.util.hash_pandas_object(frame.loc[:, list(columns)], index=False).to_numpy()
    h = hashlib.sha256(hashed.tobytes())
    h.update(str(len(frame)).encode())
    return h.hexdigest()[:16]


def model_version(params: Mapping[str, Any], fingerprint: str, prefix: str) -> str:
    """``<prefix>-`` + 12 hex of sha256(canonical params JSON + data fingerprint): same
    parameters on the same data → same version."""
    text = to_json(params) + "|" + fingerprint
    return f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def _plain(value: Any) -> Any:
    """JSON-safe value: numpy scalars → Python, NaN/inf → None, dates → ISO strings."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


def to_json(value: Any) -> str:
    """Canonical JSON (sorted keys, NaN → null) of params or metrics."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"))


@lru_cache(maxsize=1)
def current_code_version() -> str:
    """``marketing-warehouse <version>`` plus ``git describe --always --dirty`` when git
    and the repository are available (never raises)."""
    try:
        from importlib.metadata import version

        pkg = version("marketing-warehouse")
    except Exception:  # noqa: BLE001 - not installed: fall back to the package constant
        from ml import __version__ as pkg
    try:
        root = Path(__file__).resolve().parent.parent
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--tags"], cwd=root,
                             capture_output=True, text=True, timeout=5, check=False)
        git = out.stdout.strip() if out.returncode == 0 else ""
    except Exception:  # noqa: BLE001 - no git binary, timeout...
        git = ""
    return f"marketing-warehouse {pkg}" + (f" ({git})" if git else "")


def model_run_record(model_name: str, model_version: str, params: Mapping[str, Any],
                     training_start: Any, training_end: Any, row_count: int,
                     metrics: Mapping[str, Any], trained_at: datetime | None = None,
                     code_version: str | None = None) -> dict[str, Any]:
    """One ``ml.model_runs`` row: params and metrics as canonical JSON text (silhouette,
    ari, mape, mase… whatever is known), training window as given (dates / timestamps;
    ``None`` when not applicable), ``trained_at`` now (UTC) unless given."""
    return {
        "model_name": model_name,
        "model_version": model_version,
        "params": to_json(params),
        "training_start": training_start,
        "training_end": training_end,
        "row_count": int(row_count),
        "metrics": to_json(metrics),
        "trained_at": trained_at or datetime.now(timezone.utc),
        "code_version": code_version if code_version is not None else current_code_version(),
    }


def model_runs_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Records from :func:`model_run_record` as a DataFrame with :data:`MODEL_RUN_COLUMNS`."""
    return pd.DataFrame(list(records), columns=MODEL_RUN_COLUMNS)
