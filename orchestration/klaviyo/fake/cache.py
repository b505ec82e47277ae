"""Speed for the local server at production volume: pre-serialised events, and profiles
paged by ``updated`` through a sorted index instead of a filter-and-sort of every profile.

Both give exactly the answers of the slow paths (same documents, same order, same cursors);
they only keep the fake from being the bottleneck of a benchmark of the client.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable
from typing import Any

import orjson

from orchestration.klaviyo.fake import filters as flt
from orchestration.klaviyo.fake.data import FakeAccount, Profile


class FragmentCache:
    """Rendered resources as pre-serialised JSON (``orjson.Fragment``), by a caller's key.

    Events never change once generated, so an event rendered for one base URL, include set
    and sparse fieldset is rendered once.
    """

    def __init__(self, max_items: int = 300_000) -> None:
        self._items: dict[tuple[Any, ...], orjson.Fragment] = {}
        self._max = max_items
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], render: Callable[[], dict[str, Any]]) -> orjson.Fragment:
        """The cached fragment of ``key``, rendering it on first use."""
        item = self._items.get(key)
        if item is None:
            item = orjson.Fragment(orjson.dumps(render()))
            with self._lock:
                if len(self._items) >= self._max:
                    self._items.clear()
                self._items[key] = item
        return item


class ProfileIndex:
    """Profiles sorted by ``(updated, id)``; rebuilt when the profiles change."""

    def __init__(self) -> None:
        self._signature: tuple[Any, ...] | None = None
        self._keys: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def keys(self, acct: FakeAccount) -> list[tuple[float, str]]:
        signature = (id(acct), len(acct.profiles), sum(p.updated for p in acct.profiles.values()))
        with self._lock:
            if signature != self._signature:
                self._keys = sorted((p.updated, p.id) for p in acct.profiles.values())
                self._signature = signature
            return self._keys

    def page(self, acct: FakeAccount, node: Any, cursor: tuple[Any, ...] | None, page_size: int,
             value: Callable[[Profile, str], Any]) -> tuple[list[Profile], tuple[Any, ...] | None]:
        """One ascending ``sort=updated`` page: the profiles and the next cursor (None: last page)."""
        keys = self.keys(acct)
        lo, hi = flt.time_bounds(node, {"updated"}) if node is not None else (None, None)
        start = bisect.bisect_left(keys, (lo, "")) if lo is not None else 0
        if cursor is not None:  # the slow path's sort key: (True, updated, id)
            start = max(start, bisect.bisect_right(keys, (float(cursor[1]), str(cursor[2]))))
        out: list[Profile] = []
        more = False
        for i in range(start, len(keys)):
            updated, pid = keys[i]
            if hi is not None and updated > hi:
                break
            p = acct.profiles[pid]
            if node is not None and not flt.evaluate(node, lambda f, it=p: value(it, f)):
                continue
            if len(out) == page_size:
                more = True
                break
            out.append(p)
        return out, ((True, out[-1].updated, out[-1].id) if more and out else None)
