"""Clustering scores against reference labels."""

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics.cluster import contingency_matrix


def cluster_accuracy(labels_true, labels_pred):
    """Accuracy of the best one-to-one matching of clusters to classes.

    Clusters are matched to classes by the Hungarian algorithm
    (:func:`scipy.optimize.linear_sum_assignment`) so that the number of rows
    whose cluster maps to their class is maximal; rows of clusters left without
    a class (more clusters than classes) count as errors.

    Parameters
    ----------
    labels_true : array-like of shape (n_samples,)
        Reference class labels.
    labels_pred : array-like of shape (n_samples,)
        Cluster labels to evaluate.

    Returns
    -------
    accuracy : float
        Fraction of rows in [0, 1]; 1 means the clustering equals the classes
        up to a renaming of the clusters.

    Examples
    --------
    >>> from sklearn_latent.metrics import cluster_accuracy
    >>> cluster_accuracy([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    >>> cluster_accuracy([0, 0, 1, 1], [0, 0, 0, 1])
    0.75
    """
    contingency = contingency_matrix(labels_true, labels_pred)
    rows, columns = linear_sum_assignment(contingency, maximize=True)
    return float(contingency[rows, columns].sum() / contingency.sum())


def purity_score(labels_true, labels_pred):
    """Fraction of rows whose cluster's majority class is their own class.

    Each cluster votes for its most frequent class; several clusters may vote
    for the same class, so purity reaches 1 with one cluster per row.  The
    official ClusterGAN code reports this number as "ACC".

    Parameters
    ----------
    labels_true : array-like of shape (n_samples,)
        Reference class labels.
    labels_pred : array-like of shape (n_samples,)
        Cluster labels to evaluate.

    Returns
    -------
    purity : float
        Fraction of rows in [0, 1].

    Examples
    --------
    >>> from sklearn_latent.metrics import purity_score
    >>> purity_score([0, 0, 1, 1], [0, 0, 0, 1])
    0.75
    """
    contingency = contingency_matrix(labels_true, labels_pred)
    return float(np.max(contingency, axis=0).sum() / contingency.sum())
