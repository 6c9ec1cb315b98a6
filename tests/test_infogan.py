"""InfoGAN-specific behaviour: its codes, information term and generation."""

import math

import numpy as np
import pytest

from conftest import fast
from sklearn_latent import InfoGANClustering
from sklearn_latent._networks import ConvGenerator, ConvTrunk


def test_information_bound_approaches_the_code_entropy(blobs):
    X, _ = blobs
    model = fast(InfoGANClustering, n_clusters=3, random_state=0).fit(X)
    information = [record["categorical_information"] for record in model.history_]
    assert information[-1] <= math.log(3) + 1e-6
    assert information[-1] > 0.9 * math.log(3) > information[0]


def test_score_is_a_mutual_information_estimate(blobs):
    X, _ = blobs
    model = fast(InfoGANClustering, n_clusters=3, random_state=0).fit(X)
    assert 0.9 * math.log(3) < model.score(X) <= math.log(3) + 1e-6
    assert np.all(model.score_samples(X) <= 1e-6), "minus an entropy"


def test_generate_for_chosen_codes(blobs):
    X, _ = blobs
    model = fast(InfoGANClustering, n_clusters=3, n_continuous=2, random_state=0).fit(X)
    sweep = np.column_stack([np.linspace(-1, 1, 5), np.zeros(5)])
    rows = model.generate([1] * 5, continuous=sweep)
    assert rows.shape == (5, X.shape[1])
    # A chosen category generates rows that Q assigns to that category.
    assert np.mean(model.predict(model.generate([2] * 50)) == 2) > 0.9
    with pytest.raises(ValueError, match="cluster indices in"):
        model.generate([3])
    with pytest.raises(ValueError, match="continuous must have shape"):
        model.generate([0, 1], continuous=[[0.0, 0.0]])


def test_transform_is_category_posterior_then_continuous_means(blobs):
    X, _ = blobs
    model = fast(InfoGANClustering, n_clusters=3, n_continuous=2, random_state=0).fit(X)
    Z = model.transform(X)
    assert Z.shape == (len(X), 5)
    np.testing.assert_allclose(Z[:, :3], model.predict_proba(X), rtol=1e-5)


@pytest.mark.parametrize("loss", ["nonsaturating", "wgan-gp"])
def test_papers_objective_trains(blobs, loss):
    X, _ = blobs
    model = fast(
        InfoGANClustering,
        n_clusters=3,
        n_continuous=0,
        loss=loss,
        consistency_weight=0,
        balance_weight=0,
        cluster_init=None,
        learning_rate=2e-4,
        generator_learning_rate=1e-3,
        random_state=0,
    ).fit(X)
    assert not {"neighbor_disagreement", "imbalance", "init_disagreement"} & set(model.history_[-1])
    assert model.transform(X).shape == (len(X), 3)
    # The information bound L_I rises from about 0 (measured: to 0.71 and 0.36 of log 3).
    information = [record["categorical_information"] for record in model.history_]
    assert information[-1] > information[0] + 0.2


def test_convolutional_nets_for_images():
    X = np.random.default_rng(0).random((24, 64)).astype(np.float32)
    model = fast(
        InfoGANClustering, n_clusters=2, image_shape=(1, 8, 8), hidden_units=(32,), max_iter=1
    ).fit(X)
    assert isinstance(model.discriminator_.trunk, ConvTrunk)
    assert isinstance(model.generator_, ConvGenerator)
