"""Klaviyo's per-endpoint rate limits as the local server enforces them, and the violation count.

The numbers come from the ``x-klaviyo-ratelimit`` extension of each operation in Klaviyo's
OpenAPI spec, revision 2026-07-15 (its published ``stable.json``, e.g.
``get_events``: ``{"burst": "350/s", "steady": "3500/m"}``). They are written here — the
server never reads the spec — and ``tests/test_klaviyo_ratelimit.py`` checks them against
it when the spec is present. Deliberately a separate copy from the client's
(:mod:`orchestration.klaviyo.ratelimit`), so the server is an independent referee.

Per (API key, endpoint) the server keeps the arrival times of the requests it accepted; a
request that finds ``limit`` of them within a window is answered 429 with ``Retry-After``
(whole seconds until the window has room, as Klaviyo does) and counted as a **violation**
(``over_limit``): a client that honours the limits never sends it. After any 429 (a full
window or an injected ``rate_limit`` fault) the endpoint stays blocked for the
``Retry-After``; a request arriving then is counted (``retry_after``; it is answered as
the windows decide), except within :data:`IN_FLIGHT_GRACE` of the 429 leaving the server —
such a request was already on its way when the client learnt of the 429.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass

#: (method, path) → (burst per second, steady per minute): ``x-klaviyo-ratelimit`` of
#: get_metrics, get_lists, get_flows, get_campaigns, get_profiles, get_events and
#: query_campaign_values in stable.json (revision 2026-07-15).
SPEC_RATE_LIMITS: dict[tuple[str, str], tuple[int, int]] = {
    ("GET", "/api/metrics"): (10, 150),
    ("GET", "/api/lists"): (75, 750),
    ("GET", "/api/flows"): (3, 60),
    ("GET", "/api/campaigns"): (10, 150),
    ("GET", "/api/profiles"): (75, 750),
    ("GET", "/api/events"): (350, 3500),
    ("POST", "/api/campaign-values-reports"): (1, 2),
}
#: A request reaching the server this soon after a 429 left it was sent before the client
#: could know; it is answered 429 but not counted as a violation.
IN_FLIGHT_GRACE = 0.25


@dataclass(frozen=True)
class Window:
    """At most ``limit`` accepted requests in any ``seconds``-long window."""

    limit: int
    seconds: float


Limits = dict[tuple[str, str], tuple[Window, ...]]


def spec_limits() -> Limits:
    """:data:`SPEC_RATE_LIMITS` as windows: burst per 1 s, steady per 60 s."""
    return {k: (Window(b, 1.0), Window(s, 60.0)) for k, (b, s) in SPEC_RATE_LIMITS.items()}


def bucket_of(method: str, path: str) -> tuple[str, str]:
    """``("GET", "/api/events")`` for ``GET /api/events/``."""
    return method.upper(), "/" + path.strip("/")


class _State:
    def __init__(self, windows: tuple[Window, ...]) -> None:
        self.windows = windows
        self.accepted: deque[float] = deque()
        self.blocked_until = 0.0
        self.last_429 = -math.inf


class KlaviyoRateLimits:
    """Burst/steady windows per (key, endpoint), Retry-After blocks, and violation counts."""

    def __init__(self, limits: Limits | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits: Limits = dict(limits or {})
        self._clock = clock
        self._lock = threading.Lock()
        self._states: dict[tuple[str, tuple[str, str]], _State] = {}
        self._violations: Counter = Counter()
        self._throttled: Counter = Counter()

    def now(self) -> float:
        return self._clock()

    def admit(self, key: str, account_id: str, method: str, path: str, arrived: float) -> float | None:
        """None when the request may be served (it is counted in its windows), else the
        Retry-After seconds of the 429 to answer (violations are counted here)."""
        bucket = bucket_of(method, path)
        with self._lock:
            state = self._state(key, bucket)
            if arrived < state.blocked_until and arrived > state.last_429 + IN_FLIGHT_GRACE:
                # counted, not refused: the windows alone decide the answer (an injected 429
                # must not turn into an hour of 429s)
                self._violations[(account_id, bucket, "retry_after")] += 1
            if not state.windows:
                return None
            longest = max(w.seconds for w in state.windows)
            while state.accepted and arrived - state.accepted[0] >= longest:
                state.accepted.popleft()
            wait = 0.0
            for w in state.windows:
                inside = [t for t in state.accepted if arrived - t < w.seconds]
                if len(inside) >= w.limit:
                    wait = max(wait, inside[len(inside) - w.limit] + w.seconds - arrived)
            if wait > 0:
                self._throttled[(account_id, bucket)] += 1
                self._violations[(account_id, bucket, "over_limit")] += 1
                return wait
            state.accepted.append(arrived)
            return None

    def answered_429(self, key: str, method: str, path: str, retry_after: float | None) -> None:
        """A 429 leaves the server now: block the endpoint for its Retry-After."""
        bucket = bucket_of(method, path)
        with self._lock:
            state = self._state(key, bucket)
            now = self._clock()
            state.last_429 = now
            state.blocked_until = max(state.blocked_until, now + (retry_after or 0.0))

    def _state(self, key: str, bucket: tuple[str, str]) -> _State:
        state = self._states.get((key, bucket))
        if state is None:
            state = _State(self.limits.get(bucket, ()))
            self._states[(key, bucket)] = state
        return state

    def violations(self) -> dict[str, dict[str, int]]:
        """``{account_id: {"GET /api/events over_limit": n, ...}}`` (only non-zero counts)."""
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            for (account, (method, path), reason), n in sorted(self._violations.items()):
                out.setdefault(account, {})[f"{method} {path} {reason}"] = n
        return out

    def total_violations(self) -> int:
        with self._lock:
            return sum(self._violations.values())

    def throttled(self) -> dict[str, dict[str, int]]:
        """429s answered per account and endpoint (violations or not)."""
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            for (account, (method, path)), n in sorted(self._throttled.items()):
                out.setdefault(account, {})[f"{method} {path}"] = n
        return out

    def reset(self) -> None:
        """Forget windows, blocks and counts."""
        with self._lock:
            self._states.clear()
            self._violations.clear()
            self._throttled.clear()

    def describe(self) -> dict[str, list[list[float]]]:
        """The enforced windows: ``{"GET /api/events": [[350, 1.0], [3500, 60.0]], ...}``."""
        return {f"{m} {p}": [[w.limit, w.seconds] for w in ws] for (m, p), ws in sorted(self.limits.items())}


def retry_after_header(seconds: float) -> str:
    """Klaviyo sends whole seconds: the wait rounded up, at least 1."""
    return str(max(1, math.ceil(seconds - 1e-9)))
