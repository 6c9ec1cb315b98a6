"""Clustering scores against reference labels, disentanglement scores against known factors,
and the diversity of generated rows."""

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import mutual_info_score, pairwise_distances
from sklearn.metrics.cluster import contingency_matrix
from sklearn.utils import check_array, check_consistent_length, check_random_state, column_or_1d


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


def _discretize(column, n_bins):
    """Integer bins of a column: its values if few (``<= n_bins``), else equal-width bins."""
    values = np.unique(column)
    if values.size <= n_bins:
        return np.searchsorted(values, column)
    inner_edges = np.linspace(values[0], values[-1], n_bins + 1)[1:-1]
    return np.digitize(column, inner_edges)


def factor_code_mutual_information(factors, codes, *, n_bins=20):
    """Mutual information between each known factor and each code, over the factor's entropy.

    Both are discretised as in Chen, Li, Grosse and Duvenaud, "Isolating
    Sources of Disentanglement in VAEs", NeurIPS 2018: a column with at most
    ``n_bins`` distinct values (a class, a cluster label) is used as it is,
    any other is cut into ``n_bins`` bins of equal width.

    Parameters
    ----------
    factors : array-like of shape (n_samples, n_factors)
        The true generative factors of each row.
    codes : array-like of shape (n_samples, n_codes)
        A representation of each row, e.g. ``model.transform(X)``.
    n_bins : int, default=20
        Number of bins for continuous columns.

    Returns
    -------
    information : ndarray of shape (n_factors, n_codes)
        ``I(factor; code) / H(factor)``, in [0, 1]: 1 when the code determines
        the (discretised) factor.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_latent.metrics import factor_code_mutual_information
    >>> factors = np.array([[0], [0], [1], [1]])
    >>> codes = np.array([[0.1, 5.0], [0.2, 6.0], [0.9, 5.0], [0.8, 6.0]])
    >>> factor_code_mutual_information(factors, codes, n_bins=2)
    array([[1., 0.]])
    """
    factors = check_array(factors, dtype=np.float64)
    codes = check_array(codes, dtype=np.float64)
    check_consistent_length(factors, codes)
    factor_bins = [_discretize(column, n_bins) for column in factors.T]
    code_bins = [_discretize(column, n_bins) for column in codes.T]
    information = np.empty((len(factor_bins), len(code_bins)))
    for i, factor in enumerate(factor_bins):
        entropy = mutual_info_score(factor, factor)
        if entropy == 0:
            raise ValueError(
                f"Factor {i} is constant, so no code can carry information about it; "
                "drop that column of factors."
            )
        for j, code in enumerate(code_bins):
            information[i, j] = mutual_info_score(factor, code) / entropy
    return information


def mutual_information_gap(factors, codes, *, n_bins=20, average=True):
    """Mutual information gap (MIG): how much each factor is captured by one code alone.

    For each factor, the gap between the largest and the second largest
    normalised mutual information with a code (Chen et al., NeurIPS 2018,
    eq. 9), from :func:`factor_code_mutual_information`.  1 means each factor
    is determined by one code that carries nothing of it elsewhere; 0 that
    two codes share it equally, or none holds it.

    Parameters
    ----------
    factors : array-like of shape (n_samples, n_factors)
        The true generative factors of each row.
    codes : array-like of shape (n_samples, n_codes)
        A representation of each row, with at least two codes.
    n_bins : int, default=20
        Number of bins for continuous columns.
    average : bool, default=True
        Return the mean gap over the factors; False returns one per factor.

    Returns
    -------
    gap : float or ndarray of shape (n_factors,)
        The mutual information gap, in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_latent.metrics import mutual_information_gap
    >>> factors = np.array([[0], [0], [1], [1]])
    >>> codes = np.array([[0.1, 5.0], [0.2, 6.0], [0.9, 5.0], [0.8, 6.0]])
    >>> mutual_information_gap(factors, codes, n_bins=2)
    1.0
    """
    information = factor_code_mutual_information(factors, codes, n_bins=n_bins)
    if information.shape[1] < 2:
        raise ValueError(
            f"The mutual information gap compares codes, so it needs at least 2; got "
            f"{information.shape[1]}."
        )
    top_two = -np.sort(-information, axis=1)[:, :2]
    gaps = top_two[:, 0] - top_two[:, 1]
    return float(gaps.mean()) if average else gaps


