"""VaDE (Jiang et al., IJCAI 2017): what the shared tests cannot see."""

import numpy as np
import torch

from conftest import fast
from sklearn_latent import VaDEClustering


def test_cluster_posterior_is_the_mixture_posterior_at_the_latent_mean(blobs):
    """gamma_c = p(c | z) under the learned mixture prior, at z = mu(x) (paper, eq. 16)."""
    X, _ = blobs
    model = fast(VaDEClustering, n_clusters=3, random_state=0).fit(X)
    z = torch.as_tensor(model.transform(X[:20]), dtype=torch.float64)
    prior = model.prior_
    means = prior.means.detach().cpu().double()
    variances = prior.clamped_logvars().detach().cpu().double().exp()
    log_weights = torch.log_softmax(prior.logits.detach().cpu().double(), dim=0)
    log_density = -0.5 * (
        ((z[:, None, :] - means) ** 2 / variances) + torch.log(2 * np.pi * variances)
    ).sum(dim=-1)
    gamma = torch.softmax(log_weights + log_density, dim=1).numpy()
    np.testing.assert_allclose(model.predict_proba(X[:20]), gamma, rtol=1e-4, atol=1e-6)


def test_sample_draws_cluster_counts_from_the_learned_weights(blobs):
    X, _ = blobs
    model = fast(VaDEClustering, n_clusters=3, random_state=0).fit(X)
    assert model.weights_.shape == (3,)
    np.testing.assert_allclose(model.weights_.sum(), 1.0)
    _, clusters = model.sample(30_000)
    frequencies = np.bincount(clusters, minlength=3) / clusters.size
    np.testing.assert_allclose(frequencies, model.weights_, atol=0.01)


def test_a_warm_start_does_not_pretrain_again(blobs, monkeypatch):
    X, _ = blobs
    calls = []
    pretrain = VaDEClustering._pretrain_autoencoder

    def counted(self, *args):
        calls.append(None)
        return pretrain(self, *args)

    monkeypatch.setattr(VaDEClustering, "_pretrain_autoencoder", counted)
    model = fast(VaDEClustering, n_clusters=3, max_iter=1, warm_start=True, random_state=0)
    model.fit(X)
    prior_means = model.prior_.means.detach().clone()
    model.fit(X)
    assert len(calls) == 1 and model.n_iter_ == 2
    assert not torch.equal(model.prior_.means.detach(), prior_means), "the prior kept training"
