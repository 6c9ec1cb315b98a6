"""The base's seams, proved by a model the library does not ship: one without a decoder.

``StudentTClustering`` is DEC's clustering layer (Xie, Girshick and Farhadi,
"Unsupervised Deep Embedding for Clustering Analysis", ICML 2016) on an MLP
embedding, trained towards a target distribution refreshed once per epoch.
It has no generator, so it must have neither ``sample`` nor
``inverse_transform``, and it still passes scikit-learn's check suite.
"""

import numpy as np
import pytest
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks

from conftest import SKLEARN_CHECK_BUGS, fast
from sklearn_latent import InfoGANClustering
from sklearn_latent._base import BaseLatentClustering
from sklearn_latent._data import take_rows
from sklearn_latent._networks import HeadedNet, make_trunk


class _Centers(torch.nn.Module):
    def __init__(self, n_clusters, latent_dim):
        super().__init__()
        self.means = torch.nn.Parameter(torch.randn(n_clusters, latent_dim))


class StudentTClustering(BaseLatentClustering):
    """DEC's soft assignment on an MLP embedding, with its per-epoch target."""

    def __init__(
        self,
        n_clusters=3,
        *,
        max_clusters=None,
        latent_dim=2,
        hidden_units=(16,),
        image_shape=None,
        max_iter=5,
        batch_size=32,
        learning_rate=1e-2,
        betas=(0.9, 0.999),
        n_neighbors=5,
        metric="auto",
        consistency_weight=0.0,
        balance_weight=1.0,
        cluster_init="manifold",
        init_weight=10.0,
        label_weight=0.0,
        n_iter_no_change=None,
        validation_fraction=0.1,
        tol=1e-4,
        warm_start=False,
        precision="float32",
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.n_clusters = n_clusters
        self.max_clusters = max_clusters
        self.latent_dim = latent_dim
        self.hidden_units = hidden_units
        self.image_shape = image_shape
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.betas = betas
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.consistency_weight = consistency_weight
        self.balance_weight = balance_weight
        self.cluster_init = cluster_init
        self.init_weight = init_weight
        self.label_weight = label_weight
        self.n_iter_no_change = n_iter_no_change
        self.validation_fraction = validation_fraction
        self.tol = tol
        self.warm_start = warm_start
        self.precision = precision
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _build(self, n_features, unit_interval):
        trunk = make_trunk(n_features, None, tuple(self.hidden_units), batch_norm=False)
        self.encoder_ = HeadedNet(trunk, {"z": self.latent_dim})
        self.centers_ = _Centers(self.n_clusters, self.latent_dim)
        self.epochs_begun_ = 0

    def _begin_epoch(self, X, train_rows, random):
        # DEC's target (eq. 3): squared assignments over cluster frequencies.
        q = torch.as_tensor(self._run_batched(self._cluster_proba, X, train_rows))
        target = q**2 / q.sum(dim=0)
        self._target = torch.zeros(X.shape[0], self.n_clusters)
        self._target[train_rows] = target / target.sum(dim=1, keepdim=True)
        self.epochs_begun_ += 1

    def _train_step(self, batch, optimizer, random):
        # The batch's indices are its rows' positions in X: the key to the target.
        assert np.array_equal(batch.rows.numpy(), take_rows(self._X, batch.indices.numpy()))
        proba = self._cluster_proba(batch.rows)
        target = self._target[batch.indices]
        kl = (target * (target.clamp_min(1e-12).log() - proba.clamp_min(1e-12).log())).sum(1)
        regularizer, losses = self._recipe_loss(batch, proba)
        self._update(optimizer, kl.mean() + regularizer)
        return {**losses, "kl": kl.mean().detach()}

    def _fit(self, X, labels, warm_start):
        self._X = X
        try:
            super()._fit(X, labels, warm_start)
        finally:
            del self._X, self._target

    def _cluster_proba(self, X):
        # Student's t kernel with one degree of freedom (DEC, eq. 1).
        distance = torch.cdist(self.encoder_(X)["z"], self.centers_.means) ** 2
        kernel = 1 / (1 + distance)
        return kernel / kernel.sum(dim=1, keepdim=True)

    def _encode(self, X):
        return self.encoder_(X)["z"]

    def _score_samples(self, X):
        return self._cluster_proba(X).max(dim=1).values.log()

    def _feature_names_out(self):
        return [f"z{i}" for i in range(self._fitted_params.latent_dim)]


def test_a_model_without_decoder_has_no_sample_nor_inverse_transform(blobs):
    X, y = blobs
    model = StudentTClustering(random_state=0)
    assert not hasattr(model, "sample") and not hasattr(model, "inverse_transform")
    labels = model.fit_predict(X)
    assert not hasattr(model, "sample") and not hasattr(model, "inverse_transform")
    assert labels.shape == y.shape and model.transform(X).shape == (len(X), 2)
    with pytest.raises(AttributeError, match="sample"):
        model.sample(3)


def test_begin_epoch_runs_once_per_epoch_and_steps_read_rows_by_index(blobs):
    X, _ = blobs
    model = StudentTClustering(max_iter=4, random_state=0).fit(X)
    assert model.epochs_begun_ == model.n_iter_ == 4
    assert not hasattr(model, "_target"), "per-fit state is dropped after fit"


def test_sample_and_inverse_transform_exist_where_the_model_has_a_generator(estimator_class, blobs):
    """A model with a generator samples and decodes rows; one without has neither method."""
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, max_iter=2, random_state=0).fit(X)
    if model._generates():
        rows, clusters = model.sample(4)
        assert rows.shape == (4, X.shape[1]) and set(clusters) <= {0, 1, 2}
    else:
        assert not hasattr(model, "sample")
        with pytest.raises(AttributeError, match="sample"):
            model.sample(4)
    if model._decodes():
        assert model.inverse_transform(model.transform(X[:4])).shape == (4, X.shape[1])
    else:
        assert not hasattr(model, "inverse_transform")


def test_infogan_stops_early_on_its_score(blobs):
    """The validation-score seam: early stopping maximises InfoGAN's score, its MI."""
    X, _ = blobs
    model = fast(InfoGANClustering, n_clusters=3, random_state=0).fit(X)
    rows = np.arange(len(X))
    assert model._validation_score(X, rows) == pytest.approx(model.score(X), abs=1e-5)
    model = fast(
        InfoGANClustering, n_clusters=3, n_iter_no_change=2, max_iter=30, random_state=0
    ).fit(X)
    best = max(record["validation_score"] for record in model.history_)
    assert 0 < best <= np.log(3) + 1e-6


@parametrize_with_checks(
    [StudentTClustering(random_state=0)],
    expected_failed_checks=lambda estimator: SKLEARN_CHECK_BUGS,
)
def test_a_model_without_decoder_passes_sklearn_checks(estimator, check):
    check(estimator)
