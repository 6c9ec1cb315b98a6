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


def marginal_entropy_gap(proba):
    """``log K - H(mean_i p_i)``: how far the batch's cluster usage is from uniform.

    Zero when the mean posterior over the batch is uniform over the ``K``
    clusters, the prior every model here puts on its cluster variable; it
    keeps a posterior term such as :func:`neighbor_disagreement` from putting
    all rows in one cluster.
    """
    marginal = proba.mean(dim=0)
    entropy = -(marginal * torch.log(marginal.clamp_min(1e-8))).sum()
    return math.log(proba.shape[1]) - entropy


def posterior_regularizer(proba, neighbor_proba, consistency_weight, balance_weight):
    """The recipe's two terms on a cluster posterior, weighted and summed.

    Parameters
    ----------
    proba : tensor of shape (batch_size, n_clusters)
        Posterior of the batch's rows.
    neighbor_proba : callable
        Returns the posterior of the rows' neighbours; called only when
        ``consistency_weight > 0``.
    consistency_weight, balance_weight : float
        Weights of :func:`neighbor_disagreement` and :func:`marginal_entropy_gap`.

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
        imbalance = marginal_entropy_gap(proba)
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
