"""Parallel time slices of ``events`` and ``profiles`` under the client's one rate limiter.

A run is planned as slices of the stream's cursor range (events: ``datetime``; profiles:
``updated``, the only filterable time field of GET /api/profiles — ``greater-than`` and
``less-than``), all recorded in ``_slice_state`` before the first request
(:mod:`slice_state`). ``SyncOptions.concurrency`` worker threads, each with its own database
connection, take slices in time order and page through them; each page's rows are
committed with its slice's next link. The client (one per account, thread-safe) holds the
shared :class:`~orchestration.klaviyo.ratelimit.RateLimiter`, so however many workers run,
each endpoint stays within Klaviyo's burst and steady limits and a 429 pauses them all.

* events: slices ``[a, b)`` — ``and(greater-or-equal(datetime,a),less-than(datetime,b))`` —
  are disjoint, so every event is read once; the run ends at its start time, the cursor.
* profiles: slices ``greater-than(updated, a − 1 s)`` and ``less-than(updated, b)``, the last
  one open-ended (like the serial sync, it sees profiles changed while it runs); the 1 s
  overlap re-reads boundary rows, which are upserted. The cursor becomes the highest
  ``updated`` landed.

A resumed run finishes the slices of the killed one (each at its saved link; a link
Klaviyo refuses with HTTP 400 restarts that slice), then moves the cursor. A saved link of
the serial sync is taken over as the first slice.
"""

from __future__ import annotations

import logging
import queue
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import psycopg

from orchestration import errors as project_errors
from orchestration.klaviyo import slice_state, store
from orchestration.klaviyo.errors import KlaviyoRequestError
from orchestration.klaviyo.slice_state import Slice
from orchestration.klaviyo.streams import Stream

if TYPE_CHECKING:  # pragma: no cover
    from orchestration.klaviyo.sync import _Run

log = logging.getLogger(__name__)

#: Streams that can be split into time slices.
SLICED = ("events", "profiles")
#: Slices planned per worker (smaller slices balance uneven data across workers).
SLICES_PER_WORKER = 4
#: Narrowest slice planned.
MIN_SLICE = timedelta(hours=1)
#: A page commit that hits a deadlock (two slices upserting the same boundary rows) is retried.
DEADLOCK_RETRIES = 5


def wanted(run: _Run, stream: Stream) -> bool:
    """Whether ``stream`` runs sliced: concurrency above 1, or a sliced run to finish."""
    if stream.name not in SLICED:
        return False
    return run.options.concurrency > 1 or bool(slice_state.pending(run.conn, run.account_id, stream.name))


def split(since: datetime, until: datetime, width: timedelta, parts: int) -> list[tuple[datetime, datetime]]:
    """``[since, until)`` cut into consecutive ranges of at most ``width`` and at least
    :data:`MIN_SLICE`, about ``parts`` of them when ``width`` allows."""
    span = until - since
    if span <= timedelta(0):
        return [(since, until)]
    step = min(width, max(MIN_SLICE, span / max(1, parts)))
    out, a = [], since
    while a < until:
        b = min(a + step, until)
        out.append((a, b))
        a = b
    return out


def _plan_events(run: _Run, stream: Stream) -> tuple[list[Slice], datetime | None, datetime | None]:
    """(slices, cursor while running, cursor at the end) of a new events run."""
    from orchestration.klaviyo.sync import _first_event_time, _slice_end_of, _usable_link

    state = store.get_state(run.conn, run.account_id, stream.name)
    until = run.now
    parts = run.options.concurrency * SLICES_PER_WORKER
    if (state and state.next_page_url and state.cursor_value is not None
            and _usable_link(run, stream, state.next_page_url)):
        end = _slice_end_of(state.next_page_url)
        if end is not None:  # a serial run was interrupted: its slice first, then the rest
            rest = split(end, max(until, end), run.options.event_slice, parts) if until > end else []
            return ([Slice(state.cursor_value, end, state.next_page_url)] + [Slice(a, b) for a, b in rest],
                    state.cursor_value, max(until, end))
    cursor = state.cursor_value if state else None
    since = cursor - run.options.events_lookback if cursor is not None else run.account.start
    first = _first_event_time(run, stream, since, until)
    if first is None:
        return [], cursor, max(cursor, until) if cursor is not None else until
    day = first.replace(hour=0, minute=0, second=0, microsecond=0)
    start = max(since, day) if since is not None else day
    return [Slice(a, b) for a, b in split(start, until, run.options.event_slice, parts)], start, until


def _first_profile_update(run: _Run, stream: Stream) -> datetime | None:
    from orchestration.klaviyo.sync import _parse_time

    params = {"sort": stream.sort, "page[size]": 1, "fields[profile]": stream.cursor_field}
    data = run.client.get(stream.path, params, scope=stream.scope).get("data") or []
    if not data:
        return None
    return _parse_time(str((data[0].get("attributes") or {}).get(stream.cursor_field) or ""))


