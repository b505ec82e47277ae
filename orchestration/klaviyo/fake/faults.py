"""Faults the fake server injects on demand, and its optional rate limits.

A :class:`Fault` hits the next ``count`` requests that match it (method, path prefix),
after letting ``after`` matching requests through. Kinds:

* ``rate_limit`` — 429 with ``Retry-After: retry_after`` (omitted when None);
* ``status`` — an error status (500, 503, …) with a JSON:API error body;
* ``slow`` — the normal answer after ``delay`` seconds (a client timeout shorter than it fails);
* ``truncate`` — 200 with the body cut in half (invalid JSON);
* ``repeat_cursor`` — the normal page, but ``links.next`` repeats the request's own URL.

Set at start (``create_app(faults=[...])``), by ``POST /__admin/faults`` (a fault object or a
list), or in-process through :class:`FaultPlan`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Kind = Literal["rate_limit", "status", "slow", "truncate", "repeat_cursor"]
KINDS = ("rate_limit", "status", "slow", "truncate", "repeat_cursor")


@dataclass
class Fault:
    kind: Kind
    count: int = 1
    path: str | None = None  # prefix of the request path, e.g. "/api/events"
    method: str | None = None
    after: int = 0
    status: int = 500
    retry_after: float | None = 1
    delay: float = 2.0
    hits: int = field(default=0)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(KINDS)}")
        if self.count < 1 or self.after < 0:
            raise ValueError("count must be >= 1 and after >= 0")

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return not self.path or path.rstrip("/").startswith(self.path.rstrip("/"))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Fault:
        allowed = set(cls.__dataclass_fields__) - {"hits"}
        unknown = set(d) - allowed
        if unknown:
            raise ValueError(f"unknown fault keys: {', '.join(sorted(unknown))}")
        return cls(**d)


class FaultPlan:
    """Pending faults, consumed in order; thread-safe."""

    def __init__(self, faults: list[Fault] | None = None) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = list(faults or [])
        self.fired: list[dict[str, Any]] = []

    def add(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def take(self, method: str, path: str) -> Fault | None:
        """The fault this request suffers, if any (counts it)."""
        with self._lock:
            for f in self._faults:
                if not f.matches(method, path):
                    continue
                f.hits += 1
                if f.hits <= f.after:
                    continue
                if f.hits - f.after >= f.count:
                    self._faults.remove(f)
                self.fired.append({"kind": f.kind, "method": method, "path": path})
                return f
            return None


class RateLimiter:
    """At most ``calls`` per ``period`` seconds per (key, path prefix); sliding window."""

    def __init__(self, limits: dict[str, tuple[int, float]] | None = None) -> None:
        self.limits = dict(limits or {})
        self._lock = threading.Lock()
        self._calls: dict[tuple[str, str], deque[float]] = {}

    def check(self, key: str, path: str) -> float | None:
        """None if allowed (and counted), else the seconds to wait."""
        for prefix, (calls, period) in self.limits.items():
            if not path.rstrip("/").startswith(prefix.rstrip("/")):
                continue
            with self._lock:
                now = time.monotonic()
                q = self._calls.setdefault((key, prefix), deque())
                while q and now - q[0] >= period:
                    q.popleft()
                if len(q) >= calls:
                    return max(0.0, period - (now - q[0]))
                q.append(now)
        return None
