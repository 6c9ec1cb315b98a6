"""Losses shared by the models: on cluster posteriors, and the adversarial ones."""

import math

import torch
import torch.nn.functional as F


def neighbor_disagreement(proba, neighbor_proba):
    """-log of the probability that a row and its neighbour share a cluster.

    ``-mean_i log sum_k p_ik q_ik`` for the posteriors ``p`` of rows and ``q``
    of one of their nearest neighbours: zero when both are confident in the
    same cluster.  This is the graph smoothness of classic manifold
    regularisation in the form SCAN uses (Van Gansbeke et al., ECCV 2020, eq. 2).
    """
    agreement = (proba * neighbor_proba).sum(dim=1)
    return -torch.log(agreement.clamp_min(1e-8)).mean()


def marginal_divergence(proba, shares=None):
    """``KL(mean_i p_i || shares)``: how far the batch's cluster usage is from ``shares``.

    Zero when the mean posterior over the batch is ``shares``; it keeps a
    posterior term such as :func:`neighbor_disagreement` from putting all rows
    in one cluster.  With ``shares=None`` the target is uniform over the ``K``
    clusters, the prior every model here puts on its cluster variable, and the
    divergence is ``log K - H(mean_i p_i)``.
    """
    marginal = proba.mean(dim=0)
    log_marginal = torch.log(marginal.clamp_min(1e-8))
    if shares is None:
        return math.log(proba.shape[1]) + (marginal * log_marginal).sum()
    return (marginal * (log_marginal - torch.log(shares))).sum()


def posterior_regularizer(
    proba, neighbor_proba, consistency_weight, balance_weight, cluster_shares=None
):
    """The recipe's two terms on a cluster posterior, weighted and summed.

    Parameters
    ----------
    proba : tensor of shape (batch_size, n_clusters)
        Posterior of the batch's rows.
    neighbor_proba : callable
        Returns the posterior of the rows' neighbours; called only when
        ``consistency_weight > 0``.
    consistency_weight, balance_weight : float
        Weights of :func:`neighbor_disagreement` and :func:`marginal_divergence`.
    cluster_shares : tensor of shape (n_clusters,), default=None
        The cluster usage the balance term aims at; None: uniform.

    Returns
    -------
    loss : tensor
        The weighted sum (0 when both weights are 0).
    record : dict
        The unweighted, detached terms, for ``history_``.
    """
    loss, record = proba.new_zeros(()), {}
    if consistency_weight > 0:
        disagreement = neighbor_disagreement(proba, neighbor_proba())
        loss = loss + consistency_weight * disagreement
        record["neighbor_disagreement"] = disagreement.detach()
    if balance_weight > 0:
        imbalance = marginal_divergence(proba, cluster_shares)
        loss = loss + balance_weight * imbalance
        record["imbalance"] = imbalance.detach()
    return loss, record


def critic_loss(real_scores, fake_scores, loss):
    """Discriminator loss: non-saturating GAN (Goodfellow et al. 2014) or Wasserstein."""
    if loss == "wgan-gp":
        return fake_scores.mean() - real_scores.mean()
    return F.softplus(-real_scores).mean() + F.softplus(fake_scores).mean()


def generator_loss(fake_scores, loss):
    """The generator's adversarial term, matching :func:`critic_loss`."""
    if loss == "wgan-gp":
        return -fake_scores.mean()
    return F.softplus(-fake_scores).mean()


def gradient_penalty(critic, real, fake, random):
    """WGAN-GP penalty (Gulrajani et al. 2017, eq. 3) with one interpolation per row."""
    epsilon = random.rand(real.shape[0], 1, device=real.device)
    mixed = (epsilon * real + (1 - epsilon) * fake).requires_grad_(True)
    (gradient,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((gradient.norm(2, dim=1) - 1) ** 2).mean()


# Localized GAN (Qi, Zhang, Hu, Edraki, Wang, Hua, "Global versus Localized
# Generative Adversarial Nets", CVPR 2018): G(z) charts the data manifold, so
# its Jacobian J = dG/dz spans the tangent space at G(z).  Both terms below
# work along random directions u of the continuous latent coordinates, in
# units of the prior's standard deviation (``scale`` per coordinate, 0 for the
# categorical code), with finite differences of step ``step`` in those units.


def _tangent_directions(latent, scale, random):
    """Standard Gaussian directions in the coordinates where ``scale > 0``."""
    return random.randn(*latent.shape, device=latent.device) * (scale > 0)


def posterior_tangent_smoothness(posterior, generator, latent, scale, random, step=0.1):
    """Squared rate of change of the cluster posterior along the manifold.

    ``E_u ||d/dt p(G(z + t u))||^2 = ||d p(G(z)) / dz||_F^2`` for standard
    Gaussian ``u``: the Laplace-Beltrami smoothness of p on the manifold that
    G charts (the Localized GAN paper's replacement for the graph
    Laplacian of classic semi-supervised learning).  G is
    held fixed; the gradient reaches the posterior network only.
    """
    u = _tangent_directions(latent, scale, random)
    with torch.no_grad():
        here, there = generator(torch.cat([latent, latent + step * scale * u])).chunk(2)
    p_here, p_there = posterior(torch.cat([here, there])).chunk(2)
    return ((p_there - p_here) / step).pow(2).sum(dim=1).mean()


def tangent_orthonormality(generator, latent, scale, random, step=0.1):
    """Estimate of ``||J^T J - I||_F^2``, pushing G's tangent vectors to be orthonormal.

    For independent standard Gaussian ``u`` and ``v``,
    ``E[(Ju . Jv - u . v)^2] = ||J^T J - I||_F^2``.  Orthonormal tangents keep
    G from folding many latent directions onto few data directions, the local
    form of mode collapse (Localized GAN; its code weighs this term 0.01).
    One pass of G over the three batches keeps batch normalisation's
    statistics shared.
    """
    u = _tangent_directions(latent, scale, random)
    v = _tangent_directions(latent, scale, random)
    here, along_u, along_v = generator(
        torch.cat([latent, latent + step * scale * u, latent + step * scale * v])
    ).chunk(3)
    ju, jv = (along_u - here) / step, (along_v - here) / step
    return ((ju * jv).sum(dim=1) - (u * v).sum(dim=1)).pow(2).mean()
