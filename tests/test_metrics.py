import numpy as np
import pytest

from sklearn_latent.metrics import cluster_accuracy, purity_score


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