def _plan_profiles(run: _Run, stream: Stream) -> tuple[list[Slice], datetime | None, datetime | None]:
    from orchestration.klaviyo.sync import _usable_link

    state = store.get_state(run.conn, run.account_id, stream.name)
    watermark = state.cursor_value if state else None
    if state and state.next_page_url and _usable_link(run, stream, state.next_page_url):
        # a serial run was interrupted: its open-ended read continues as the only slice
        since = watermark or datetime.fromtimestamp(0, run.now.tzinfo)
        return [Slice(since, None, state.next_page_url)], watermark, watermark
    since = watermark if watermark is not None else _first_profile_update(run, stream)
    if since is None:
        return [], watermark, watermark
    parts = run.options.concurrency * SLICES_PER_WORKER
    ranges = split(since, max(run.now, since + MIN_SLICE), timedelta(days=36500), parts)
    slices = [Slice(a, b) for a, b in ranges[:-1]] + [Slice(ranges[-1][0], None)]  # the last is open-ended
    return slices, watermark, watermark


def sync_sliced(run: _Run, stream: Stream) -> None:
    """Sync ``stream`` in parallel slices (resuming the slices of a killed run first)."""
    saved = slice_state.pending(run.conn, run.account_id, stream.name)
    if saved:
        state = store.get_state(run.conn, run.account_id, stream.name)
        log.info("klaviyo %s %s: resuming %d unfinished slice(s)", run.account_id, stream.name,
                 sum(not s.done for s in saved))
        run.begin(stream, state.cursor_value if state else None)
        bounded = [s.until for s in saved if s.until is not None]
        final = (max(bounded) if stream.name == "events" and bounded
                 else (state.cursor_value if state else None))
        todo = [s for s in saved if not s.done]
    else:
        planner = _plan_events if stream.name == "events" else _plan_profiles
        run.begin(stream, None)
        todo, running, final = planner(run, stream)
        slice_state.plan(run.conn, run.account_id, stream.name, todo, running)
    _run_workers(run, stream, todo)
    cursor = slice_state.finish(run.conn, run.account_id, stream.name, final,
                                advance_to_max=stream.name != "events")
    run.result.cursor = cursor


class _Shared:
    """What the workers share: the slice queue, the first error, the result counters."""

    def __init__(self, slices: list[Slice]) -> None:
        self.queue: queue.Queue[Slice] = queue.Queue()
        for s in slices:
            self.queue.put(s)
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.lock = threading.Lock()

    def fail(self, exc: BaseException) -> None:
        with self.lock:
            if self.error is None:
                self.error = exc
        self.stop.set()


def _run_workers(run: _Run, stream: Stream, slices: list[Slice]) -> None:
    if not slices:
        return
    shared = _Shared(slices)
    workers = [threading.Thread(target=_worker, args=(run, stream, shared), name=f"klaviyo-{stream.name}-{i}",
                                daemon=True)
               for i in range(min(run.options.concurrency, len(slices)))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if shared.error is not None:
        raise shared.error


def _worker(run: _Run, stream: Stream, shared: _Shared) -> None:
    try:
        conn = project_errors.connect(run.dsn, autocommit=True)
    except BaseException as exc:
        shared.fail(exc)
        return
    try:
        while not shared.stop.is_set():
            try:
                sl = shared.queue.get_nowait()
            except queue.Empty:
                return
            _sync_slice(run, stream, sl, conn, shared)
    except BaseException as exc:  # handed to the main thread, raised there
        shared.fail(exc)
    finally:
        conn.close()


def _sync_slice(run: _Run, stream: Stream, sl: Slice, conn: psycopg.Connection, shared: _Shared) -> None:
    params = stream.params(None, since=sl.since, until=sl.until)
    url = sl.next_page_url if sl.next_page_url and run.client.serves(sl.next_page_url) else None
    pages = 0
    try:
        for page in run.client.paginate(stream.path, params, start_url=url, scope=stream.scope):
            pages += 1
            _commit(run, stream, sl, conn, page.data, page.included, page.next_url)
            if shared.stop.is_set():
                return
    except KlaviyoRequestError as exc:
        if url is None or pages or exc.status != 400:
            raise
        log.warning("klaviyo %s %s: the saved page link was refused (%s); restarting the slice",
                    run.account_id, stream.name, exc.detail)
        slice_state.restart_slice(conn, run.account_id, stream.name, sl.since)
        _sync_slice(run, stream, Slice(sl.since, sl.until), conn, shared)


def _commit(run: _Run, stream: Stream, sl: Slice, conn: psycopg.Connection, data: list, included: list,
            next_url: str | None) -> None:
    from orchestration.klaviyo.sync import page_rows

    rows = page_rows(stream, data, included)
    requests, retries = run.counters()
    for attempt in range(DEADLOCK_RETRIES):
        try:
            written = slice_state.write_slice_page(
                conn, table=stream.name, account_id=run.account_id, sync_id=run.sync_id, rows=rows,
                append_only=stream.append_only, slice_from=sl.since, next_page_url=next_url,
                requests=requests, retries=retries)
            break
        except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
            if attempt == DEADLOCK_RETRIES - 1:
                raise
    run.count_page(stream, len(rows), written)
