"""HTTP client of the Klaviyo REST API (JSON:API documents, cursor paging, retries).

* headers: ``Authorization: Klaviyo-API-Key <key>``, ``revision: <pinned>``,
  ``accept: application/vnd.api+json`` (+ ``content-type`` of the same type on POST);
* paging: :meth:`KlaviyoClient.paginate` follows ``links.next`` until it is null, refuses a
  next link it already followed (a server repeating a cursor would loop forever) and
  never sends the key to a host other than the base URL's;
* retries (tenacity): 429 waits the ``Retry-After`` seconds (capped); 5xx, timeouts,
  transport errors and bodies that are not complete JSON back off exponentially with
  jitter; a bounded number of attempts. 401/403 stop at once with one sentence about the
  key and its scopes; 400 (and other 4xx) with one sentence naming the request (method +
  path) and Klaviyo's error detail.
* rate limits: every request first takes a :class:`~orchestration.klaviyo.ratelimit.RateLimiter`
  ticket (Klaviyo's burst and steady windows per endpoint, shared by all threads using the
  client); a 429 blocks its endpoint for every thread until ``Retry-After`` elapsed.
  The client is thread-safe: parallel slices share one client, one limiter, one pool.
* :class:`ClientStats` counts requests, retries (by reason), pages and rows.
"""

from __future__ import annotations

import email.utils
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import tenacity
from tenacity import retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from orchestration.klaviyo.config import DEFAULT_BASE_URL, DEFAULT_REVISION, AccountConfig, SyncOptions
from orchestration.klaviyo.ratelimit import RateLimiter
from orchestration.klaviyo.errors import (
    REQUIRED_SCOPES,
    BrokenBody,
    KlaviyoAuthError,
    KlaviyoPagingError,
    KlaviyoRequestError,
    KlaviyoUnavailableError,
    RateLimited,
    RetryableResponse,
    ServerError,
)

try:  # orjson is much faster on 1,000-event pages; the stdlib is the fallback
    import orjson as _orjson

    def _loads(data: bytes) -> Any:
        return _orjson.loads(data)
except ImportError:  # pragma: no cover - orjson ships with the pinned environment
    _orjson = None

    def _loads(data: bytes) -> Any:
        return json.loads(data)

log = logging.getLogger(__name__)

JSONAPI = "application/vnd.api+json"
_RETRYABLE = (RetryableResponse, httpx.TransportError)  # TimeoutException is a TransportError


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: attempts (first try included), backoff and the Retry-After cap."""

    max_attempts: int = 8
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    backoff_jitter: float = 1.0
    retry_after_cap: float = 120.0

    @classmethod
    def from_options(cls, options: SyncOptions) -> RetryPolicy:
        return cls(options.max_attempts, options.backoff_initial, options.backoff_max,
                   options.backoff_jitter, options.retry_after_cap)


@dataclass
class ClientStats:
    """What the client did: requests sent, retries (by reason), pages and rows received."""

    requests: int = 0
    retries: int = 0
    pages: int = 0
    rows: int = 0
    waited_seconds: float = 0.0
    retry_reasons: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "retries": self.retries, "pages": self.pages,
                "rows": self.rows, "waited_seconds": round(self.waited_seconds, 3),
                "retry_reasons": dict(self.retry_reasons)}


@dataclass(frozen=True)
class Page:
    """One page of a collection: its resources, the compound ``included`` and the next link."""

    url: str
    data: list[dict[str, Any]]
    included: list[dict[str, Any]]
    next_url: str | None
    document: dict[str, Any]


class _Wait(tenacity.wait.wait_base):
    """Retry-After (capped) for a 429 that has one, else exponential backoff with jitter."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.cap = policy.retry_after_cap
        self.backoff = wait_exponential_jitter(
            multiplier=policy.backoff_initial, max=policy.backoff_max, jitter=policy.backoff_jitter)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return max(0.0, min(exc.retry_after, self.cap))
        return self.backoff(retry_state)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def describe(method: str, url: str | httpx.URL) -> str:
    """``GET /api/events`` — how a request is named in messages (never the query or headers)."""
    return f"{method.upper()} {httpx.URL(str(url)).path}"


