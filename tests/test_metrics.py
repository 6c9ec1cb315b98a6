import numpy as np
import pytest

from sklearn_latent.metrics import cluster_accuracy, purity_score, sample_diversity


def test_accuracy_is_invariant_to_renaming_clusters():
    y = np.array([0, 0, 1, 1, 2, 2])
    assert cluster_accuracy(y, np.array([2, 2, 0, 0, 1, 1])) == 1.0


def test_accuracy_uses_one_to_one_matching_but_purity_does_not():
    y = np.array([0, 0, 1, 1])
    one_cluster_per_row = np.array([0, 1, 2, 3])
    assert cluster_accuracy(y, one_cluster_per_row) == 0.5
    assert purity_score(y, one_cluster_per_row) == 1.0


def test_accuracy_with_fewer_clusters_than_classes():
    y = np.array([0, 0, 1, 1, 2, 2])
    assert cluster_accuracy(y, np.zeros(6, dtype=int)) == pytest.approx(2 / 6)
    assert purity_score(y, np.zeros(6, dtype=int)) == pytest.approx(2 / 6)


def test_accuracy_accepts_string_labels():
    assert cluster_accuracy(["a", "a", "b"], [5, 5, 7]) == 1.0


def test_sample_diversity_is_one_for_rows_like_the_data_and_low_for_near_copies():
    rng = np.random.default_rng(0)
    X, labels = rng.normal(size=(400, 6)), np.repeat([0, 1], 200)
    X_new, labels_new = rng.normal(size=(400, 6)), np.repeat([0, 1], 200)
    assert sample_diversity(X, labels, X_new, labels_new) == pytest.approx(1.0, abs=0.05)
    copies = np.repeat(X_new[[0, 200]], 200, axis=0) + 0.01 * rng.normal(size=(400, 6))
    assert sample_diversity(X, labels, copies, labels_new) < 0.02


def test_sample_diversity_per_cluster_and_clusters_it_cannot_compare():
    rng = np.random.default_rng(0)
    X, labels = rng.normal(size=(300, 3)), np.repeat([0, 1, 2], 100)
    # Cluster 0 generated half as spread out, cluster 1 as the data, cluster 2 once only.
    X_new = np.concatenate([0.5 * rng.normal(size=(200, 3)), rng.normal(size=(201, 3))])
    labels_new = np.array([0] * 200 + [1] * 200 + [2])
    per_cluster = sample_diversity(X, labels, X_new, labels_new, average=False)
    np.testing.assert_allclose(per_cluster[:2], [0.5, 1.0], atol=0.08)
    assert np.isnan(per_cluster[2])
    assert sample_diversity(X, labels, X_new, labels_new) == pytest.approx(per_cluster[:2].mean())
    with pytest.raises(ValueError, match="features"):
        sample_diversity(X, labels, X_new[:, :2], labels_new)
    with pytest.raises(ValueError, match="two or more"):
        sample_diversity(X, labels, X_new[-1:], labels_new[-1:])
