"""The training recipe every model shares: neighbours, the manifold start, posterior terms.

A deep clusterer trained from random weights on raw rows finds the coarse
structure of the data slowly and differently for every seed; a neighbour
graph of the rows already holds most of it.  The recipe is what the models
take from that graph, in two parts:

- :func:`prepare`, once per fit before the networks are built: the geometry
  rows are compared in (``metric``), the number of clusters when
  ``n_clusters="auto"`` (:func:`~sklearn_latent._manifold.count_clusters`),
  each training row's ``n_neighbors`` nearest rows, and the anchors of the
  manifold initialisation (:func:`~sklearn_latent._manifold.manifold_clusters`),
  renamed to the classes of any partial labels, and those labels;
- :func:`recipe_loss`, in every train step: the terms that pull the model's
  cluster posterior of real rows towards that graph, weighted by the
  parameters of :data:`RECIPE_PARAMETER_CONSTRAINTS`.

A model opts in by adding ``self._recipe_loss(batch, proba)`` to the loss of
the network behind its ``_cluster_proba``; the recipe declares its own
parameters, which every model's ``__init__`` takes.
"""

from contextlib import nullcontext
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from sklearn.utils._param_validation import Interval, StrOptions

from ._data import (
    nearest_neighbors,
    neighbor_space,
    resolve_consistency_weight,
    resolve_metric,
)
from ._losses import posterior_regularizer
from ._manifold import MAX_CLUSTERS, count_clusters, manifold_clusters, refine_for_metric
from ._validation import FLOAT32_MAX

#: The recipe's parameters and their constraints (scikit-learn's form).
RECIPE_PARAMETER_CONSTRAINTS = {
    "n_neighbors": [Interval(Integral, 1, None, closed="left")],
    "metric": [StrOptions({"auto", "euclidean", "cosine"})],
    "consistency_weight": [Interval(Real, 0, FLOAT32_MAX, closed="both"), StrOptions({"auto"})],
    "balance_weight": [Interval(Real, 0, FLOAT32_MAX, closed="both")],
    "cluster_init": [StrOptions({"manifold"}), None],
    "init_weight": [Interval(Real, 0, FLOAT32_MAX, closed="both")],
    "label_weight": [Interval(Real, 0, FLOAT32_MAX, closed="both")],
}


class RecipeSetup(NamedTuple):
    """What :func:`prepare` found for one fit."""

    #: The geometry neighbours were found in, ``"euclidean"`` or ``"cosine"``.
    metric: str
    #: The number of clusters to fit (``"auto"`` resolved).
    n_clusters: int
    #: The neighbour term's weight (``"auto"`` resolved).
    consistency_weight: float
    #: The search behind ``n_clusters`` (``n_clusters_search_``), or None without one.
    n_clusters_search: dict | None
    #: Each row's nearest training rows, or None without the consistency term.
    neighbors: np.ndarray | None
    #: ``(rows, classes)`` of the labelled training rows, or None.
    labeled: tuple | None
    #: One initial cluster per row (-1 for none), or None without the manifold start.
    anchors: np.ndarray | None

    def cluster_shares(self, n_clusters):
        """The share of the anchored rows in each cluster, or None without anchors.

        The balance term's target (:func:`recipe_loss`).  A uniform target
        splits a large class to fill small clusters: on seven separate blobs
        of 15 to 7,800 rows, a start of ACC 1.000 trained to 0.69 and 0.65 by
        ClusterGAN and InfoGAN, which keep 0.998 with these shares.  The cost:
        a start that merged classes of equal size keeps its oversized
        clusters (UCI Letter, ClusterGAN 0.35 where the uniform target gave
        0.38; ``benchmarks/NOTES.md``, sessions 20 and 21).  Each count gets
        one more row (Laplace's rule), so that no cluster has a share of 0.
        """
        if self.anchors is None:
            return None
        counts = np.bincount(self.anchors[self.anchors >= 0], minlength=n_clusters) + 1.0
        return counts / counts.sum()

    def record_on(self, model, fitted):
        """Set what the recipe decides: metric_, n_clusters_, the search, the neighbour weight.

        The resolved ``consistency_weight`` replaces ``"auto"`` in ``fitted``,
        which training reads.
        """
        model.metric_ = self.metric
        fitted.consistency_weight = self.consistency_weight
        if self.n_clusters_search is not None:
            model.n_clusters_search_ = self.n_clusters_search
        elif fitted.n_clusters != "auto":
            vars(model).pop("n_clusters_search_", None)  # of an earlier fit with "auto"
        # A warm start with "auto" keeps the number, and the search, it found before.
        fitted.n_clusters = model.n_clusters_ = self.n_clusters


