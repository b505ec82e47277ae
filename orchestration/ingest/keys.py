"""Natural-key fingerprints and the duplicate tracker (first occurrence wins).

A key is fingerprinted as two independent 64-bit polynomial hashes of its typed parts
(text bytes, dates as yyyymmddHHMMSS integers, integers as values), computed the same way
vectorized (numpy, fast path) and one row at a time (exact path).  The tracker keeps only
the fingerprints and first line numbers (24 bytes per distinct key) in sorted numpy arrays;
:mod:`orchestration.ingest.keyspill` uses one per hash partition of a file's keys, so the
keys of a big file never have to fit in memory at once.
A false duplicate needs both 64-bit hashes to collide (~1e-26 for a million keys).
"""

from __future__ import annotations

import numpy as np

MASK = (1 << 64) - 1
BASES = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F)
MIXERS = (0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53)
_MAX_W = 256
_POWS = []
for _b in BASES:
    _p = [1]
    for _ in range(_MAX_W):
        _p.append((_p[-1] * _b) & MASK)
    _POWS.append(_p)
POW_ARRAYS = tuple(np.array(p, dtype=np.uint64) for p in _POWS)
MAX_VECTOR_WIDTH = _MAX_W


def scalar_text_hash(data: bytes, which: int) -> int:
    """Hash of one text value's bytes (same result as :func:`vector_text_hashes`)."""
    h = 0
    p = 1
    for b in data:
        h = (h + (b + 1) * p) & MASK
        p = (p * BASES[which]) & MASK
    return (h * BASES[which] + len(data)) & MASK


def scalar_int_hash(value: int, which: int) -> int:
    """Hash of an integer (dates are passed as yyyymmddHHMMSS)."""
    return ((value & MASK) * BASES[which] + 0x5BD1E995) & MASK


def scalar_combine(parts: list[int], which: int) -> int:
    """Fold the per-column hashes of one key into one 64-bit fingerprint."""
    k = 0
    for h in parts:
        k = ((k * MIXERS[which]) & MASK) ^ h
    return k


def vector_text_hashes(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both hashes of many text fields ``buf[s:s+L]`` from one gather; fields over 256 bytes: caller."""
    n = len(starts)
    width = int(lengths.max()) if n else 0
    ulen = lengths.astype(np.uint64)
    if width == 0:
        return ulen.copy(), ulen.copy()
    cols = np.arange(width)
    idx = starts[:, None] + cols[None, :]
    np.minimum(idx, len(buf) - 1, out=idx)
    m = buf[idx].astype(np.uint64) + np.uint64(1)
    m *= cols[None, :] < lengths[:, None]
    out = []
    for which in (0, 1):
        h = (m * POW_ARRAYS[which][None, :width]).sum(axis=1, dtype=np.uint64)
        out.append(h * np.uint64(BASES[which]) + ulen)
    return out[0], out[1]


def vector_int_hash(values: np.ndarray, which: int) -> np.ndarray:
    """Vectorized :func:`scalar_int_hash` for int64 values."""
    return values.astype(np.int64).view(np.uint64) * np.uint64(BASES[which]) + np.uint64(0x5BD1E995)


def vector_combine(parts: list[np.ndarray], which: int) -> np.ndarray:
    """Vectorized :func:`scalar_combine`."""
    k = np.zeros(len(parts[0]), dtype=np.uint64)
    mix = np.uint64(MIXERS[which])
    for h in parts:
        k = (k * mix) ^ h
    return k


class DuplicateTracker:
    """Remembers the natural keys seen so far (of a file or one partition of it); reports later occurrences."""

    def __init__(self) -> None:
        self._k1 = np.empty(0, dtype=np.uint64)
        self._k2 = np.empty(0, dtype=np.uint64)
        self._ln = np.empty(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._k1)

    def check(self, lines: np.ndarray, k1: np.ndarray, k2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For rows given in ascending line order: (is_duplicate mask, line of the first occurrence)."""
        n = len(lines)
        dup = np.zeros(n, dtype=bool)
        first = np.zeros(n, dtype=np.int64)
        if n == 0:
            return dup, first
        # one stable sort by fingerprint: equal keys stay in line order
        order = np.argsort(k1, kind="stable")
        s1, s2, sl = k1[order], k2[order], lines[order]
        sdup = np.zeros(n, dtype=bool)
        sfirst = np.zeros(n, dtype=np.int64)
        if len(self._k1):  # seen in earlier chunks
            pos = np.minimum(np.searchsorted(self._k1, s1), len(self._k1) - 1)
            hit = (self._k1[pos] == s1) & (self._k2[pos] == s2)
            sdup |= hit
            sfirst[hit] = self._ln[pos[hit]]
        same = np.zeros(n, dtype=bool)  # seen earlier in this chunk
        same[1:] = (s1[1:] == s1[:-1]) & (s2[1:] == s2[:-1])
        if same.any():
            run_start = np.maximum.accumulate(np.where(~same, np.arange(n), 0))
            new_dup = same & ~sdup
            sfirst[new_dup] = sl[run_start[new_dup]]
            sdup |= same
        dup[order] = sdup
        first[order] = sfirst
        keep = ~sdup
        if keep.any():
            nk1, nk2, nln = s1[keep], s2[keep], sl[keep]
            at = np.searchsorted(self._k1, nk1)
            self._k1 = np.insert(self._k1, at, nk1)
            self._k2 = np.insert(self._k2, at, nk2)
            self._ln = np.insert(self._ln, at, nln)
        return dup, first
