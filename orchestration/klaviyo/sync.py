"""Incremental sync of Klaviyo accounts into ``klaviyo_raw`` with resumable state.

Per (account, stream) the state row holds ``cursor_value`` and ``next_page_url`` and is
written in the same transaction as each page's rows, so a crash or a kill resumes from the
last committed page — no gap (the saved link is the very next request) and no duplicate
(primary key ``(account_id, id)``: events ``on conflict do nothing``, the rest upserted).

* collection streams (metrics, lists, flows, campaigns, profiles): the run reads
  ``cursor > watermark`` (per :mod:`streams`) partition by partition; the state keeps the
  run's watermark and the next request's URL (also between partitions); the last page sets
  the watermark to the highest cursor landed. A saved link the API no longer accepts
  (HTTP 400) restarts that partition from its first page (upserts are idempotent).
* events: time slices ``[a, b)`` (``greater-or-equal(datetime,a)``, ``less-than(datetime,b)``,
  ``sort=datetime``, 7 days by default) up to the sync's start time; the state's cursor is
  always a slice boundary and its link the next request (inside the slice, or the next
  slice's first page), so a resume continues exactly there — or, if Klaviyo no longer
  accepts a saved page cursor, restarts that slice. A null link means the run finished:
  the next run first asks for the earliest event after the cursor (one ``page[size]=1``
  request) to skip empty history, and starts ``events_lookback`` before the cursor to
  catch late-arriving events.
* events and profiles with ``SyncOptions.concurrency`` > 1 (``KLAVIYO_CONCURRENCY``, the
  default 8): parallel time slices with per-slice state, see :mod:`parallel`.
* campaign_values_reports: one POST per sync (the endpoint allows ~2 calls/min) over the
  last ``report_days`` days, grouped by campaign, message and channel, with the account's
  "Placed Order" metric as the conversion metric.
"""

from __future__ import annotations

import logging
import queue
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg

from orchestration import errors as project_errors
from orchestration.klaviyo import parallel, store
from orchestration.klaviyo.client import KlaviyoClient, Page, isoformat_z
from orchestration.klaviyo.config import AccountConfig, SyncOptions, load_accounts
from orchestration.klaviyo.errors import (
    KlaviyoAuthError,
    KlaviyoError,
    KlaviyoPagingError,
    KlaviyoRequestError,
    SyncLockedError,
)
from orchestration.klaviyo.streams import (
    CONVERSION_METRIC_NAME,
    METRICS,
    REPORT_GROUP_BY,
    REPORT_STATISTICS,
    STREAMS,
    STREAMS_BY_NAME,
    Stream,
    cursor_of,
)

log = logging.getLogger(__name__)

#: Called after each committed page: ``(stream name, page number in this run)``.
PageHook = Callable[[str, int], None]


@dataclass
class StreamResult:
    """How one stream of one account went in one sync."""

    stream: str
    status: str = "running"  # succeeded | failed | skipped
    pages: int = 0
    rows_received: int = 0
    rows_written: int = 0
    requests: int = 0
    retries: int = 0
    cursor: datetime | None = None
    message: str | None = None

    def line(self, account_id: str) -> str:
        cursor = f"  cursor={self.cursor.isoformat()}" if self.cursor else ""
        text = (f"{account_id:<12} {self.stream:<24} {self.status:<9} pages={self.pages:<5} "
                f"rows={self.rows_received:<8} written={self.rows_written:<8} requests={self.requests:<5} "
                f"retries={self.retries}{cursor}")
        return text + (f"\n    {self.message}" if self.message and self.status != "succeeded" else "")


@dataclass
class SyncResult:
    """One account's sync: its id, per-stream results, the client's counters."""

    account_id: str
    sync_id: str
    streams: list[StreamResult] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    errors: list[KlaviyoError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def stream(self, name: str) -> StreamResult:
        return next(s for s in self.streams if s.stream == name)

    def lines(self) -> list[str]:
        return [s.line(self.account_id) for s in self.streams]


def new_sync_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(4)}"


def select_streams(names: Iterable[str] | None) -> list[Stream]:
    """Streams by name in sync order (all when ``names`` is empty)."""
    if not names:
        return list(STREAMS)
    wanted = list(dict.fromkeys(names))
    unknown = [n for n in wanted if n not in STREAMS_BY_NAME]
    if unknown:
        raise KlaviyoError(f"Unknown Klaviyo stream {unknown[0]!r}; choose from {', '.join(STREAMS_BY_NAME)}.")
    return [s for s in STREAMS if s.name in wanted]