def prepare(
    fitted,
    X,
    train_rows,
    labels,
    seed,
    warm_start,
    fitted_n_clusters=None,
    stage=None,
):
    """Find what the recipe's terms need, before the networks are built.

    Parameters
    ----------
    fitted : FittedParams
        The fit's checked parameters.
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        The training data.
    train_rows : ndarray of int
        The rows trained on (the validation rows excluded).
    labels : ndarray of int or None
        Partial labels, -1 where unknown.
    seed : int
        Seeds the neighbour search, the layouts and the mixtures.
    warm_start : bool
        Whether the fit continues a fitted model: then neither the number of
        clusters nor the manifold start is searched again.
    fitted_n_clusters : int, default=None
        The number of clusters of the model a warm start continues.
    stage : callable, default=None
        ``stage(name)`` returns a context around each stage, for progress
        (``FitProgress.stage``); None shows nothing.

    Returns
    -------
    setup : RecipeSetup
    """
    stage = stage or (lambda name: nullcontext())
    metric = resolve_metric(fitted.metric, X)
    consistency_weight = resolve_consistency_weight(fitted.consistency_weight, metric)
    initialise = fitted.cluster_init == "manifold" and fitted.init_weight > 0 and not warm_start
    count = fitted.n_clusters == "auto" and not warm_start
    if consistency_weight > 0 or initialise or count:
        with stage(f"{metric} geometry of the rows"):
            points = neighbor_space(X, train_rows, seed, metric)
    n_clusters, search, layout = fitted.n_clusters, None, None
    if count:
        max_clusters = MAX_CLUSTERS if fitted.max_clusters is None else fitted.max_clusters
        with stage("number of clusters"):
            n_clusters, search, layout = count_clusters(
                points, train_rows, max_clusters, seed, return_layout=True
            )
    elif n_clusters == "auto":
        n_clusters = fitted_n_clusters  # a warm start keeps the number it found
    neighbors = labeled = anchors = None
    if consistency_weight > 0:
        with stage("nearest neighbours"):
            neighbors = nearest_neighbors(points, train_rows, fitted.n_neighbors, seed)
    if labels is not None:
        labeled_rows = train_rows[labels[train_rows] >= 0]
        labeled = (labeled_rows, labels[labeled_rows]) if labeled_rows.size else None
    if initialise:
        with stage("layout and mixture"):
            # Up to 5,000 rows the search laid out the same rows the start lays out.
            anchored_rows, clusters = manifold_clusters(
                points, train_rows, n_clusters, seed, layout
            )
            clusters = refine_for_metric(points[anchored_rows], clusters, n_clusters, metric)
        if anchored_rows.size:
            anchors = np.full(X.shape[0], -1, dtype=np.int64)
            anchors[anchored_rows] = clusters
            if labeled is not None:
                anchors = anchors_as_classes(anchors, *labeled, n_clusters)
    return RecipeSetup(metric, n_clusters, consistency_weight, search, neighbors, labeled, anchors)


def anchors_as_classes(anchors, labeled_rows, classes, n_clusters):
    """The manifold start's anchors renamed to the classes of the labelled rows.

    Cluster ``k`` must be class ``k``, while the start numbers its clusters
    arbitrarily: each start cluster takes the class it shares most labelled
    rows with, one class per cluster (the Hungarian assignment on their
    counts; a cluster no labelled row falls in takes a class left over).  A
    labelled row is then anchored to its own class, whatever its cluster.
    With 10 labels a class the models reached 0.911-0.921 on MNIST-5k's
    unlabelled rows from this start, 0.768-0.895 from the labels alone, but
    0.957-0.963 on digits against 0.953-0.974 (``benchmarks/NOTES.md``,
    session 19).

    Parameters
    ----------
    anchors : ndarray of int of shape (n_samples,)
        The start's cluster of each row, -1 for rows it does not anchor.
    labeled_rows : ndarray of int
        The labelled training rows.
    classes : ndarray of int
        Their classes, in ``[0, n_clusters)``.
    n_clusters : int
        The number of clusters (and classes).

    Returns
    -------
    anchors : ndarray of int of shape (n_samples,)
        A class per row, -1 for none.
    """
    clusters = anchors[labeled_rows]
    shared = np.zeros((n_clusters, n_clusters))
    in_start = clusters >= 0
    np.add.at(shared, (clusters[in_start], classes[in_start]), 1)
    start_clusters, their_classes = linear_sum_assignment(shared, maximize=True)
    class_of = np.empty(n_clusters, dtype=np.int64)
    class_of[start_clusters] = their_classes
    renamed = np.where(anchors >= 0, class_of[anchors.clip(0)], -1)
    renamed[labeled_rows] = classes
    return renamed


