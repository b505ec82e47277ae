"""Customer segmentation: k-means (k chosen by silhouette) or DBSCAN over RFM + behaviour.

Input: one row per customer with ``customer_id, recency_days, frequency, monetary`` and
optionally ``sessions, pages_per_session, avg_session_duration, age`` (see
:mod:`ml.features`). Output (:class:`SegmentationResult`): ``assignments`` (customer_id,
segment_id, segment_label, distance_to_centre, model_version), ``profiles`` (one row per
segment), ``metrics`` and ``model_version``.

Choosing k (``k=None``): for every k in ``k_range`` a k-means is fitted on a fixed-seed
*selection sample* (all rows up to ``selection_sample`` rows, default 20,000) and scored
by the exact silhouette on a fixed-seed subsample (≤ ``silhouette_sample`` rows, default
10,000) of it, measured in ``silhouette_space``: ``"standardized"`` (default: each
clustering feature rescaled to unit variance, so no feature's spread dominates the
distance) or ``"scaled"`` (the clustering space itself). The k with the highest
silhouette wins. The final model is then fitted on all rows: :class:`~sklearn.cluster.KMeans`
up to ``minibatch_threshold`` rows (the selection fit itself when it saw every row),
:class:`~sklearn.cluster.MiniBatchKMeans` above it, started from the selection centres.

Segment ids are 1..k ordered by a value score (higher monetary and frequency, lower
recency first), so they do not depend on k-means' arbitrary label order; labels come
from :func:`label_segments`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd
from sklearn.cluster import DBSCAN, KMeans, MiniBatchKMeans
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from ml.features import DEFAULT_FEATURES, FeatureTransformer
from ml.registry import data_fingerprint, model_version
from ml.silhouette import silhouette_scores

NOISE_SEGMENT_ID = -1
NOISE_LABEL = "Unclustered"
ASSIGNMENT_COLUMNS = ["customer_id", "segment_id", "segment_label", "distance_to_centre",
                      "model_version"]


@dataclass(frozen=True)
class SegmentationConfig:
    """Every parameter of a segmentation run (part of the model version).

    ``k``: fixed number of clusters (skips the silhouette selection); ``k_range``:
    inclusive (min, max) searched when ``k`` is None. ``method``: ``"kmeans"`` or
    ``"dbscan"`` (then ``dbscan_eps`` / ``dbscan_min_samples`` in the scaled space; DBSCAN
    is fitted on at most ``dbscan_sample`` rows and the rest join the cluster of their
    nearest core point within eps, else noise = segment -1). ``n_threads``: BLAS/OpenMP
    threads during fit and predict (None: the libraries' default). Default 1: the fits
    here are small (k selection on ≤ 20,000 rows), and on a busy 2-core machine OpenMP
    threads spin-waiting for a core made k-means 3-20× *slower* than one thread. Not part
    of the model version (it does not change the result).
    """

    features: tuple[str, ...] = DEFAULT_FEATURES
    k: int | None = None
    k_range: tuple[int, int] = (2, 8)
    method: str = "kmeans"
    silhouette_space: str = "standardized"
    silhouette_sample: int = 10_000
    selection_sample: int = 20_000
    minibatch_threshold: int = 50_000
    minibatch_batch_size: int = 4_096
    n_init: int = 3
    random_state: int = 42
    dbscan_eps: float = 0.5
    dbscan_min_samples: int = 20
    dbscan_sample: int = 20_000
    n_threads: int | None = 1

    def __post_init__(self) -> None:
        if self.method not in ("kmeans", "dbscan"):
            raise ValueError("method must be 'kmeans' or 'dbscan'")
        if self.silhouette_space not in ("standardized", "scaled"):
            raise ValueError("silhouette_space must be 'standardized' or 'scaled'")
        lo, hi = self.k_range
        if not 2 <= lo <= hi:
            raise ValueError("k_range must satisfy 2 <= min <= max")
        if self.k is not None and self.k < 1:
            raise ValueError("k must be >= 1")
        if not self.features:
            raise ValueError("at least one feature is needed")

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly parameters (``n_threads`` left out: it does not change results)."""
        d = asdict(self)
        d.pop("n_threads")
        d["features"] = list(self.features)
        d["k_range"] = list(self.k_range)
        return d


@dataclass
class SegmentationResult:
    """What :func:`segment_customers` returns."""

    assignments: pd.DataFrame
    profiles: pd.DataFrame
    metrics: dict[str, object]
    model_version: str
    params: dict[str, object] = field(default_factory=dict)


def _sample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted row indices of a uniform sample without replacement (all rows if n ≤ size)."""
    if n <= size:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))


def value_order(profile: pd.DataFrame) -> np.ndarray:
    """Cluster order by value: mean rank of monetary (desc), frequency (desc), recency (asc).

    ``profile`` has one row per cluster with ``monetary``, ``frequency``, ``recency_days``
    (medians, original units); ties break on monetary then row order. Returns row positions.
    """
    score = (profile["monetary"].rank(ascending=False) + profile["frequency"].rank(ascending=False)
             + profile["recency_days"].rank(ascending=True)) / 3.0
    key = pd.DataFrame({"score": score.to_numpy(), "m": -profile["monetary"].to_numpy(),
                        "pos": np.arange(len(profile))})
    return key.sort_values(["score", "m", "pos"]).index.to_numpy()


ACTIVE_NAMES = ("Champions", "Loyal regulars", "Occasional buyers", "Low-value repeaters")


def label_segments(profile: pd.DataFrame, population: pd.DataFrame) -> list[str]:
    """Human-readable label per row of ``profile`` from relative feature levels.

    ``profile``: per-segment medians of ``recency_days``, ``frequency``, ``monetary``, rows
    already in value order (best first). ``population``: the customer table (for the
    overall recency median). Rules, in order:

    * median frequency ≤ 1 → ``"One-time buyers"``;
    * median recency ≥ 2 × the population's median recency → ``"Lapsed"``;
    * the other (active repeat-buyer) segments in value order → ``"Champions"``,
      ``"Loyal regulars"``, ``"Occasional buyers"``, ``"Low-value repeaters"``.

    A name used twice gets `` 2``, `` 3``… appended in value order, so labels are unique.
    """
    recency_median = (float(population["recency_days"].median()) if "recency_days" in population
                      else np.inf)
    labels: list[str] = []
    active = 0
    for _, row in profile.iterrows():
        if row["frequency"] <= 1:
            labels.append("One-time buyers")
        elif row["recency_days"] >= 2.0 * recency_median:
            labels.append("Lapsed")
        else:
            labels.append(ACTIVE_NAMES[min(active, len(ACTIVE_NAMES) - 1)])
            active += 1
    seen: dict[str, int] = {}
    unique = []
    for name in labels:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} {seen[name]}")
    return unique


class CustomerSegmenter:
    """Fit / predict customer segments; see the module docstring for the algorithm.

    After :meth:`fit`: ``transformer_``, ``model_`` (the k-means / DBSCAN estimator),
    ``k_``, ``centres_`` (cluster centres in the scaled space, in segment-id order),
    ``segment_ids_`` (cluster index → segment id), ``labels_`` (segment id → label),
    ``profiles_``, ``metrics_``, ``model_version_``, ``assignments_`` (training rows).
    """

    def __init__(self, config: SegmentationConfig | None = None, **overrides: object) -> None:
        for name in ("features", "k_range"):
            if name in overrides:
                overrides[name] = tuple(overrides[name])  # type: ignore[arg-type]
        self.config = replace(config or SegmentationConfig(), **overrides)
        self.transformer_: FeatureTransformer | None = None
        self.model_: object | None = None
        self.k_: int | None = None
        self.centres_: np.ndarray | None = None
        self.segment_ids_: np.ndarray | None = None
        self.labels_: dict[int, str] = {}
        self.profiles_: pd.DataFrame | None = None
        self.metrics_: dict[str, object] = {}
        self.model_version_: str | None = None
        self.assignments_: pd.DataFrame | None = None
        self.core_points_: np.ndarray = np.empty((0, 0))
        self.core_labels_: np.ndarray = np.empty(0, dtype=np.int64)

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame) -> CustomerSegmenter:
        """Fit transform, (select k and) cluster, then profile and label the segments."""
        cfg = self.config
        if "customer_id" not in frame.columns:
            raise KeyError("frame needs a customer_id column")
        if len(frame) < 3:
            raise ValueError("need at least 3 customers to segment")
        with threadpool_limits(cfg.n_threads):
            self.transformer_ = FeatureTransformer(features=cfg.features)
            x = self.transformer_.fit_transform(frame)
            rng = np.random.default_rng(cfg.random_state)
            if cfg.method == "dbscan":
                raw_labels = self._fit_dbscan(x, rng)
            else:
                raw_labels = self._fit_kmeans(x, rng)
            self._finish(frame, x, raw_labels)
        return self

    def _fit_kmeans(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        cfg, n = self.config, len(x)
        sel = _sample(n, cfg.selection_sample, rng)
        xs = x[sel]
        sil_idx = _sample(len(xs), cfg.silhouette_sample, rng)
        space = xs[sil_idx]
        if cfg.silhouette_space == "standardized":
            sd = space.std(axis=0)
            space = (space - space.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
        lo, hi = cfg.k_range
        candidates = [cfg.k] if cfg.k is not None else list(range(lo, min(hi, len(xs) - 1) + 1))
        fits: dict[int, KMeans] = {}
        for k in candidates:
            fits[k] = KMeans(n_clusters=k, n_init=cfg.n_init, random_state=cfg.random_state).fit(xs)
        sil = silhouette_scores(space, {k: m.labels_[sil_idx] for k, m in fits.items()})
        if cfg.k is not None:
            k = cfg.k
        else:
            finite = {kk: v for kk, v in sil.items() if np.isfinite(v)}
            k = max(finite, key=lambda kk: (finite[kk], -kk)) if finite else candidates[0]
        chosen = fits[k]
        if len(sel) == n:
            model: KMeans | MiniBatchKMeans = chosen
            algorithm = "kmeans"
        elif n <= cfg.minibatch_threshold:
            model = KMeans(n_clusters=k, init=chosen.cluster_centers_, n_init=1,
                           random_state=cfg.random_state).fit(x)
            algorithm = "kmeans"
        else:
            model = MiniBatchKMeans(n_clusters=k, init=chosen.cluster_centers_, n_init=1,
                                    batch_size=cfg.minibatch_batch_size,
                                    random_state=cfg.random_state).fit(x)
            algorithm = "minibatch_kmeans"
        self.model_, self.k_ = model, k
        self.metrics_ = {
            "algorithm": algorithm,
            "k": int(k),
            "silhouette_by_k": {int(kk): round(float(v), 6) for kk, v in sil.items()},
            "silhouette": round(float(sil[k]), 6) if np.isfinite(sil[k]) else None,
            "silhouette_space": cfg.silhouette_space,
            "silhouette_sample_rows": int(len(sil_idx)),
            "selection_sample_rows": int(len(sel)),
            "inertia": float(model.inertia_),
        }
        return model.predict(x) if model is not chosen else chosen.labels_

    def _fit_dbscan(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        cfg = self.config
        idx = _sample(len(x), cfg.dbscan_sample, rng)
        db = DBSCAN(eps=cfg.dbscan_eps, min_samples=cfg.dbscan_min_samples).fit(x[idx])
        self.model_ = db
        self.core_points_ = x[idx][db.core_sample_indices_]
        self.core_labels_ = db.labels_[db.core_sample_indices_]
        labels = self._dbscan_assign(x)
        clustered = labels >= 0
        ks = np.unique(labels[clustered])
        self.k_ = len(ks)
        sil_idx = _sample(len(x), cfg.silhouette_sample, rng)
        inside = sil_idx[clustered[sil_idx]]
        sil = silhouette_scores(x[inside], {"dbscan": labels[inside]}).get("dbscan", float("nan"))
        self.metrics_ = {
            "algorithm": "dbscan", "k": int(self.k_),
            "noise_share": round(float((~clustered).mean()), 6),
            "silhouette": round(float(sil), 6) if np.isfinite(sil) else None,
            "silhouette_space": "scaled", "silhouette_sample_rows": int(len(inside)),
            "dbscan_fit_rows": int(len(idx)),
        }
        return labels

    def _dbscan_assign(self, x: np.ndarray) -> np.ndarray:
        """DBSCAN cluster of the nearest core point within eps, else -1 (noise)."""
        if len(self.core_points_) == 0:
            return np.full(len(x), -1)
        nn = NearestNeighbors(n_neighbors=1).fit(self.core_points_)
        dist, pos = nn.kneighbors(x)
        return np.where(dist[:, 0] <= self.config.dbscan_eps, self.core_labels_[pos[:, 0]], -1)

    def _finish(self, frame: pd.DataFrame, x: np.ndarray, raw: np.ndarray) -> None:
        """Order clusters by value, label them, store centres, profiles and the version."""
        cfg = self.config
        clusters = np.unique(raw[raw >= 0])
        med = pd.DataFrame({
            "cluster": raw,
            "recency_days": frame["recency_days"].to_numpy(dtype=float) if "recency_days" in frame else 0.0,
            "frequency": frame["frequency"].to_numpy(dtype=float) if "frequency" in frame else 0.0,
            "monetary": frame["monetary"].to_numpy(dtype=float) if "monetary" in frame else 0.0,
        })
        med = med[med["cluster"] >= 0].groupby("cluster").median().reindex(clusters).reset_index()
        order = value_order(med)
        ordered = med.iloc[order].reset_index(drop=True)
        seg_of_cluster = np.full(int(clusters.max()) + 1 if len(clusters) else 0, NOISE_SEGMENT_ID)
        seg_of_cluster[ordered["cluster"].to_numpy()] = np.arange(1, len(ordered) + 1)
        self.segment_ids_ = seg_of_cluster
        names = label_segments(ordered, frame)
        self.labels_ = {i + 1: name for i, name in enumerate(names)}
        if isinstance(self.model_, (KMeans, MiniBatchKMeans)):
            self.centres_ = self.model_.cluster_centers_[ordered["cluster"].to_numpy()]
        else:
            self.centres_ = np.vstack([x[raw == c].mean(axis=0) for c in ordered["cluster"]]) \
                if len(ordered) else np.empty((0, x.shape[1]))
        params = {"config": cfg.as_dict(), "transform": self.transformer_.params()}
        fp = data_fingerprint(frame, ["customer_id", *cfg.features])
        self.model_version_ = model_version(params, fp, prefix="seg")
        self.metrics_["n_rows"] = int(len(frame))
        self.metrics_["data_fingerprint"] = fp
        self.assignments_ = self._assignments(frame, x, self._segment_of(raw))
        self.profiles_ = segment_profiles(frame, self.assignments_, cfg.features)

    # -- prediction ------------------------------------------------------------------------
    def _segment_of(self, raw: np.ndarray) -> np.ndarray:
        """Segment id per row from raw cluster labels (-1 = DBSCAN noise stays -1)."""
        seg = np.full(len(raw), NOISE_SEGMENT_ID, dtype=np.int64)
        hit = raw >= 0
        seg[hit] = self.segment_ids_[raw[hit]]
        return seg

    def _assignments(self, frame: pd.DataFrame, x: np.ndarray, seg: np.ndarray) -> pd.DataFrame:
        centres = self.centres_
        dist = np.full(len(x), np.nan)
        clustered = seg > 0
        if clustered.any():
            diff = x[clustered] - centres[seg[clustered] - 1]
            dist[clustered] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        label_of = np.array([NOISE_LABEL] + [self.labels_[i] for i in range(1, len(centres) + 1)],
                            dtype=object)
        return pd.DataFrame({
            "customer_id": frame["customer_id"].to_numpy(),
            "segment_id": seg.astype(np.int64),
            "segment_label": label_of[np.where(seg > 0, seg, 0)],
            "distance_to_centre": dist,
            "model_version": self.model_version_,
        })

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Assignments for ``frame`` (customer_id, segment_id, segment_label,
        distance_to_centre, model_version) with the fitted transform and model."""
        if self.transformer_ is None or self.model_ is None:
            raise RuntimeError("CustomerSegmenter is not fitted")
        with threadpool_limits(self.config.n_threads):
            x = self.transformer_.transform(frame)
            raw = self._dbscan_assign(x) if isinstance(self.model_, DBSCAN) else self.model_.predict(x)
            return self._assignments(frame, x, self._segment_of(raw))

    def fit_predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """:meth:`fit` and return the training rows' assignments."""
        return self.fit(frame).assignments_

    def result(self) -> SegmentationResult:
        """The fitted outputs as a :class:`SegmentationResult`."""
        if self.assignments_ is None:
            raise RuntimeError("CustomerSegmenter is not fitted")
        return SegmentationResult(assignments=self.assignments_, profiles=self.profiles_,
                                  metrics=dict(self.metrics_), model_version=self.model_version_,
                                  params={"config": self.config.as_dict(),
                                          "transform": self.transformer_.params()})


def segment_profiles(frame: pd.DataFrame, assignments: pd.DataFrame,
                     features: Sequence[str]) -> pd.DataFrame:
    """One row per segment: segment_id, segment_label, size, share, ``<feature>_mean`` in
    original units, revenue (Σ monetary) and revenue_share. Sorted by segment_id."""
    data = frame.loc[:, list(dict.fromkeys([*features, *(["monetary"] if "monetary" in frame else [])]))]
    data = data.apply(pd.to_numeric, errors="coerce")
    data["segment_id"] = assignments["segment_id"].to_numpy()
    data["segment_label"] = assignments["segment_label"].to_numpy()
    g = data.groupby(["segment_id", "segment_label"], sort=True)
    out = g.size().rename("size").reset_index()
    out["share"] = out["size"] / len(frame)
    means = g[list(features)].mean().reset_index(drop=True)
    means.columns = [f"{c}_mean" for c in features]
    out = pd.concat([out.reset_index(drop=True), means], axis=1)
    if "monetary" in data:
        revenue = g["monetary"].sum().to_numpy()
        out["revenue"] = revenue
        total = float(data["monetary"].sum())
        out["revenue_share"] = revenue / total if total else np.nan
    return out


def segment_customers(frame: pd.DataFrame, config: SegmentationConfig | None = None,
                      **overrides: object) -> SegmentationResult:
    """Segment the customers of ``frame``: fit a :class:`CustomerSegmenter`, return its result.

    ``overrides`` are :class:`SegmentationConfig` fields (e.g. ``k=5``, ``method="dbscan"``,
    ``features=("recency_days", "frequency", "monetary")``).
    """
    return CustomerSegmenter(config, **overrides).fit(frame).result()
