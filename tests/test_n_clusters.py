"""n_clusters="auto": the number of clusters found in the data, and every output sized by it."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from conftest import fast
from sklearn_latent import _manifold
from sklearn_latent._manifold import count_clusters


def _blobs(sizes, random_state=0):
    X, y = make_blobs(
        n_samples=sizes, n_features=6, centers=None, cluster_std=0.5, random_state=random_state
    )
    return X.astype(np.float32), y


@pytest.mark.parametrize(
    "sizes",
    [
        [200, 200],
        [120] * 5,
        [300, 150, 80, 40],
        [300, 150, 80, 40, 40, 30, 30],
        [40] * 12,
    ],
    ids=["2 equal", "5 equal", "4 unequal", "7 unequal", "12 equal"],
)
def test_the_number_of_separate_blobs_is_found(sizes):
    X, _ = _blobs(sizes)
    rows = np.arange(X.shape[0])
    found, search = count_clusters(X, rows, max_clusters=20, seed=0)
    assert found == len(sizes)
    assert search["n_clusters"][0] == 1 and search["n_clusters"].max() <= 20
    # The split that made the last blob was clean; the next one cut a blob in two.
    ratio = dict(zip(search["n_clusters"], search["link_ratio"], strict=True))
    assert ratio[found] <= 1 / 3 < ratio[found + 1]


def test_a_few_stray_rows_are_no_cluster(monkeypatch):
    """A clump of fewer than MIN_CLUSTER_SHARE of the rows, far from the rest, is no cluster."""
    # 2 % rather than the default 0.5 %, so that a small set holds a clump under the share
    # that is still big enough (18 rows) to be its own 15-neighbour graph.
    monkeypatch.setattr(_manifold, "MIN_CLUSTER_SHARE", 0.02)
    X, _ = _blobs([500, 500])
    clump = 50.0 + 0.5 * np.random.default_rng(0).normal(size=(18, X.shape[1]))
    X = np.vstack([X, clump.astype(np.float32)])
    found, _ = count_clusters(X, np.arange(X.shape[0]), max_clusters=20, seed=0)
    assert found == 2
    monkeypatch.setattr(_manifold, "MIN_CLUSTER_SHARE", 0.0)
    assert count_clusters(X, np.arange(X.shape[0]), max_clusters=20, seed=0)[0] == 3


def test_the_search_stops_at_max_clusters():
    X, _ = _blobs([40] * 12)
    found, search = count_clusters(X, np.arange(X.shape[0]), max_clusters=5, seed=0)
    assert found <= 5 and search["n_clusters"].max() == 5


def test_too_few_rows_to_split_give_one_cluster():
    X, _ = _blobs([4, 4])  # fewer than two pieces of 5 rows
    found, search = count_clusters(X, np.arange(X.shape[0]), max_clusters=50, seed=0)
    assert found == 1 and search["n_clusters"].tolist() == [1]


def test_every_output_is_sized_by_the_number_found(estimator_class):
    X, y = _blobs([60] * 4)
    model = fast(estimator_class, n_clusters="auto", random_state=0).fit(X)
    assert model.n_clusters_ == 4
    assert adjusted_rand_score(y, model.labels_) > 0.9
    assert model.predict_proba(X).shape == (X.shape[0], 4)
    assert set(np.unique(model.predict(X))) <= set(range(4))
    if hasattr(model, "sample"):
        _, clusters = model.sample(40)
        assert set(np.unique(clusters)) <= set(range(4))
    assert len(model.get_feature_names_out()) == model.transform(X[:3]).shape[1]
    assert model.n_clusters == "auto"  # the parameter is left as given


def test_a_given_number_is_recorded_and_leaves_no_search(estimator_class):
    X, _ = _blobs([60] * 4)
    model = fast(estimator_class, n_clusters="auto", max_iter=2, random_state=0).fit(X)
    model.set_params(n_clusters=3).fit(X)
    assert model.n_clusters_ == 3 and not hasattr(model, "n_clusters_search_")


def test_a_warm_start_keeps_the_number_found(estimator_class):
    X, _ = _blobs([60] * 4)
    model = fast(estimator_class, n_clusters="auto", max_iter=2, warm_start=True, random_state=0)
    model.fit(X)
    search = model.n_clusters_search_
    model.set_params(max_iter=1).fit(X[: X.shape[0] // 2])
    assert model.n_clusters_ == 4 and model.n_clusters_search_ is search


def test_the_same_seed_finds_the_same_number_and_labels(estimator_class):
    X, _ = _blobs([120, 60, 40, 30])
    first = fast(estimator_class, n_clusters="auto", max_iter=2, random_state=3).fit(X)
    second = fast(estimator_class, n_clusters="auto", max_iter=2, random_state=3).fit(X)
    assert first.n_clusters_ == second.n_clusters_
    np.testing.assert_array_equal(first.labels_, second.labels_)


def test_partial_labels_need_the_number_of_classes(estimator_class):
    X, y = _blobs([60] * 4)
    model = fast(estimator_class, n_clusters="auto", label_weight=1.0)
    with pytest.raises(ValueError, match="n_clusters='auto' cannot be combined with partial"):
        model.fit(X, y)


@pytest.mark.parametrize("bad", [1, 0, 2.5, "two"])
def test_max_clusters_is_checked(estimator_class, bad):
    X, _ = _blobs([60] * 2)
    with pytest.raises(ValueError, match="max_clusters"):
        fast(estimator_class, n_clusters="auto", max_clusters=bad).fit(X)


def test_the_start_reuses_the_searchs_layout_of_the_same_rows():
    """Up to 5,000 rows the search lays out the start's rows: made once, the same anchors."""
    X, _ = _blobs([80] * 4)
    rows = np.arange(X.shape[0])
    found, _, layout = count_clusters(X, rows, max_clusters=10, seed=3, return_layout=True)
    assert found == 4 and np.array_equal(layout.rows, rows) and layout.seed == 3
    reused = _manifold.manifold_clusters(X, rows, found, 3, layout)
    made_again = _manifold.manifold_clusters(X, rows, found, 3)
    for got, expected in zip(reused, made_again, strict=True):
        np.testing.assert_array_equal(got, expected)
    # Another seed or other rows are not that layout: it is made again.
    other_rows = rows[::2]
    subset = _manifold.manifold_clusters(X, other_rows, found, 3, layout)
    np.testing.assert_array_equal(
        subset[1], _manifold.manifold_clusters(X, other_rows, found, 3)[1]
    )