class _Run:
    """One account's sync: connection, client, ids, options, and per-stream bookkeeping."""

    def __init__(self, conn: psycopg.Connection, client: KlaviyoClient, account: AccountConfig,
                 sync_id: str, options: SyncOptions, now: datetime, on_page: PageHook | None,
                 dsn: str = "") -> None:
        self.conn = conn
        self.dsn = dsn  # parallel slices open their own connections
        self._lock = threading.Lock()
        self.client = client
        self.account = account
        self.sync_id = sync_id
        self.options = options
        self.now = now
        self.on_page = on_page
        self.result: StreamResult | None = None
        self._base_requests = 0
        self._base_retries = 0

    @property
    def account_id(self) -> str:
        return self.account.account_id

    def begin(self, stream: Stream, cursor_from: datetime | None) -> StreamResult:
        self._base_requests = self.client.stats.requests
        self._base_retries = self.client.stats.retries
        self.result = StreamResult(stream.name)
        store.start_stream(self.conn, self.sync_id, self.account_id, stream.name, cursor_from)
        return self.result

    def counters(self) -> tuple[int, int]:
        return (self.client.stats.requests - self._base_requests, self.client.stats.retries - self._base_retries)

    def write(self, stream: Stream, rows: list[store.Row], cursor_value: datetime | None,
              next_page_url: str | None, *, advance_to_max: bool = False) -> None:
        requests, retries = self.counters()
        written = store.write_page(
            self.conn, table=stream.name, account_id=self.account_id, sync_id=self.sync_id, rows=rows,
            append_only=stream.append_only, cursor_value=cursor_value, next_page_url=next_page_url,
            requests=requests, retries=retries, advance_to_max=advance_to_max)
        assert self.result is not None
        self.result.cursor = None if advance_to_max else cursor_value
        self.count_page(stream, len(rows), written)

    def count_page(self, stream: Stream, received: int, written: int) -> None:
        """Count a committed page (thread-safe) and call the ``on_page`` hook."""
        res = self.result
        assert res is not None
        with self._lock:
            res.pages += 1
            res.rows_received += received
            res.rows_written += written
            if self.on_page is not None:
                self.on_page(stream.name, res.pages)


# -- documents → rows ---------------------------------------------------------------------------

def _related_keys(resource: dict[str, Any]) -> list[tuple[str, str]]:
    keys: list[tuple[str, str]] = []
    for rel in (resource.get("relationships") or {}).values():
        data = rel.get("data") if isinstance(rel, dict) else None
        for item in (data if isinstance(data, list) else [data] if isinstance(data, dict) else []):
            if isinstance(item, dict) and "type" in item and "id" in item:
                keys.append((item["type"], item["id"]))
    return keys


def page_rows(stream: Stream, data: list[dict[str, Any]], included: list[dict[str, Any]]) -> list[store.Row]:
    """One row per resource; resources it names in ``relationships`` that came back in
    ``included`` are kept under the document's ``included`` key."""
    index = {(r.get("type"), r.get("id")): r for r in included if isinstance(r, dict)}
    rows = []
    for resource in data:
        document = resource
        if index:
            related = [index[k] for k in dict.fromkeys(_related_keys(resource)) if k in index]
            if related:
                document = {**resource, "included": related}
        rows.append(store.Row(str(resource["id"]), cursor_of(stream, resource), document))
    return rows


# -- pages → committed steps ---------------------------------------------------------------------

@dataclass(frozen=True)
class _Step:
    """A fetched page and the state to commit with it."""

    page: Page
    cursor_value: datetime | None
    next_page_url: str | None
    advance_to_max: bool = False


_END = object()


