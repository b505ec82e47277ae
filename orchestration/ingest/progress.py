"""A tqdm progress bar over the bytes of a file, shown only on a terminal (or when asked)."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


def progress_bar(total: int, label: str, enabled: bool | None) -> Any:
    """A bar counting stored bytes; ``enabled=None`` means: only when stderr is a terminal."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(
        total=total, desc=label, unit="B", unit_scale=True, unit_divisor=1024,
        disable=not enabled, leave=False, mininterval=0.5,
    )