def recipe_loss(fitted, batch, proba, neighbor_proba, cluster_proba):
    """The recipe's terms on the cluster posterior of a batch's real rows.

    Weighted by the parameters of the same names:

    - ``consistency_weight``: a row and one of its ``n_neighbors`` nearest
      rows share a cluster (:func:`~sklearn_latent._losses.neighbor_disagreement`);
    - ``balance_weight``: the batch uses the clusters in the shares the
      manifold start gives them, or evenly, as the uniform cluster prior
      says, without it (:func:`~sklearn_latent._losses.marginal_divergence`);
    - ``init_weight``: rows fall in the cluster the manifold initialisation
      anchored them to (:mod:`sklearn_latent._manifold`), a cross-entropy
      over the anchored rows of the batch;
    - ``label_weight``: labelled rows fall in their class's cluster.

    Parameters
    ----------
    fitted : FittedParams
        The fit's checked parameters.
    batch : TrainingBatch
        The step's batch.
    proba : tensor of shape (batch_size, n_clusters)
        The model's cluster posterior of ``batch.rows``, in the graph of
        the network it trains.
    neighbor_proba : callable
        Returns the posterior of ``batch.neighbors``; called only when
        ``consistency_weight > 0``.
    cluster_proba : callable
        The model's cluster posterior of a tensor of rows, for the labelled rows.

    Returns
    -------
    loss : tensor
        The weighted sum, to add to the loss of the posterior's network.
    record : dict
        The unweighted, detached terms, for ``history_``.
    """
    loss, record = posterior_regularizer(
        proba,
        neighbor_proba,
        fitted.consistency_weight,
        fitted.balance_weight,
        batch.cluster_shares,
    )
    if batch.anchors is not None:
        anchored = (batch.anchors >= 0).float()
        log_proba = torch.log(proba.clamp_min(1e-8))
        picked = log_proba.gather(1, batch.anchors.clamp_min(0)[:, None]).squeeze(1)
        # A mean over the anchored rows only, without a host sync to count them.
        disagreement = -(picked * anchored).sum() / anchored.sum().clamp_min(1.0)
        loss = loss + fitted.init_weight * disagreement
        record["init_disagreement"] = disagreement.detach()
    if batch.labels is not None:
        labeled_proba = cluster_proba(batch.labeled_rows)
        cross_entropy = F.nll_loss(torch.log(labeled_proba.clamp_min(1e-8)), batch.labels)
        loss = loss + fitted.label_weight * cross_entropy
        record["label_cross_entropy"] = cross_entropy.detach()
    return loss, record


def anchored_means(embedding, known_clusters, n_clusters):
    """Each cluster's mean embedding over the rows known to be in it; None unless all have some.

    A model that starts cluster parameters of its own (a mixture prior's
    means, DEC's centres) starts cluster k there, where the label or anchor
    term will pull it.

    Parameters
    ----------
    embedding : ndarray of shape (n_rows, n_dims)
        The rows' embedding.
    known_clusters : ndarray of int of shape (n_rows,) or None
        The rows' anchors or labels (-1 for none), as ``_initialize`` receives them.
    n_clusters : int
        The number of clusters.

    Returns
    -------
    means : ndarray of shape (n_clusters, n_dims) or None
    """
    if known_clusters is None:
        return None
    clusters = np.arange(n_clusters)
    if not np.isin(clusters, known_clusters).all():
        return None
    return np.stack([embedding[known_clusters == k].mean(axis=0) for k in clusters])