class KlaviyoClient:
    """A connection-pooled client of one Klaviyo account.

    ``api_key`` is held privately: it is not part of ``repr()``, of log lines or of any error
    message (messages are scrubbed of it as a last line of defence).
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        revision: str = DEFAULT_REVISION,
        account_id: str = "default",
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        limiter: RateLimiter | None = None,
        max_connections: int = 32,
    ) -> None:
        if not base_url.endswith("/"):
            base_url += "/"
        self.account_id = account_id
        self.base_url = base_url
        self.revision = revision
        self.retry = retry or RetryPolicy()
        self.stats = ClientStats()
        #: Klaviyo's per-endpoint windows, shared by every thread that uses this client.
        self.limiter = limiter or RateLimiter()
        self._key = api_key
        self._sleep = sleep
        self._origin = _origin(base_url)
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Klaviyo-API-Key {api_key}", "revision": revision,
                     "accept": JSONAPI},
            timeout=httpx.Timeout(timeout),
            transport=transport,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    @classmethod
    def for_account(cls, account: AccountConfig, options: SyncOptions | None = None,
                    **kwargs: Any) -> KlaviyoClient:
        options = options or SyncOptions()
        return cls(account.api_key, base_url=account.base_url, revision=account.revision,
                   account_id=account.account_id, timeout=options.timeout,
                   retry=RetryPolicy.from_options(options),
                   max_connections=max(8, 2 * options.concurrency), **kwargs)

    def __repr__(self) -> str:
        return f"KlaviyoClient(account_id={self.account_id!r}, base_url={self.base_url!r}, revision={self.revision!r})"

    def __enter__(self) -> KlaviyoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- requests -------------------------------------------------------------------------

    def serves(self, url: str) -> bool:
        """Whether ``url`` is on this client's API host (a saved link from another base URL is not)."""
        try:
            return _origin(url) == self._origin
        except httpx.InvalidURL:
            return False

    def build_url(self, path: str, params: dict[str, Any] | None = None) -> str:
        """Absolute URL of ``path`` (relative to the base URL) with ``params`` encoded."""
        return str(self._http.build_request("GET", path, params=params).url)

    def request(self, method: str, url: str, *, params: dict[str, Any] | None = None,
                json_body: Any = None, scope: str | None = None) -> dict[str, Any]:
        """Send one request with retries; return the decoded JSON:API document."""
        target = self._http.build_request(method, url, params=params).url
        if target.is_absolute_url and _origin(str(target)) != self._origin:
            raise KlaviyoPagingError(self._scrub(
                f"Klaviyo returned a link to {target.scheme}://{target.host} for {describe(method, target)}, "
                f"not to {self._origin}; refusing to send the API key of account {self.account_id!r} there."
            ))
        retrying = tenacity.Retrying(
            stop=stop_after_attempt(max(1, self.retry.max_attempts)),
            wait=_Wait(self.retry),
            retry=retry_if_exception_type(_RETRYABLE),
            before_sleep=self._before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._once(method, target, json_body, scope)
        except RetryableResponse as exc:
            raise KlaviyoUnavailableError(self._scrub(
                f"Klaviyo kept failing {describe(method, target)} for account {self.account_id!r} "
                f"after {self.retry.max_attempts} attempts (last: {exc.detail}); try again later."
            )) from None
        except httpx.TransportError as exc:
            raise KlaviyoUnavailableError(self._scrub(
                f"Could not reach Klaviyo at {self._origin} for {describe(method, target)} "
                f"after {self.retry.max_attempts} attempts (last: {_transport_detail(exc)}); "
                f"check the network and the base URL {self.base_url}."
            )) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, path: str, params: dict[str, Any] | None = None, *, scope: str | None = None) -> dict[str, Any]:
        return self.request("GET", path, params=params, scope=scope)

    def post(self, path: str, body: Any, *, scope: str | None = None) -> dict[str, Any]:
        return self.request("POST", path, json_body=body, scope=scope)

    def paginate(self, path: str, params: dict[str, Any] | None = None, *, start_url: str | None = None,
                 scope: str | None = None) -> Iterator[Page]:
        """Pages of a collection, following ``links.next`` until it is null.

        ``start_url`` resumes at a saved next link (``path``/``params`` are then ignored).
        A next link already followed raises :class:`KlaviyoPagingError` (pages before it
        were yielded, so the caller has saved them).
        """
        url = start_url or self.build_url(path, params)
        seen_urls: set[str] = set()
        seen_cursors: set[str] = set()
        while url:
            cursor = _cursor_of(url)
            if url in seen_urls or (cursor is not None and cursor in seen_cursors):
                raise KlaviyoPagingError(self._scrub(
                    f"Klaviyo returned the same next-page link twice for {describe('GET', url)} "
                    f"(account {self.account_id!r}); stopped instead of looping — the pages before it are saved "
                    f"and the next sync resumes from there."
                ))
            seen_urls.add(url)
            if cursor is not None:
                seen_cursors.add(cursor)
            doc = self.request("GET", url, scope=scope)
            data = doc.get("data")
            if not isinstance(data, list):
                raise KlaviyoRequestError(self._scrub(
                    f"Klaviyo answered {describe('GET', url)} with a document whose data is not a list; "
                    f"is the path a collection?"), 200)
            included = doc.get("included") or []
            next_url = (doc.get("links") or {}).get("next") or None
            with self.stats.lock:
                self.stats.pages += 1
                self.stats.rows += len(data)
            yield Page(url=url, data=data, included=included, next_url=next_url, document=doc)
            url = next_url

    # -- internals ------------------------------------------------------------------------

    def _once(self, method: str, url: httpx.URL, json_body: Any, scope: str | None) -> dict[str, Any]:
        headers = {}
        content = None
        if json_body is not None:
            headers["content-type"] = JSONAPI
            content = json.dumps(json_body).encode()
        with self.stats.lock:
            self.stats.requests += 1
        ticket = self.limiter.acquire(method, url.path)
        try:
            response = self._http.request(method, url, headers=headers, content=content)
        finally:
            ticket.done()
        status = response.status_code
        what = describe(method, url)
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            # every thread waits, not only this one (capped like the retry's own wait)
            self.limiter.block(method, url.path, min(self.retry.retry_after_cap,
                                                     1.0 if retry_after is None else retry_after))
            raise RateLimited(f"HTTP 429 on {what}", retry_after)
        if status >= 500:
            raise ServerError(f"HTTP {status} on {what}")
        if status == 401:
            raise KlaviyoAuthError(self._scrub(
                f"Klaviyo rejected the API key of account {self.account_id!r} (HTTP 401 on {what}); "
                f"set a valid private API key (KLAVIYO_API_KEY or KLAVIYO_ACCOUNTS) that has the read scopes "
                f"{', '.join(REQUIRED_SCOPES)}."
            ), 401)
        if status == 403:
            needed = f"the scope {scope}" if scope else "the read scopes"
            raise KlaviyoAuthError(self._scrub(
                f"The API key of account {self.account_id!r} is not allowed to call {what} (HTTP 403); "
                f"give the private key {needed} (the sync needs {', '.join(REQUIRED_SCOPES)})."
            ), 403)
        if status >= 400:
            detail = _error_detail(response)
            raise KlaviyoRequestError(self._scrub(
                f"Klaviyo rejected {what} for account {self.account_id!r} (HTTP {status}): {detail}"
                + ("" if detail.endswith(".") else ".")
            ), status, detail)
        if status != 200 and not response.content:
            raise BrokenBody(f"HTTP {status} without a body on {what}")
        try:
            doc = _loads(response.content)
        except ValueError:
            raise BrokenBody(f"an incomplete JSON body ({len(response.content)} bytes) on {what}") from None
        if not isinstance(doc, dict):
            raise BrokenBody(f"a JSON body that is not a document on {what}")
        return doc

    def _before_sleep(self, retry_state: tenacity.RetryCallState) -> None:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        reason = exc.reason if isinstance(exc, RetryableResponse) else (
            "timeout" if isinstance(exc, httpx.TimeoutException) else "transport_error")
        wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
        with self.stats.lock:
            self.stats.retries += 1
            self.stats.retry_reasons[reason] += 1
            self.stats.waited_seconds += wait
        log.warning("klaviyo %s: retrying (%s: %s, attempt %d) in %.2fs", self.account_id, reason,
                    _scrub_text(str(exc), self._key), retry_state.attempt_number, wait)

    def _scrub(self, message: str) -> str:
        return _scrub_text(message, self._key)


def _scrub_text(message: str, key: str) -> str:
    return message.replace(key, "[redacted]") if key and key in message else message


def _origin(url: str) -> str:
    u = httpx.URL(url)
    port = f":{u.port}" if u.port else ""
    return f"{u.scheme}://{u.host}{port}"


def _cursor_of(url: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get("page[cursor]")
    return values[0] if values else None


def _transport_detail(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def _error_detail(response: httpx.Response) -> str:
    """Klaviyo's first error ``detail`` (+ the parameter it names), on one line."""
    try:
        doc = _loads(response.content)
        err = (doc.get("errors") or [{}])[0]
        detail = str(err.get("detail") or err.get("title") or "").strip()
        param = (err.get("source") or {}).get("parameter")
        if param and param not in detail:
            detail = f"{detail.rstrip('.')} (parameter {param})"
    except (ValueError, AttributeError, IndexError, TypeError):
        detail = response.text.strip()[:200]
    detail = " ".join(detail.split())
    return detail[:300] or f"HTTP {response.status_code} without detail"


def isoformat_z(value: datetime) -> str:
    """``2024-01-01T00:00:00Z`` (UTC; microseconds only when present) for filter values."""
    value = value.astimezone(timezone.utc)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"