def _prefetched(steps: Iterator[_Step]) -> Iterator[_Step]:
    """Run ``steps`` (the HTTP side) one page ahead in a thread while the caller commits the
    current page, so network and database waits overlap. Order, errors and the page-by-page
    commit are unchanged; a page fetched ahead but never committed is simply asked again by
    the resumed sync (the saved state points at it)."""
    box: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for step in steps:
                if not put(step):
                    return
            put(_END)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
        finally:
            steps.close()

    worker = threading.Thread(target=produce, name="klaviyo-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = box.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _commit_steps(run: _Run, stream: Stream, steps: Iterator[_Step]) -> None:
    for step in _prefetched(steps):
        rows = page_rows(stream, step.page.data, step.page.included)
        run.write(stream, rows, step.cursor_value, step.next_page_url, advance_to_max=step.advance_to_max)


def _pages_with_restart(run: _Run, stream: Stream, params: dict[str, Any], url: str | None,
                        what: str) -> Iterator[Page]:
    """Pages from a saved link (or the first page); a saved link Klaviyo refuses with HTTP 400
    (an expired page cursor) restarts from the first page once."""
    pages = 0
    try:
        for page in run.client.paginate(stream.path, params, start_url=url, scope=stream.scope):
            pages += 1
            yield page
    except KlaviyoRequestError as exc:
        if url is None or pages or exc.status != 400:
            raise
        log.warning("klaviyo %s %s: the saved page link was refused (%s); restarting the %s",
                    run.account_id, stream.name, exc.detail, what)
        yield from run.client.paginate(stream.path, params, scope=stream.scope)


def _usable_link(run: _Run, stream: Stream, url: str) -> bool:
    """A saved link is followed only on the configured API host (the base URL may have changed)."""
    if run.client.serves(url):
        return True
    log.warning("klaviyo %s %s: the saved page link is not on %s; restarting from the cursor",
                run.account_id, stream.name, run.client.base_url)
    return False


# -- collection streams -------------------------------------------------------------------------

def _filter_of(url: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get("filter")
    return values[0] if values else None


def _collection_steps(run: _Run, stream: Stream, watermark: datetime | None, start_index: int,
                      start_url: str | None) -> Iterator[_Step]:
    partitions = stream.partitions
    for index in range(start_index, len(partitions)):
        params = stream.params(partitions[index], since=watermark)
        url = start_url if index == start_index else None
        last = index == len(partitions) - 1
        # between partitions the state points at the next partition's first request
        following = None if last else run.client.build_url(stream.path, stream.params(partitions[index + 1], watermark))
        for page in _pages_with_restart(run, stream, params, url, "partition"):
            if page.next_url:
                yield _Step(page, watermark, page.next_url)
            elif not last:
                yield _Step(page, watermark, following)
            else:  # the last page: the watermark becomes the highest cursor landed
                yield _Step(page, watermark, None, advance_to_max=bool(stream.cursor_field))


def _sync_collection(run: _Run, stream: Stream) -> None:
    if parallel.wanted(run, stream):
        parallel.sync_sliced(run, stream)
        return
    state = store.get_state(run.conn, run.account_id, stream.name)
    watermark = state.cursor_value if state else None
    start_index, start_url = 0, None
    if state and state.next_page_url and _usable_link(run, stream, state.next_page_url):
        saved = _filter_of(state.next_page_url)
        match = [i for i, p in enumerate(stream.partitions) if stream.filter(p, watermark) == saved]
        if match:
            start_index, start_url = match[0], state.next_page_url
            log.info("klaviyo %s %s: resuming at a saved page link", run.account_id, stream.name)
        else:
            log.warning("klaviyo %s %s: the saved page link does not match this stream's requests; "
                        "restarting from the cursor", run.account_id, stream.name)
    run.begin(stream, watermark)
    _commit_steps(run, stream, _collection_steps(run, stream, watermark, start_index, start_url))
    run.result.cursor = store.get_state(run.conn, run.account_id, stream.name).cursor_value


# -- events ------------------------------------------------------------------------------------

_UPPER = re.compile(r"less-than\(datetime,([^,()]+)\)")


def _parse_time(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _slice_end_of(url: str) -> datetime | None:
    match = _UPPER.search(_filter_of(url) or "")
    return _parse_time(match.group(1)) if match else None


def _first_event_time(run: _Run, stream: Stream, since: datetime | None, until: datetime) -> datetime | None:
    """Datetime of the earliest event in [since, until) — one request of one event."""
    params = stream.params(None, since=since, until=until)
    params.pop("include", None)
    params["page[size]"] = 1
    params["fields[event]"] = "datetime"
    doc = run.client.get(stream.path, params, scope=stream.scope)
    data = doc.get("data") or []
    if not data:
        return None
    return _parse_time(str((data[0].get("attributes") or {}).get("datetime") or ""))


def _event_steps(run: _Run, stream: Stream, start: datetime, end: datetime, url: str | None,
                 until: datetime) -> Iterator[_Step]:
    """Slices [start, end), [end, end + width) … up to ``until``; ``url`` resumes the first."""
    width = run.options.event_slice
    while True:
        params = stream.params(None, since=start, until=end)
        # after a slice's last page the state points at the next slice's first request, so an
        # interrupted run resumes exactly there; a null link means the run reached ``until``
        following = (None if end >= until else
                     run.client.build_url(stream.path, stream.params(None, since=end, until=min(end + width, until))))
        for page in _pages_with_restart(run, stream, params, url, "slice"):
            if page.next_url:
                yield _Step(page, start, page.next_url)
            else:
                yield _Step(page, end, following)
        if end >= until:
            return
        start, end, url = end, min(end + width, until), following


def _sync_events(run: _Run, stream: Stream) -> None:
    if parallel.wanted(run, stream):
        parallel.sync_sliced(run, stream)
        return
    state = store.get_state(run.conn, run.account_id, stream.name)
    until = run.now
    if (state and state.next_page_url and state.cursor_value is not None
            and _usable_link(run, stream, state.next_page_url)):
        end = _slice_end_of(state.next_page_url)
        if end is not None:
            log.info("klaviyo %s events: resuming the slice from %s at a saved page link",
                     run.account_id, state.cursor_value.isoformat())
            run.begin(stream, state.cursor_value)
            _commit_steps(run, stream, _event_steps(run, stream, state.cursor_value, end, state.next_page_url,
                                                    max(until, end)))
            return
    cursor = state.cursor_value if state else None
    since = cursor - run.options.events_lookback if cursor is not None else run.account.start
    run.begin(stream, since)
    first = _first_event_time(run, stream, since, until)
    if first is None:  # nothing new: the cursor moves to this sync's start
        run.write(stream, [], max(cursor, until) if cursor is not None else until, None)
        return
    day = first.replace(hour=0, minute=0, second=0, microsecond=0)
    start = max(since, day) if since is not None else day
    _commit_steps(run, stream, _event_steps(run, stream, start, min(start + run.options.event_slice, until),
                                            None, until))


# -- campaign values report --------------------------------------------------------------------

def _conversion_metric_id(run: _Run) -> str | None:
    if run.account.conversion_metric_id:
        return run.account.conversion_metric_id
    row = run.conn.execute(
        f"""select id from {store.SCHEMA}.metrics
            where account_id = %s and document -> 'attributes' ->> 'name' = %s
            order by document -> 'attributes' ->> 'created', id limit 1""",
        (run.account_id, CONVERSION_METRIC_NAME),
    ).fetchone()
    if row:
        return row[0]
    candidates = []
    for page in run.client.paginate(METRICS.path, METRICS.params(), scope=METRICS.scope):
        candidates += [m for m in page.data if (m.get("attributes") or {}).get("name") == CONVERSION_METRIC_NAME]
    candidates.sort(key=lambda m: (str((m.get("attributes") or {}).get("created") or ""), m["id"]))
    return candidates[0]["id"] if candidates else None


def report_window(now: datetime, days: int) -> tuple[datetime, datetime]:
    """[start, end): whole days, ending at the midnight after ``now`` (UTC)."""
    end = now.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return end - timedelta(days=days), end


def report_row_id(groupings: dict[str, Any], start: datetime, end: datetime) -> str:
    """Deterministic id: campaign, message (and channel) + the statistic window."""
    parts = [str(groupings.get(k) or "") for k in REPORT_GROUP_BY]
    return ":".join(parts) + f":{start:%Y-%m-%d}..{end:%Y-%m-%d}"


def _sync_report(run: _Run, stream: Stream) -> None:
    start, end = report_window(run.now, run.options.report_days)
    result = run.begin(stream, start)
    metric_id = _conversion_metric_id(run)
    if not metric_id:
        result.status = "skipped"
        result.message = (f"account {run.account_id!r} has no {CONVERSION_METRIC_NAME!r} metric; "
                          f"set conversion_metric_id to report conversions")
        return
    request = {
        "statistics": list(REPORT_STATISTICS),
        "timeframe": {"start": isoformat_z(start), "end": isoformat_z(end)},
        "conversion_metric_id": metric_id,
        "group_by": list(REPORT_GROUP_BY),
    }
    body = {"data": {"type": "campaign-values-report", "attributes": request}}
    url: str | None = run.client.build_url(stream.path)
    seen: set[str] = set()
    while url:
        if url in seen:
            raise KlaviyoPagingError(
                f"Klaviyo returned the same next-page link twice for POST /api/{stream.path} "
                f"(account {run.account_id!r}); stopped instead of looping.")
        seen.add(url)
        doc = run.client.request("POST", url, json_body=body, scope=stream.scope)
        data = doc.get("data") or {}
        results = (data.get("attributes") or {}).get("results") or []
        rows = []
        for item in results:
            groupings = item.get("groupings") or {}
            row_id = report_row_id(groupings, start, end)
            document = {
                "type": data.get("type", "campaign-values-report"),
                "id": row_id,
                "attributes": {"groupings": groupings, "statistics": item.get("statistics") or {}},
                "request": request,
                "links": doc.get("links") or {},
            }
            rows.append(store.Row(row_id, None, document))
        url = (doc.get("links") or {}).get("next") or None
        run.write(stream, rows, end, None)


# -- entry points ------------------------------------------------------------------------------

_RUNNERS = {"collection": _sync_collection, "events": _sync_events, "report": _sync_report}


def _lock(conn: psycopg.Connection, account_id: str) -> None:
    got = conn.execute("select pg_try_advisory_lock(hashtextextended(%s, 0))",
                       (f"klaviyo sync {account_id}",)).fetchone()[0]
    if not got:
        raise SyncLockedError(
            f"Another Klaviyo sync of account {account_id!r} is running on this database; wait for it to finish.")


def sync_account(
    dsn: str,
    account: AccountConfig,
    streams: Sequence[str] | None = None,
    *,
    options: SyncOptions | None = None,
    now: datetime | None = None,
    on_page: PageHook | None = None,
    client: KlaviyoClient | None = None,
    raise_on_error: bool = True,
) -> SyncResult:
    """Sync one account's streams (all by default) into ``klaviyo_raw``.

    Streams run in order; a stream that fails with a :class:`KlaviyoError` is recorded as
    ``failed`` and the others still run (a 401 stops the account: the key is wrong for all).
    With ``raise_on_error`` the first error is raised at the end (``err.result`` holds the
    :class:`SyncResult`). Any other exception (a bug, the database, ``on_page`` raising)
    marks the stream failed and propagates at once; the committed pages stay committed.
    """
    options = options or SyncOptions()
    selected = select_streams(streams)
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    sync_id = new_sync_id(now)
    result = SyncResult(account.account_id, sync_id)
    own_client = client is None
    client = client or KlaviyoClient.for_account(account, options)
    try:
        conn = project_errors.connect(dsn, autocommit=True)
    except BaseException:
        if own_client:
            client.close()
        raise
    try:
        store.ensure_schema(conn)
        _lock(conn, account.account_id)
        run = _Run(conn, client, account, sync_id, options, now, on_page, dsn)
        abort: KlaviyoError | None = None
        for stream in selected:
            if abort is not None:
                result.streams.append(StreamResult(stream.name, "skipped", message=str(abort)))
                continue
            try:
                _RUNNERS[stream.kind](run, stream)
                res = run.result
                assert res is not None
                if res.status == "running":
                    res.status = "succeeded"
            except KlaviyoError as exc:
                res = run.result if run.result and run.result.stream == stream.name else StreamResult(stream.name)
                res.status, res.message = "failed", str(exc)
                result.errors.append(exc)
                if isinstance(exc, KlaviyoAuthError) and exc.status == 401:
                    abort = exc
            except BaseException as exc:
                res = run.result if run.result and run.result.stream == stream.name else StreamResult(stream.name)
                res.status, res.message = "failed", f"{type(exc).__name__}: {exc}"[:500]
                _finish(run, res)
                raise
            res.requests, res.retries = run.counters()
            _finish(run, res)
            result.streams.append(res)
            log.info("klaviyo %s", res.line(account.account_id))
    finally:
        result.stats = client.stats.as_dict()
        conn.close()
        if own_client:
            client.close()
    if result.errors and raise_on_error:
        first = result.errors[0]
        first.result = result  # type: ignore[attr-defined]
        raise first
    return result


def _finish(run: _Run, res: StreamResult) -> None:
    try:
        store.finish_stream(run.conn, run.sync_id, run.account_id, res.stream, res.status,
                            requests=res.requests or run.counters()[0], retries=res.retries or run.counters()[1],
                            cursor_to=res.cursor, message=res.message)
    except psycopg.Error:  # the log row is best effort when the database itself is failing
        log.exception("klaviyo %s: could not record the end of stream %s", run.account_id, res.stream)


def sync_accounts(
    dsn: str,
    accounts: Sequence[AccountConfig] | None = None,
    streams: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[SyncResult]:
    """Sync every configured account (``KLAVIYO_ACCOUNTS`` / ``KLAVIYO_API_KEY`` by default),
    one after the other; the first error is raised after all accounts ran."""
    accounts = list(accounts) if accounts is not None else load_accounts()
    raise_on_error = kwargs.pop("raise_on_error", True)
    results: list[SyncResult] = []
    for account in accounts:
        results.append(sync_account(dsn, account, streams, raise_on_error=False, **kwargs))
    failures = [r for r in results if r.errors]
    if failures and raise_on_error:
        first = failures[0].errors[0]
        first.results = results  # type: ignore[attr-defined]
        raise first
    return results
