"""Losses on cluster posteriors, shared by every model that has one."""

import math

import torch


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
