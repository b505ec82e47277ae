"""One shared, thread-safe rate limiter per Klaviyo account: burst and steady windows per
endpoint, and ``Retry-After`` blocks.

Klaviyo limits every endpoint per account with two sliding windows (``x-klaviyo-ratelimit``
in the OpenAPI spec, revision 2026-07-15, e.g. ``GET /api/events``: ``burst: 350/s``,
``steady: 3500/m``). :data:`KLAVIYO_LIMITS` copies those numbers for the endpoints the sync
calls; ``tests/test_klaviyo_ratelimit.py`` checks them against the spec when it is present.

How a request is admitted (:meth:`RateLimiter.acquire`): it may start when, in each window
of its bucket, fewer than ``limit`` requests are *occupying* it. A request occupies a window
from the moment it is admitted until ``window`` seconds after its response arrived
(:meth:`Ticket.done`). The server stamps a request somewhere between those two instants, so
however the network or the server's own queue delays a request, the server can never see
more than ``limit`` requests inside any ``window`` (proof: of ``limit + 1`` requests the
server saw within one window, the last admitted found the others still occupying it). The
price is one latency per window — 150 ms on 60 s — nothing at the steady limit.

A 429 blocks the bucket for its ``Retry-After`` (:meth:`RateLimiter.block`): every thread
waits until it elapsed, not just the one that was throttled.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

#: (method, path below /api/) → (burst per second, steady per minute), from the spec's
#: ``x-klaviyo-ratelimit`` of each operation (stable.json, revision 2026-07-15).
KLAVIYO_LIMITS: dict[tuple[str, str], tuple[int, int]] = {
    ("GET", "metrics"): (10, 150),
    ("GET", "lists"): (75, 750),
    ("GET", "flows"): (3, 60),
    ("GET", "campaigns"): (10, 150),
    ("GET", "profiles"): (75, 750),
    ("GET", "events"): (350, 3500),
    ("POST", "campaign-values-reports"): (1, 2),
}
#: Endpoints not listed above get Klaviyo's smallest common tier (XS: 1/s, 15/m).
DEFAULT_LIMIT: tuple[int, int] = (1, 15)


@dataclass(frozen=True)
class Window:
    """At most ``limit`` requests in any ``seconds``-long window."""

    limit: int
    seconds: float


def windows_of(burst_per_second: int, steady_per_minute: int) -> tuple[Window, Window]:
    """The burst (1 s) and steady (60 s) windows of one endpoint."""
    return Window(burst_per_second, 1.0), Window(steady_per_minute, 60.0)


def klaviyo_windows() -> dict[tuple[str, str], tuple[Window, ...]]:
    """:data:`KLAVIYO_LIMITS` as windows (what :class:`RateLimiter` enforces by default)."""
    return {k: windows_of(b, s) for k, (b, s) in KLAVIYO_LIMITS.items()}


def bucket_of(method: str, path: str) -> tuple[str, str]:
    """``("GET", "events")`` for ``GET /api/events/`` (the rate-limit bucket of a request)."""
    tail = path.split("/api/", 1)[-1].strip("/")
    return method.upper(), tail.split("/", 1)[0]


class Ticket:
    """An admitted request; call :meth:`done` when its response arrived (or it failed)."""

    __slots__ = ("_limiter", "_bucket", "_slot")

    def __init__(self, limiter: RateLimiter, bucket: tuple[str, str], slot: list[float]) -> None:
        self._limiter, self._bucket, self._slot = limiter, bucket, slot

    def done(self) -> None:
        """The request is finished: from now its slot frees ``window`` seconds later."""
        self._limiter._finish(self._slot)


class _Bucket:
    def __init__(self, windows: tuple[Window, ...]) -> None:
        self.windows = windows
        #: admitted requests, oldest first: [admitted_at, finished_at or inf]
        self.slots: deque[list[float]] = deque()
        self.blocked_until = 0.0


class RateLimiter:
    """Per-bucket burst/steady windows and Retry-After blocks, shared by all threads of a client.

    ``windows`` maps ``(method, endpoint)`` to its windows (default :func:`klaviyo_windows`;
    an endpoint not named gets :data:`DEFAULT_LIMIT`); ``scale`` (0 < scale ≤ 1) keeps a
    safety share of every limit unused (default: none).
    """

    def __init__(self, windows: dict[tuple[str, str], tuple[Window, ...]] | None = None, *,
                 scale: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        if not 0 < scale <= 1:
            raise ValueError("scale must be in (0, 1]")
        self._limits = dict(klaviyo_windows() if windows is None else windows)
        self._scale = scale
        self._clock = clock
        self._cond = threading.Condition()
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self.waited_seconds = 0.0
        self.admitted = 0

    def _bucket(self, key: tuple[str, str]) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            windows = self._limits.get(key) or windows_of(*DEFAULT_LIMIT)
            bucket = _Bucket(tuple(Window(max(1, int(w.limit * self._scale)), w.seconds) for w in windows))
            self._buckets[key] = bucket
        return bucket

    def acquire(self, method: str, path: str) -> Ticket:
        """Wait until the request may be sent; return its :class:`Ticket`."""
        key = bucket_of(method, path)
        started = self._clock()
        with self._cond:
            bucket = self._bucket(key)
            while True:
                wait = self._wait_for(bucket, self._clock())
                if wait <= 0:
                    break
                self._cond.wait(timeout=wait)
            slot = [self._clock(), float("inf")]
            bucket.slots.append(slot)
            self.admitted += 1
            self.waited_seconds += self._clock() - started
        return Ticket(self, key, slot)

    def _wait_for(self, bucket: _Bucket, now: float) -> float:
        """Seconds until a request may be admitted (≤ 0: now)."""
        longest = max(w.seconds for w in bucket.windows)
        while bucket.slots and bucket.slots[0][1] + longest <= now:
            bucket.slots.popleft()  # no longer occupies any window
        wait = bucket.blocked_until - now
        for window in bucket.windows:
            busy = [s[1] + window.seconds for s in bucket.slots if s[1] + window.seconds > now]
            if len(busy) >= window.limit:
                busy.sort()
                # in-flight requests (inf) never free by themselves: wake up when one finishes
                free_at = busy[len(busy) - window.limit]
                wait = max(wait, (free_at - now) if free_at != float("inf") else 1.0)
        return wait

    def _finish(self, slot: list[float]) -> None:
        with self._cond:
            slot[1] = self._clock()
            self._cond.notify_all()

    def block(self, method: str, path: str, seconds: float) -> None:
        """A 429 said to wait ``seconds``: nobody sends to this bucket before they elapsed."""
        key = bucket_of(method, path)
        with self._cond:
            bucket = self._bucket(key)
            bucket.blocked_until = max(bucket.blocked_until, self._clock() + max(0.0, seconds))
            self._cond.notify_all()
