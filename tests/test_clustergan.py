"""ClusterGAN-specific behaviour: its networks, losses and options."""

import numpy as np
import pytest
import torch

from conftest import fast
from sklearn_latent import ClusterGANClustering
from sklearn_latent._networks import ConvGenerator, ConvTrunk


@pytest.mark.parametrize("image_shape", [(1, 8, 8), (3, 6, 10), (1, 7, 9)])
def test_convolutional_nets_for_any_image_shape(image_shape):
    n_features = int(np.prod(image_shape))
    X = np.random.default_rng(0).random((24, n_features)).astype(np.float32)
    model = fast(
        ClusterGANClustering,
        n_clusters=2,
        image_shape=image_shape,
        hidden_units=(32,),
        max_iter=1,
        random_state=0,
    ).fit(X)
    assert isinstance(model.generator_, ConvGenerator)
    assert isinstance(model.encoder_.trunk, ConvTrunk)
    X_new, _ = model.sample(5)
    assert X_new.shape == (5, n_features)
    assert X_new.min() >= 0 and X_new.max() <= 1, "pixels in [0, 1] get a sigmoid output"


@pytest.mark.parametrize("hidden_units, widths", [((32,), (64, 128, 32)), ((4, 6, 16), (4, 6, 16))])
def test_convolutional_widths_from_hidden_units(hidden_units, widths):
    """One width sets the dense layer beside the papers' channels; three set all three."""
    X = np.random.default_rng(0).random((24, 64)).astype(np.float32)
    model = fast(
        ClusterGANClustering,
        n_clusters=2,
        image_shape=(1, 8, 8),
        hidden_units=hidden_units,
        max_iter=1,
        random_state=0,
    ).fit(X)
    for trunk in (model.encoder_.trunk, model.discriminator_.trunk):
        first, second = (layer for layer in trunk.conv if isinstance(layer, torch.nn.Conv2d))
        assert (first.out_channels, second.out_channels, trunk.n_outputs) == widths
    deconvs = [m for m in model.generator_.deconv if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels) for m in deconvs] == [
        (widths[1], widths[0]),
        (widths[0], 1),
    ]
    assert model.generator_.dense[0].out_features == widths[2]


def test_linear_output_for_unbounded_data(blobs):
    X, _ = blobs
    model = fast(ClusterGANClustering, n_clusters=3, max_iter=1, random_state=0).fit(X)
    assert model.generator_.output_activation == "linear"


def test_transform_is_cluster_softmax_then_noise_estimate(blobs):
    X, _ = blobs
    model = fast(ClusterGANClustering, n_clusters=3, random_state=0).fit(X)
    Z = model.transform(X)
    assert Z.shape == (len(X), 3 + model.latent_dim)
    np.testing.assert_allclose(Z[:, :3], model.predict_proba(X), rtol=1e-5)
    # inverse_transform reads the same order: it feeds [z_n, z_c] to G.
    z_c, z_n = torch.eye(3)[[0, 2]], torch.full((2, model.latent_dim), 0.05)
    with torch.inference_mode():
        model.generator_.eval()
        codes = torch.cat([z_n, z_c], dim=1).to(model.device_)
        expected = model.generator_(codes).cpu().numpy()
    np.testing.assert_allclose(
        model.inverse_transform(torch.cat([z_c, z_n], dim=1).numpy()), expected, rtol=1e-5
    )


def test_kmeans_assignment_has_no_probabilities(blobs):
    X, _ = blobs
    model = fast(ClusterGANClustering, n_clusters=3, cluster_assignment="kmeans", random_state=0)
    labels = model.fit_predict(X)
    np.testing.assert_array_equal(labels, model.predict(X))
    assert model.kmeans_.n_clusters == 3
    assert not hasattr(model, "predict_proba")