def _mean_pairwise_distance(rows, max_rows, rng):
    """Mean Euclidean distance between distinct rows, on at most ``max_rows`` of them."""
    if rows.shape[0] > max_rows:
        rows = rows[rng.choice(rows.shape[0], max_rows, replace=False)]
    n_rows = rows.shape[0]
    return pairwise_distances(rows).sum() / (n_rows * (n_rows - 1))


def sample_diversity(
    X, labels, X_generated, labels_generated, *, average=True, max_rows=500, random_state=0
):
    """How varied a generator's rows are per cluster, relative to the real rows of that cluster.

    For each cluster, the mean Euclidean distance between two generated rows
    of the cluster over the mean distance between two real rows assigned to
    it.  About 1 means the generator varies a cluster's rows as much as the
    data do.  A low number means near-copies: mode collapse *inside* a
    cluster, which cluster accuracy does not see (on digits, a ClusterGAN whose
    generated rows were recognisable digits scored about 0.5).  What helps
    depends on the model (``benchmarks/NOTES.md`` measures it); in the GANs
    the continuous latent is what varies a cluster's rows, so its spread
    (ClusterGAN's ``sigma``), the Localized GAN ``orthonormality_weight`` and
    more epochs are the knobs to try.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Real rows.
    labels : array-like of shape (n_samples,)
        The cluster of each real row, e.g. ``model.labels_`` or
        ``model.predict(X)``.
    X_generated : array-like of shape (n_generated, n_features)
        Generated rows, e.g. the first output of ``model.sample(n)``.
    labels_generated : array-like of shape (n_generated,)
        The cluster each generated row was generated from.
    average : bool, default=True
        Return the mean over the clusters; False returns one value per
        cluster.
    max_rows : int, default=500
        Rows per cluster and side the distances are computed on (a random
        subset above that), so the cost stays bounded.
    random_state : int, RandomState instance or None, default=0
        Picks the subsets when a cluster has more than ``max_rows`` rows.

    Returns
    -------
    diversity : float or ndarray of shape (n_clusters,)
        The ratio of mean distances.  Per cluster (``average=False``), in the
        order of ``numpy.unique`` over both label arrays, NaN where either
        side has fewer than two rows; the mean skips those clusters.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_latent.metrics import sample_diversity
    >>> rng = np.random.default_rng(0)
    >>> X, labels = rng.normal(size=(200, 5)), np.repeat([0, 1], 100)
    >>> near_copies = np.repeat(X[[0, 100]], 50, axis=0) + 0.01 * rng.normal(size=(100, 5))
    >>> round(sample_diversity(X, labels, X[::2], labels[::2]), 1)
    1.0
    >>> sample_diversity(X, labels, near_copies, np.repeat([0, 1], 50)) < 0.1
    True
    """
    X = check_array(X, dtype=np.float64)
    X_generated = check_array(X_generated, dtype=np.float64)
    labels, labels_generated = column_or_1d(labels), column_or_1d(labels_generated)
    check_consistent_length(X, labels)
    check_consistent_length(X_generated, labels_generated)
    if X.shape[1] != X_generated.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features but X_generated has {X_generated.shape[1]}; pass "
            "generated rows of the same data, e.g. from model.sample."
        )
    rng = check_random_state(random_state)
    clusters = np.unique(np.concatenate([labels, labels_generated]))
    diversity = np.full(clusters.shape[0], np.nan)
    for i, cluster in enumerate(clusters):
        real, generated = X[labels == cluster], X_generated[labels_generated == cluster]
        if real.shape[0] < 2 or generated.shape[0] < 2:
            continue
        spread = _mean_pairwise_distance(real, max_rows, rng)
        if spread > 0:
            diversity[i] = _mean_pairwise_distance(generated, max_rows, rng) / spread
    if not average:
        return diversity
    if np.isnan(diversity).all():
        raise ValueError(
            "No cluster has two or more real rows (with distinct values) and two or more "
            "generated rows, so no spread can be compared; generate more rows, e.g. "
            "model.sample(100 * n_clusters)."
        )
    return float(np.nanmean(diversity))
