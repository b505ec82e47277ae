"""Exact silhouette scores for several labelings of one sample, sharing the distance work.

:func:`sklearn.metrics.silhouette_score` recomputes all pairwise distances for every
labeling (≈ 2 s for 10,000 rows here). Choosing k means scoring k = 2..8 on the same
sample, so :func:`silhouette_scores` computes each block of distances once and reduces
it against the one-hot matrices of all labelings at once (a matrix product): the same
numbers as sklearn (mean over samples of (b − a) / max(a, b), 0 for singletons).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def silhouette_scores(x: np.ndarray, labelings: Mapping[object, np.ndarray],
                      chunk_rows: int = 256) -> dict[object, float]:
    """Mean silhouette (Euclidean) of ``x`` for each labeling in ``labelings``.

    ``labelings`` maps a key (e.g. k) to an integer label array of ``len(x)``. A labeling
    with fewer than 2 or more than ``len(x) - 1`` distinct labels gets NaN (undefined).
    Memory: ``chunk_rows × len(x)`` floats at a time.
    """
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    keys, blocks, codes, counts = [], [], [], []
    for key, labels in labelings.items():
        uniq, code = np.unique(np.asarray(labels), return_inverse=True)
        keys.append(key)
        codes.append(code)
        counts.append(np.bincount(code, minlength=len(uniq)).astype(np.float64))
        onehot = np.zeros((n, len(uniq)))
        onehot[np.arange(n), code] = 1.0
        blocks.append(onehot)
    if not keys:
        return {}
    onehots = np.hstack(blocks)
    offsets = np.concatenate([[0], np.cumsum([b.shape[1] for b in blocks])])
    sums = np.empty((n, onehots.shape[1]))
    sq = np.einsum("ij,ij->i", x, x)
    for s in range(0, n, chunk_rows):
        e = min(s + chunk_rows, n)
        d = x[s:e] @ x.T  # in place from here on: the block is the big allocation
        d *= -2.0
        d += sq[s:e, None]
        d += sq[None, :]
        np.maximum(d, 0.0, out=d)
        np.sqrt(d, out=d)
        d[np.arange(e - s), np.arange(s, e)] = 0.0
        sums[s:e] = d @ onehots

    out: dict[object, float] = {}
    rows = np.arange(n)
    for j, key in enumerate(keys):
        k = len(counts[j])
        if k < 2 or k > n - 1:
            out[key] = float("nan")
            continue
        block = sums[:, offsets[j]:offsets[j + 1]]
        own = codes[j]
        own_n = counts[j][own]
        a = block[rows, own] / np.maximum(own_n - 1.0, 1.0)
        mean_other = block / counts[j][None, :]
        mean_other[rows, own] = np.inf
        b = mean_other.min(axis=1)
        denom = np.maximum(a, b)
        s_i = np.where(denom > 0, (b - a) / np.where(denom > 0, denom, 1.0), 0.0)
        s_i[own_n <= 1] = 0.0
        out[key] = float(s_i.mean())
    return out
