"""ml.segmentation on the demo generator's planted customer segments (and unit checks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score, silhouette_score

from ml.baselines import rfm_grid_segments, rfm_scores
from ml.features import RFM_COLUMNS, customer_features_from_frames
from ml.segmentation import CustomerSegmenter, SegmentationConfig, segment_customers
from ml.silhouette import silhouette_scores
from orchestration.demo import DemoConfig, generate


def _demo_features(out: Path, cfg: DemoConfig) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    generate(out, cfg)
    customers = pd.read_csv(out / "customers/customers.csv", dtype={"customer_id": str})
    lines = pd.read_csv(out / "orders/orders.csv.gz", dtype={"order_id": str, "customer_id": str},
                        keep_default_na=False)
    truth = pd.read_csv(out / "_ground_truth/customer_segments.csv")
    return customer_features_from_frames(customers, lines), truth, customers


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Features, ground truth and customers of a clean 20,000-customer demo (730 days)."""
    return _demo_features(tmp_path_factory.mktemp("demo"),
                          DemoConfig(seed=42, customers=20_000, campaigns=20, errors_per_reason=0))


@pytest.fixture(scope="module")
def fitted(demo: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> CustomerSegmenter:
    return CustomerSegmenter().fit(demo[0])


def test_features_match_generator_aggregates(demo) -> None:
    features, truth, customers = demo
    assert list(features["customer_id"]) == list(truth["customer_id"])
    # the generator's own per-customer totals use the same definitions
    assert (features["frequency"].to_numpy() == customers["transactions"].to_numpy()).all()
    np.testing.assert_allclose(features["monetary"], customers["revenue"], atol=0.005)
    assert features["recency_days"].min() >= 1


def test_recovers_planted_segments(demo, fitted: CustomerSegmenter) -> None:
    features, truth, _ = demo
    m = fitted.metrics_
    assert m["k"] == 5, m["silhouette_by_k"]  # chosen by silhouette over 2..8, not fixed
    assert set(m["silhouette_by_k"]) == set(range(2, 9))
    ari = adjusted_rand_score(truth["segment"], fitted.assignments_["segment_id"])
    assert ari >= 0.9, ari


def test_beats_naive_baselines(demo, fitted: CustomerSegmenter) -> None:
    features, truth, _ = demo
    ours = adjusted_rand_score(truth["segment"], fitted.assignments_["segment_id"])
    # k-means on RFM only, even when told the true k
    rfm_only = segment_customers(features, features=RFM_COLUMNS, k=5)
    ari_rfm = adjusted_rand_score(truth["segment"], rfm_only.assignments["segment_id"])
    # the classic RFM quintile grid
    grid = rfm_grid_segments(features)
    ari_grid = adjusted_rand_score(truth["segment"], grid["segment_label"])
    assert ours > ari_rfm + 0.05, (ours, ari_rfm)
    assert ours > ari_grid + 0.2, (ours, ari_grid)


def test_labels_follow_profiles(demo, fitted: CustomerSegmenter) -> None:
    features, truth, _ = demo
    prof = fitted.profiles_
    assert list(prof["segment_id"]) == [1, 2, 3, 4, 5]
    assert prof["segment_label"].is_unique
    assert prof["share"].sum() == pytest.approx(1.0)
    assert prof["revenue_share"].sum() == pytest.approx(1.0)
    assert prof["size"].sum() == len(features)
    by_label = prof.set_index("segment_label")
    # label rules, checked against the profile they were derived from
    assert by_label.loc["Champions", "monetary_mean"] == prof["monetary_mean"].max()
    assert by_label.loc["One-time buyers", "frequency_mean"] < 1.1
    assert by_label.loc["Lapsed", "recency_days_mean"] == prof["recency_days_mean"].max()
    # and the labels land on the planted segment of the same meaning (majority vote)
    joined = fitted.assignments_.assign(truth=truth["segment"].to_numpy())
    majority = joined.groupby("segment_label")["truth"].agg(lambda s: s.mode().iloc[0])
    assert majority["Champions"] == "champions"
    assert majority["One-time buyers"] == "one_time_buyers"
    assert majority["Lapsed"] == "dormant_lapsed"
    assert majority["Loyal regulars"] == "loyal_regulars"


def test_outputs_version_and_determinism(demo, fitted: CustomerSegmenter) -> None:
    features = demo[0]
    a = fitted.assignments_
    assert list(a.columns) == ["customer_id", "segment_id", "segment_label", "distance_to_centre",
                               "model_version"]
    assert (a["model_version"] == fitted.model_version_).all()
    assert fitted.model_version_.startswith("seg-")
    assert (a["distance_to_centre"] >= 0).all()
    sample = features.iloc[:3000]
    r1, r2 = segment_customers(sample), segment_customers(sample)
    assert r1.model_version == r2.model_version
    pd.testing.assert_frame_equal(r1.assignments, r2.assignments)
    pd.testing.assert_frame_equal(r1.profiles, r2.profiles)
    changed = sample.assign(monetary=sample["monetary"] + 1.0)
    assert segment_customers(changed).model_version != r1.model_version
    assert segment_customers(sample, k_range=(2, 6)).model_version != r1.model_version


def test_predict_matches_fit_and_handles_new_rows(demo, fitted: CustomerSegmenter) -> None:
    features = demo[0]
    pred = fitted.predict(features)
    pd.testing.assert_frame_equal(pred, fitted.assignments_)
    one = fitted.predict(features.iloc[[5]])
    assert one["segment_id"].iloc[0] == fitted.assignments_["segment_id"].iloc[5]


def test_minibatch_path_for_large_inputs(demo) -> None:
    features, truth, _ = demo
    seg = CustomerSegmenter(SegmentationConfig(minibatch_threshold=10_000, selection_sample=5_000))
    seg.fit(features)
    assert seg.metrics_["algorithm"] == "minibatch_kmeans"
    assert seg.metrics_["selection_sample_rows"] == 5_000
    assert seg.metrics_["k"] == 5
    assert adjusted_rand_score(truth["segment"], seg.assignments_["segment_id"]) >= 0.9


def test_other_demo_seed_and_size(tmp_path: Path) -> None:
    features, truth, _ = _demo_features(
        tmp_path, DemoConfig(seed=7, customers=4_000, campaigns=5, days=365, errors_per_reason=0))
    res = segment_customers(features)
    assert res.metrics["k"] == 5
    assert adjusted_rand_score(truth["segment"], res.assignments["segment_id"]) >= 0.9


def test_dbscan_path(demo) -> None:
    features = demo[0].iloc[:4000]
    # the defaults (eps 0.5, min_samples 20); at eps 0.6 the demo's new customers, whose short
    # history puts them between the segments, join the clusters into one
    res = segment_customers(features, method="dbscan")
    a = res.assignments
    assert res.metrics["algorithm"] == "dbscan" and res.metrics["k"] >= 2
    noise = a["segment_id"] == -1
    assert (a.loc[noise, "segment_label"] == "Unclustered").all()
    assert a.loc[~noise, "distance_to_centre"].notna().all()
    assert res.metrics["noise_share"] == pytest.approx(noise.mean())
    assert set(res.profiles["segment_id"]) == set(a["segment_id"])
    # an eps so small that nothing is dense: every customer is noise, nothing breaks
    none = segment_customers(features.iloc[:500], method="dbscan", dbscan_eps=1e-6)
    assert (none.assignments["segment_id"] == -1).all() and none.metrics["k"] == 0


def test_fast_silhouette_equals_sklearn() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(700, 4))
    x[:200] += 3.0
    labelings = {k: rng.integers(0, k, len(x)) for k in (2, 3, 5)}
    labelings["blobs"] = (np.arange(len(x)) < 200).astype(int)
    labelings["singleton"] = np.r_[np.zeros(699, int), 1]
    ours = silhouette_scores(x, labelings, chunk_rows=97)
    for key, labels in labelings.items():
        assert ours[key] == pytest.approx(silhouette_score(x, labels), abs=1e-10), key


def test_rfm_scores_are_quintiles() -> None:
    frame = pd.DataFrame({"customer_id": list("abcdefghij"), "recency_days": range(1, 11),
                          "frequency": [1] * 5 + [2, 3, 4, 5, 6], "monetary": range(10, 110, 10)})
    s = rfm_scores(frame)
    assert list(s["r_score"]) == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]  # recent = best
    assert list(s["m_score"]) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert s["f_score"].iloc[:5].nunique() == 1  # ties share a score
    assert s["rfm_score"].iloc[0] == "5" + str(s["f_score"].iloc[0]) + "1"
