"""The manifold initialisation: clusters of a neighbour-graph layout, before training starts.

Deep clusterers trained from random weights on raw rows find the coarse
structure of the data slowly and differently for every seed.  A graph of each
row's nearest neighbours already holds most of that structure (on the 8x8
digits, MNIST-5k and UCI Letter, 88-97 % of a row's 10 nearest rows share its
class), and a low-dimensional layout of that graph makes it visible to a
Gaussian mixture: the N2D recipe (McConville et al., ICPR 2020) of a manifold
step followed by a mixture.  The layout here optimises the cross-entropy of
UMAP (McInnes, Healy and Melville 2018, sec. 3) between the fuzzy neighbour
graph and a Cauchy-like similarity of the embedded points, from a spectral
initialisation, by UMAP's sequential negative-sampling SGD (in numba).

A mixture of ``n_clusters`` Gaussians misplaces whole classes when a cluster of
the layout is not Gaussian: it splits a long cluster in two and pays for it by
merging two others.  So mixtures with two and three times as many components
are fitted too, their components merged back along the neighbour graph (once
by modularity, once by the link ratio, which does not favour equal sizes), and
of the partitions the one whose clusters the graph's edges bind tightest (the
highest modularity) is kept, among those whose clusters are all separate from
each other where there are any, and among those along which the graph falls
apart (almost no edges between any two clusters) where there are any.

Documents (rows compared by angle) are then refined by spherical k-means from
that partition (:func:`refine_by_centroids`): a topic is a direction of the
term space that its articles share, which their mean sees and a graph of 15
neighbours only sees locally.

The mixture's confident assignments then anchor the model's cluster posterior
during training (:func:`~sklearn_latent._recipe.recipe_loss`); the model's own
objective shapes everything else, and its networks assign rows never seen here.

For ``n_clusters="auto"``, :func:`count_clusters` reads the number of clusters
off the same graph before the networks are built.
"""

from typing import NamedTuple

import numba
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import ArpackError, eigsh
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import normalize

#: At most this many training rows are laid out; the rest are left to the model's
#: networks, so the initialisation costs the same on any larger input.  At 10,000
#: (sessions 7-21) UCI Letter's 20,000 rows started at 0.373 and the models ended
#: at 0.353-0.362, under UMAP+GMM's 0.381 on all of them; laid out whole, 0.387
#: and 0.373-0.386, for 1-10 s more a fit (``benchmarks/NOTES.md``, session 22).
MAX_ROWS = 20_000
#: ... and of sparse rows (documents), whose exact neighbour graph grows with the
#: square of the rows: 25 s on a 10,000-row sample of 100,000 x 50,000 TF-IDF rows.
MAX_SPARSE_ROWS = 10_000
#: UMAP's default neighbourhood size.
N_NEIGHBORS = 15
#: Dimension of the layout the mixture is fitted in (as N2D and our UMAP peer use).
N_COMPONENTS = 10
#: Layout epochs: UMAP's schedule, 500 for small inputs and 200 for large ones,
#: with the step where the full-batch layout this module had before measured it
#: (``benchmarks/layout.py``): on 1,000-2,000 rows 500 epochs gave better clusters
#: (Letter 0.377 against 0.367, and 0.405 against 0.389, 10 seeds each) and
#: avoided a failed MNIST-5k seed, while on 10,000 rows they did worse (0.346
#: against 0.354).
N_EPOCHS_SMALL, N_EPOCHS_LARGE = 500, 200
#: Inputs of at most this many rows are small.
SMALL_INPUT_ROWS = 5_000
#: Repulsive samples per attractive edge (UMAP's default).
NEGATIVE_SAMPLES = 5
#: UMAP's similarity 1 / (1 + a d^(2b)) for min_dist=0, spread=1 (its curve fit):
#: clusters are packed tightly, which is what a mixture needs.
CURVE_A, CURVE_B = 1.929, 0.7915
#: Mixture restarts; the best by likelihood is kept.  Ten against four
#: (``benchmarks/layout.py --mixture-inits 4 10``) avoided a merge of two digits
#: on one MNIST-5k seed of six (mean 0.843 against 0.823) and gained on small
#: Letter (2,000 rows, 10 seeds: 0.411 against 0.405), changed nothing on digits,
#: and costs about 1.5 s more on 10,000 rows and 26 clusters.
MIXTURE_INITS = 10
#: A row anchors its cluster only if the mixture gives it at least this probability.
CONFIDENCE = 0.9
#: Besides the mixture of ``n_clusters`` components, mixtures of this many times
#: more components, each merged back to ``n_clusters`` clusters along the
#: neighbour graph (see ``mixture_partition``) ...
OVERSPLIT_FACTORS = (2, 3)
#: ... with this many restarts each, where every component has at least as many
#: laid-out rows as a full-covariance Gaussian of the layout has parameters (65 in
#: 10 dimensions): on a 2,000-row Letter sample, 26 classes of 77 rows, the
#: oversplit's 38-row components lost 0.025-0.037 ACC, and are now not fitted.
OVERSPLIT_INITS = 3
#: Spherical k-means refines the start of rows compared by angle only where it
#: moves at most this share of them: on the BBC articles it moved 2-5 % (at 4 to 8
#: clusters, and with unequal topics), where centroids and graph see the same
#: topics and the centroids decide the rows between them; a refinement that moves
#: more disagrees with the graph about the clusters themselves, and is not kept.
CENTROID_MAX_MOVED = 0.1
#: Spherical k-means stops here if it has not converged (2-3 steps on BBC).
CENTROID_MAX_STEPS = 100


#: ``n_clusters="auto"`` searches up to this many clusters unless told otherwise.
MAX_CLUSTERS = 50
#: The search lays out at most this many training rows ...
COUNT_ROWS = 5_000
#: ... in this many layouts of one neighbour graph (from other seeds), each cut
#: by k-means into twice the largest number searched, in pieces of at least
#: this many rows on average, which the graph's edges then merge.
COUNT_LAYOUTS = 3
ROWS_PER_PIECE = 5
#: A partition with a group of fewer than this share of the laid-out rows is
#: no candidate (at 1 %, or with such groups merged into their neighbours
#: first, Letter's 26 classes came out as 8 or 18; at 0.5 % as 23).
MIN_CLUSTER_SHARE = 0.005
#: Two groups are separate clusters when the edge weight between them is at
#: most this share of the weight expected between groups of their degrees.
#: Measured (``benchmarks/n_clusters.py``, ``benchmarks/NOTES.md``): the two
#: halves of one Gaussian blob 0.63-0.67; the split that makes the true number
#: of clusters 0.00 on separate blobs, 0.18-0.25 on digits, digits-unequal, BBC
#: and letter-imbalanced, but 0.37 and 0.50 for MNIST-5k's ninth and tenth
#: (two pairs of digits that share most of their neighbours).  The start's
#: choice of partition (``mixture_partition``) uses the same bar.
SEPARATE_LINK_RATIO = 1 / 3
#: The graph falls apart along a partition whose every pair of clusters is linked
#: at most this much (under 1 % of the edges their degrees would give them) ...
DISCONNECTED_LINK_RATIO = 0.01
#: ... and whose clusters this share of the graph's edge weight joins, at most
#: (one edge in 10,000): the start takes such a partition over any that cuts a
#: part (:func:`best_partition`).  Measured (``benchmarks/NOTES.md``, session 22):
#: the right partition of seven separate blobs of 15 to 7,800 rows reads 0.003 and
#: 0.000004 on every seed.  Poor partitions into a few large merged clusters and
#: small clumps come near: UCI Letter's least linked candidates read 0.042 and
#: 0.011 at 26 clusters, 0.010 and 0.0023 at 14, and 0.009 and 0.00083 when all
#: 20,000 rows are laid out.
DISCONNECTED_EDGE_SHARE = 0.0001


class Layout(NamedTuple):
    """A neighbour graph of ``X[rows]`` and its layout at ``seed``, to be used twice."""

    rows: np.ndarray
    seed: int
    graph: sp.coo_matrix
    embedding: np.ndarray


def manifold_clusters(X, rows, n_clusters, seed, layout=None):
    """Cluster a sample of ``X[rows]`` in a layout of its neighbour graph.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        All rows, in the coordinates they are compared in
        (:func:`~sklearn_latent._data.neighbor_space`).
    rows : ndarray of int
        The training rows to draw from (validation rows excluded).
    n_clusters : int
        Number of mixture components.
    seed : int
        Seeds the sample, the layout and the mixture.
    layout : Layout, default=None
        The graph and layout of these rows at this seed, where
        :func:`count_clusters` already made them (its ``layout``): not made again.

    Returns
    -------
    anchored_rows : ndarray of int
        Indices into ``X`` of the rows the mixture assigns confidently.
    clusters : ndarray of int
        Their mixture components, in ``[0, n_clusters)``.
    """
    rows, responsibility = initial_clustering(X, rows, n_clusters, seed, layout)
    if not rows.size:
        return rows, rows
    confident = responsibility.max(axis=1) >= CONFIDENCE
    if not confident.any():
        # No clear structure: anchor every row, so init_weight still trains the posterior.
        confident[:] = True
    return rows[confident], responsibility[confident].argmax(axis=1)


def refine_by_centroids(X, clusters, n_clusters):
    """Refine a partition of rows of unit length by spherical k-means started from it.

    Spherical k-means (Dhillon and Modha, Machine Learning 2001, sec. 3):
    each cluster's direction is the mean of its rows scaled to unit length,
    and each row moves to the cluster of the most similar direction, until no
    row moves.  Started from the layout's partition, it avoids the poor local
    optima of k-means' random starts: on the BBC articles (5 topics, seeds
    0-2) the start went from ACC 0.951-0.953 to 0.970 on every seed, where
    k-means with ``n_init=10`` reached 0.930-0.970 (``benchmarks/NOTES.md``).
    On dense images and tables compared by distance the rows' centroids are
    a worse model than the graph (MNIST-5k 0.92 -> 0.64, digits 0.96 ->
    0.85 for k-means from the start), so only documents are refined.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_rows, n_features)
        The rows, of unit length (or zero).
    clusters : ndarray of shape (n_rows,)
        Their clusters, in ``[0, n_clusters)``.
    n_clusters : int
        Number of clusters.

    Returns
    -------
    clusters : ndarray of shape (n_rows,)
        The refined clusters, or ``clusters`` itself where the refinement
        would empty a cluster or move more than :data:`CENTROID_MAX_MOVED`
        of the rows.
    """
    n_rows = X.shape[0]
    # An all-zero row (an empty document) is alike to no direction: it stays put.
    has_terms = np.asarray(abs(X).sum(axis=1)).ravel() > 0
    refined = clusters
    for _ in range(CENTROID_MAX_STEPS):
        member = sp.csr_matrix(
            (np.ones(n_rows), (np.arange(n_rows), refined)), shape=(n_rows, n_clusters)
        )
        sums = member.T @ X
        directions = normalize(sums.toarray() if sp.issparse(sums) else np.asarray(sums))
        moved_to = np.where(has_terms, np.asarray(X @ directions.T).argmax(axis=1), refined)
        if np.array_equal(moved_to, refined):
            break
        refined = moved_to
    if (
        np.mean(refined != clusters) > CENTROID_MAX_MOVED
        or np.unique(refined).size < np.unique(clusters).size
    ):
        return clusters
    return refined


def refine_for_metric(X, clusters, n_clusters, metric):
    """The start's clusters as ``fit`` anchors them, for rows compared by ``metric``.

    Documents (``"cosine"``) are refined by :func:`refine_by_centroids`; rows
    compared by distance keep the graph's clusters.
    """
    if metric != "cosine" or not len(clusters):
        return clusters
    return refine_by_centroids(X, clusters, n_clusters)


def initial_clustering(X, rows, n_clusters, seed, layout=None):
    """The mixture responsibilities of the rows :func:`manifold_clusters` lays out.

    Takes the arguments of :func:`manifold_clusters`.  Returns the laid-out
    rows (a sample of ``rows`` of at most :data:`MAX_ROWS`, or
    :data:`MAX_SPARSE_ROWS` of a sparse ``X``; none when there are too few
    rows for a graph with any structure) and their responsibilities, of shape
    ``(n_laid_out, n_clusters)``.
    """
    random = np.random.default_rng(seed)
    max_rows = MAX_SPARSE_ROWS if sp.issparse(X) else MAX_ROWS
    if rows.shape[0] > max_rows:
        rows = np.sort(random.choice(rows, max_rows, replace=False))
    if rows.shape[0] <= n_clusters + 1:
        return rows[:0], np.empty((0, n_clusters))
    if layout is not None and np.array_equal(layout.rows, rows) and layout.seed == seed:
        return rows, mixture_partition(layout.embedding, layout.graph, n_clusters, seed)
    # Float64: squared distances of rows far beyond 1e19 would overflow float32.
    return rows, layout_mixture(X[rows].astype(np.float64), n_clusters, seed)


def layout_mixture(X, n_clusters, seed, n_epochs=None):
    """Each row's responsibilities under a Gaussian mixture fitted in its graph layout.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features), float64
        The rows to lay out, more than ``n_clusters + 1`` of them.
    n_clusters : int
        Number of mixture components.
    seed : int
        Seeds the layout and the mixture.
    n_epochs : int, default=None
        Layout epochs; None takes ``N_EPOCHS_SMALL`` up to ``SMALL_INPUT_ROWS``
        rows and ``N_EPOCHS_LARGE`` above.

    Returns
    -------
    responsibility : ndarray of shape (n_rows, n_clusters)
    """
    n_rows = X.shape[0]
    if n_epochs is None:
        n_epochs = layout_epochs(n_rows)
    graph = fuzzy_neighbor_graph(X, min(N_NEIGHBORS, n_rows - 1))
    embedding = optimize_layout(graph, min(N_COMPONENTS, n_rows - 2), n_epochs, seed)
    return mixture_partition(embedding, graph, n_clusters, seed)


def mixture_partition(embedding, graph, n_clusters, seed):
    """The responsibilities of the best of the mixture partitions of the layout.

    The candidates: a mixture of ``n_clusters`` components (``MIXTURE_INITS``
    restarts), and mixtures of ``OVERSPLIT_FACTORS`` times as many
    (``OVERSPLIT_INITS`` restarts) whose components are merged to
    ``n_clusters`` clusters by :func:`merge_components`, twice: by modularity
    and by link ratio; a cluster's responsibility is the sum of its
    components'.  An oversplit is fitted only where each of its components
    has at least as many rows as it has parameters.

    The one kept has the highest modularity on ``graph`` (Newman 2006, eq. 2):
    the share of the edges' weight inside clusters, less the share expected of
    clusters of the same degrees.  Measured on the layouts alone (3 seeds,
    ``benchmarks/NOTES.md``), the oversplits merged by modularity won on
    digits (ACC 0.882 -> 0.958), MNIST-5k (0.815 -> 0.894) and Letter (0.341
    -> 0.359).  But at a fixed number of clusters modularity prefers clusters
    of equal degree: it splits a cluster of three quarters of the rows and
    merges small ones to pay for it, even where the graph separates them
    (0.40 ACC on seven separate Gaussian blobs of 15 to 7,800 rows).  So
    candidates with two clusters as linked as two pieces of one (a link ratio,
    see :func:`max_link_ratio`, above ``SEPARATE_LINK_RATIO``, the bar of
    ``n_clusters="auto"``) are passed over where another candidate has none:
    the blobs then reach 0.83, letter-imbalanced 0.282 instead of 0.238 and
    Letter 0.373 instead of 0.363, and digits, MNIST-5k and BBC keep the same
    partition (``benchmarks/NOTES.md``, session 20).  Over both, a candidate
    along which the graph falls apart is taken (:func:`best_partition`): the
    blobs then reach 1.00 on every seed, and no real dev set has such a
    candidate (session 22).

    Returns
    -------
    responsibility : ndarray of shape (n_rows, n_clusters)
    """
    n_rows, dim = embedding.shape
    component_parameters = dim + dim * (dim + 1) // 2  # a mean and a full covariance
    mixtures = [(1, MIXTURE_INITS)] + [
        (factor, OVERSPLIT_INITS)
        for factor in OVERSPLIT_FACTORS
        if n_clusters > 1 and factor * n_clusters * component_parameters <= n_rows
    ]
    candidates = []
    for factor, n_init in mixtures:
        mixture = GaussianMixture(
            factor * n_clusters, covariance_type="full", n_init=n_init, random_state=seed
        ).fit(embedding)
        responsibility = mixture.predict_proba(embedding)
        if factor == 1:
            candidates.append(responsibility)
            continue
        components = responsibility.argmax(axis=1)
        for criterion in MERGE_CRITERIA:
            cluster_of = merge_components(
                graph, components, responsibility.shape[1], n_clusters, criterion
            )
            merged = np.zeros((n_rows, n_clusters))
            np.add.at(merged.T, cluster_of, responsibility.T)
            candidates.append(merged)
    labels = [responsibility.argmax(axis=1) for responsibility in candidates]
    return candidates[best_partition(graph, labels, n_clusters)]


def best_partition(graph, partitions, n_clusters):
    """The index of the partition :func:`mixture_partition` keeps.

    In order: a partition along which the graph falls apart (every pair's
    link ratio at most ``DISCONNECTED_LINK_RATIO``, and at most
    ``DISCONNECTED_EDGE_SHARE`` of the edge weight between clusters); then
    one whose clusters are all separate (at most ``SEPARATE_LINK_RATIO``),
    where any is; then the highest modularity.  Modularity alone would cut
    a large part of a graph that falls apart to make its clusters' degrees
    more equal: on seven separate blobs of 15 to 7,800 rows it chose, on two
    seeds of three, a partition that cut the large blob along a link ratio
    of 0.27-0.29 (ACC 0.70 and 0.80) over one whose clusters share no more
    than 0.003 (ACC 1.00).  The share of the edges between clusters guards
    against a partition into a few large merged clusters and small clumps,
    whose pairs are also little linked for their degrees.

    Parameters
    ----------
    graph : sparse matrix of shape (n_rows, n_rows)
        The neighbour graph.
    partitions : list of ndarray of int of shape (n_rows,)
        The candidates' clusters, in ``[0, n_clusters)``.
    n_clusters : int
        Number of clusters.

    Returns
    -------
    index : int
    """
    scores = []  # (largest link ratio, share of the edges between clusters, modularity)
    for labelled in partitions:
        links = _cluster_links(graph, labelled, n_clusters)
        links /= links.sum()
        inside = np.trace(links)
        ratio = float(_link_ratios(links).max()) if n_clusters > 1 else 0.0
        scores.append((ratio, 1.0 - inside, inside - np.sum(links.sum(axis=1) ** 2)))
    any_separate = min(ratio for ratio, _, _ in scores) <= SEPARATE_LINK_RATIO
    quality = [
        (
            ratio <= DISCONNECTED_LINK_RATIO and between <= DISCONNECTED_EDGE_SHARE,
            ratio <= SEPARATE_LINK_RATIO or not any_separate,
            value,
        )
        for ratio, between, value in scores
    ]
    return max(range(len(partitions)), key=quality.__getitem__)


def _cluster_links(graph, labels, n_labels):
    """The total edge weight between (and, on the diagonal, within) each pair of labels."""
    member = sp.csr_matrix(
        (np.ones(labels.shape[0]), (np.arange(labels.shape[0]), labels)),
        shape=(labels.shape[0], n_labels),
    )
    return (member.T @ graph.tocsr() @ member).toarray()


def modularity(graph, labels, n_labels):
    """Newman's modularity of the partition ``labels`` of the weighted ``graph``."""
    links = _cluster_links(graph, labels, n_labels)
    total = links.sum()
    return float(np.trace(links) / total - np.sum((links.sum(axis=1) / total) ** 2))


def _link_ratios(links):
    """Each pair's edge weight over the product of their degrees (``links`` summing to 1).

    The weight expected between two groups of these degrees is that product
    (the null model of Newman's modularity, 2006, eq. 2): a ratio near 1 says
    the graph does not tell the pair apart, one near 0 that they are separate.
    """
    degree = links.sum(axis=1)
    ratio = links / np.maximum(np.outer(degree, degree), 1e-300)
    np.fill_diagonal(ratio, -np.inf)
    return ratio


def max_link_ratio(graph, labels, n_labels):
    """The largest link ratio between two clusters of the partition ``labels``.

    Two halves of one Gaussian blob have a ratio of 0.63-0.67 and separate
    classes one of 0.00-0.25 (``benchmarks/n_clusters.py``): a partition with
    a pair above ``SEPARATE_LINK_RATIO`` cuts a cluster in two somewhere.
    """
    if n_labels < 2:
        return 0.0
    links = _cluster_links(graph, labels, n_labels)
    return float(_link_ratios(links / links.sum()).max())


def _modularity_gains(links):
    """What merging each pair of groups adds to the modularity (``links`` summing to 1)."""
    degree = links.sum(axis=1)
    gain = 2 * (links - np.outer(degree, degree))
    np.fill_diagonal(gain, -np.inf)
    return gain


#: How ``merge_components`` may score a merge: the modularity it adds
#: (Clauset, Newman and Moore 2004), which favours groups of equal degree, or
#: the pair's link ratio, which does not.
MERGE_CRITERIA = {"modularity": _modularity_gains, "link_ratio": _link_ratios}


def merge_components(graph, components, n_components, n_clusters, criterion="modularity"):
    """Greedily merge mixture components to ``n_clusters`` clusters along ``graph``.

    Each step merges the two groups that score highest under ``criterion``:
    with ``"modularity"``, the pair whose union raises the graph's modularity
    most (or lowers it least), the agglomeration of Clauset, Newman and Moore
    (2004), started from the components instead of single rows; with
    ``"link_ratio"``, the pair most linked for their degrees.  Either way,
    pieces of one class share many edges and are merged first, while two
    classes, however near in the layout, share few.  Pairs tied (pairs with no
    edge between them) merge the smallest first.

    Parameters
    ----------
    graph : sparse matrix of shape (n_rows, n_rows)
        Symmetric edge weights.
    components : ndarray of shape (n_rows,)
        Each row's component, in ``[0, n_components)``.
    n_components : int
        How many components there are, including any no row falls in.
    n_clusters : int
        Groups to end with.
    criterion : {"modularity", "link_ratio"}, default="modularity"
        The score of a merge (:data:`MERGE_CRITERIA`).

    Returns
    -------
    cluster_of : ndarray of shape (n_components,)
        The cluster, in ``[0, n_clusters)``, each component is merged into.
    """
    score = MERGE_CRITERIA[criterion]
    links = _cluster_links(graph, components, n_components)
    links /= links.sum()
    sizes = np.bincount(components, minlength=n_components)
    group = np.arange(n_components)  # the representative each component is merged into
    alive = list(range(n_components))
    while len(alive) > n_clusters:
        keep, absorbed = _best_merge(score(links[np.ix_(alive, alive)]), sizes[alive], alive)
        links[keep] += links[absorbed]
        links[:, keep] += links[:, absorbed]
        sizes[keep] += sizes[absorbed]
        group[group == absorbed] = keep
        alive.remove(absorbed)
    return np.searchsorted(np.array(alive), group)


def _best_merge(scores, sizes, alive):
    """The pair ``(keep, absorbed)`` of ``alive`` groups scoring highest; of ties, the smallest."""
    tied = np.argwhere(scores >= scores.max())
    first, second = tied[np.argmin(sizes[tied[:, 0]] + sizes[tied[:, 1]])]
    return alive[first], alive[second]


def layout_epochs(n_rows):
    """The layout's length for ``n_rows`` rows: UMAP's 500 for small inputs, 200 above."""
    return N_EPOCHS_SMALL if n_rows <= SMALL_INPUT_ROWS else N_EPOCHS_LARGE


def fuzzy_neighbor_graph(X, n_neighbors):
    """UMAP's fuzzy union of the rows' neighbourhoods (McInnes et al. 2018, sec. 3.1).

    Row i's membership of its neighbour j is ``exp(-(d_ij - rho_i) / sigma_i)``
    with ``rho_i`` the distance to its nearest neighbour and ``sigma_i`` set
    so the memberships sum to ``log2(n_neighbors)``; the graph is their
    probabilistic union ``W + W^T - W * W^T``.

    Returns
    -------
    graph : scipy.sparse.coo_matrix of shape (n_rows, n_rows)
    """
    n_rows = X.shape[0]
    distances, neighbors = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(X).kneighbors(X)
    # Drop each row itself (duplicated rows may swap places with it: harmless).
    distances, neighbors = distances[:, 1:], neighbors[:, 1:]
    excess = np.maximum(distances - distances[:, :1], 0.0)
    target = np.log2(n_neighbors)
    low, high = np.zeros(n_rows), np.full(n_rows, np.inf)
    sigma = np.ones(n_rows)
    for _ in range(64):  # bisection on all rows at once
        too_wide = np.exp(-excess / sigma[:, None]).sum(axis=1) > target
        high = np.where(too_wide, sigma, high)
        low = np.where(too_wide, low, sigma)
        sigma = np.where(np.isinf(high), 2 * sigma, (low + high) / 2)
    # A row whose neighbours all sit at the same distance has no scale to fit.
    sigma = np.maximum(sigma, 1e-3 * max(float(distances.mean()), 1e-12))
    memberships = np.exp(-excess / sigma[:, None])
    graph = sp.csr_matrix(
        (memberships.ravel(), (np.repeat(np.arange(n_rows), n_neighbors), neighbors.ravel())),
        shape=(n_rows, n_rows),
    )
    transpose = graph.T.tocsr()
    return (graph + transpose - graph.multiply(transpose)).tocoo()


#: Up to this many rows a disconnected graph's spectral start is computed exactly
#: (a dense eigendecomposition, about a second at this size).
DENSE_SPECTRUM_ROWS = 2000


def spectral_start(graph, n_components, random):
    """The leading non-trivial eigenvectors of the normalised graph, scaled as UMAP does.

    The top eigenvectors of ``D^-1/2 W D^-1/2`` are the bottom ones of the
    normalised Laplacian, and Lanczos finds top ones quickly.
    """
    n_rows = graph.shape[0]
    degree = np.asarray(graph.sum(axis=1)).ravel()
    scale = sp.diags(1.0 / np.sqrt(np.maximum(degree, 1e-12)))
    adjacency = (scale @ graph.tocsr() @ scale).astype(np.float64)
    k = n_components + 1
    try:
        # Each connected component adds a copy of the top eigenvalue 1, and
        # Lanczos finds one copy of a repeated eigenvalue: the directions that
        # tell the components apart would be lost (a graph of three separate
        # blobs started with two of them overlapping), so a small disconnected
        # graph takes the exact eigenvectors.
        if n_rows <= 4 * k or (
            n_rows <= DENSE_SPECTRUM_ROWS and connected_components(graph, directed=False)[0] > 1
        ):
            values, vectors = np.linalg.eigh(adjacency.toarray())
        else:
            values, vectors = eigsh(
                adjacency, k=k, which="LA", tol=1e-4, v0=random.uniform(-1, 1, n_rows)
            )
        start = vectors[:, np.argsort(-values)[1:k]]
    except (ArpackError, np.linalg.LinAlgError):
        start = random.normal(size=(n_rows, n_components))
    start = 10.0 * start / max(np.abs(start).max(), 1e-12)
    return start + random.normal(scale=1e-4, size=start.shape)


def optimize_layout(graph, n_components, n_epochs, seed):
    """Minimise UMAP's cross-entropy by sequential, per-edge SGD (McInnes et al. 2018, sec. 3.2).

    UMAP's own schedule, which umap-learn implements: edges whose membership
    is below ``1 / n_epochs`` of the largest are dropped; each remaining edge
    is sampled once every ``max / membership`` epochs; a sampled edge pulls
    its two ends together and pushes its head away from ``NEGATIVE_SAMPLES``
    random rows, one edge after another, each step seeing the rows where the
    last one left them.  The step size decays linearly to zero and each
    gradient is clipped at 4.  The start is the spectral layout of the pruned
    graph with each dimension rescaled to [0, 10].

    Every edge's updates computed from the same positions and summed (a
    full-batch step, as this layout took before) left MNIST-5k's start at
    0.84-0.86 ACC on five layout seeds of six; these sequential steps reach
    0.91-0.92 on 15 layouts of 18 (``benchmarks/NOTES.md``, session 15).
    They run on the CPU, whatever the fit's device.

    Returns
    -------
    embedding : ndarray of shape (n_rows, n_components)
    """
    random = np.random.default_rng(seed)
    kept = graph.data >= graph.data.max() / n_epochs
    head, tail = graph.row[kept].astype(np.int64), graph.col[kept].astype(np.int64)
    membership = graph.data[kept]
    pruned = sp.coo_matrix((membership, (head, tail)), shape=graph.shape)
    start = spectral_start(pruned, n_components, random)
    low, high = start.min(axis=0), start.max(axis=0)
    embedding = np.ascontiguousarray(
        10.0 * (start - low) / np.maximum(high - low, 1e-12), dtype=np.float32
    )
    # Edge e is sampled at epochs period[e], 2 period[e], ...: in proportion to its membership.
    period = membership.max() / membership
    next_epoch = period.copy()
    n_rows = embedding.shape[0]
    for epoch in range(n_epochs):
        due = np.flatnonzero(next_epoch <= epoch + 1)
        next_epoch[due] += period[due]
        others = random.integers(n_rows, size=(due.shape[0], NEGATIVE_SAMPLES))
        _sgd_epoch(
            embedding, head[due], tail[due], others, 1.0 - epoch / n_epochs, CURVE_A, CURVE_B
        )
    return embedding.astype(np.float64)


@numba.njit(fastmath=True, cache=True)
def _sgd_epoch(embedding, heads, tails, others, step, a, b):
    """One epoch of :func:`optimize_layout`'s updates, in place, edge by edge (float32)."""
    dim = embedding.shape[1]
    step, a, b = np.float32(step), np.float32(a), np.float32(b)
    for edge in range(heads.shape[0]):
        j, k = heads[edge], tails[edge]
        # Attraction: the gradient of -log(1 / (1 + a d^2b)) in the head's position.
        d2 = np.float32(0.0)
        for d in range(dim):
            d2 += (embedding[j, d] - embedding[k, d]) ** 2
        if d2 > 0.0:
            d2b = d2**b
            coefficient = np.float32(-2.0) * a * b * (d2b / d2) / (np.float32(1.0) + a * d2b)
            for d in range(dim):
                pull = coefficient * (embedding[j, d] - embedding[k, d])
                pull = min(max(pull, np.float32(-4.0)), np.float32(4.0)) * step
                embedding[j, d] += pull
                embedding[k, d] -= pull
        # Repulsion: the gradient of -log(1 - 1 / (1 + a d^2b)); 1e-3 keeps it finite at d = 0.
        for sample in range(others.shape[1]):
            other = others[edge, sample]
            d2 = np.float32(0.0)
            for d in range(dim):
                d2 += (embedding[j, d] - embedding[other, d]) ** 2
            if d2 > 0.0:
                coefficient = (
                    np.float32(2.0) * b / ((np.float32(1e-3) + d2) * (np.float32(1.0) + a * d2**b))
                )
                for d in range(dim):
                    push = coefficient * (embedding[j, d] - embedding[other, d])
                    push = min(max(push, np.float32(-4.0)), np.float32(4.0)) * step
                    embedding[j, d] += push


def count_clusters(X, rows, max_clusters, seed, return_layout=False):
    """How many clusters the neighbour graph of ``X[rows]`` holds: ``n_clusters="auto"``.

    The rows (a sample of at most ``COUNT_ROWS``) get the fuzzy neighbour
    graph of the initialisation and ``COUNT_LAYOUTS`` layouts of it.  Each
    layout is cut by k-means into many small pieces, which are merged two at
    a time along the graph (see :func:`_merge_by_link_ratio`), the pair most
    linked first.  Each merge has
    a link ratio: the edge weight between the pair over the weight expected
    between groups of their degrees (the null model of Newman's modularity,
    2006, eq. 2).  It is high while pieces of one cluster meet and low once
    only separate clusters are left, whatever their sizes; the number found is
    the largest whose split has a ratio, averaged over the layouts, of at most
    ``SEPARATE_LINK_RATIO``, among partitions whose groups all hold at least
    ``MIN_CLUSTER_SHARE`` of the rows (on average over the layouts).
    (Modularity itself was measured too: its maximum kept splitting, 13
    clusters for 5 news topics, and its gains per split, judged against a
    cluster of average size, split the largest of four blobs of unequal
    sizes and missed the smallest of seven.)

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        All rows, in the coordinates they are compared in.
    rows : ndarray of int
        The training rows to draw from.
    max_clusters : int
        The largest number of clusters to consider.
    seed : int
        Seeds the sample, the layouts and the pieces.
    return_layout : bool, default=False
        Also return the graph and the first layout, which are those
        :func:`manifold_clusters` makes of the same rows at the same seed.

    Returns
    -------
    n_clusters : int
        The number found, in ``[1, max_clusters]``.
    search : dict of ndarray
        For each candidate number of clusters K (``"n_clusters"``, from 1),
        the mean over the layouts of the graph's modularity with K clusters
        (``"modularity"``) and of the link ratio of the split that made the
        K-th (``"link_ratio"``, NaN for K = 1): the curves to plot.
    layout : Layout or None
        Only with ``return_layout``: the rows laid out, the seed, the graph
        and the first layout (None when there were too few rows for one).
    """
    random = np.random.default_rng(seed)
    if rows.shape[0] > COUNT_ROWS:
        rows = np.sort(random.choice(rows, COUNT_ROWS, replace=False))
    n_rows = rows.shape[0]
    n_pieces = min(2 * max_clusters, n_rows // ROWS_PER_PIECE)
    if n_pieces < 2:
        search = {
            "n_clusters": np.ones(1, dtype=int),
            "modularity": np.zeros(1),
            "link_ratio": np.full(1, np.nan),
        }
        return (1, search, None) if return_layout else (1, search)
    points = X[rows].astype(np.float64)
    graph = fuzzy_neighbor_graph(points, min(N_NEIGHBORS, n_rows - 1))
    layout_seeds = [seed] + [
        int(child.generate_state(1)[0])
        for child in np.random.SeedSequence(seed).spawn(COUNT_LAYOUTS - 1)
    ]
    min_rows = MIN_CLUSTER_SHARE * n_rows
    curves, layout = [], None
    for layout_seed in layout_seeds:
        embedding = optimize_layout(
            graph, min(N_COMPONENTS, n_rows - 2), layout_epochs(n_rows), layout_seed
        )
        if layout is None:
            layout = Layout(rows, seed, graph, embedding)
        pieces = KMeans(n_pieces, n_init=1, random_state=layout_seed).fit_predict(embedding)
        curves.append(_merge_by_link_ratio(graph, pieces, n_pieces))
    # Candidates every layout reached (k-means may leave a piece empty).
    n_candidates = min(max_clusters, *(curve[0].shape[0] for curve in curves))
    modularity_curve, ratio_curve, smallest = (
        np.mean([curve[part][:n_candidates] for curve in curves], axis=0) for part in range(3)
    )
    candidates = np.arange(1, n_candidates + 1)
    # NaN at K = 1 is not below the bar.
    separate = np.flatnonzero((ratio_curve <= SEPARATE_LINK_RATIO) & (smallest >= min_rows))
    n_clusters = int(candidates[separate[-1]]) if separate.size else 1
    search = {"n_clusters": candidates, "modularity": modularity_curve, "link_ratio": ratio_curve}
    return (n_clusters, search, layout) if return_layout else (n_clusters, search)


def _merge_by_link_ratio(graph, pieces, n_pieces):
    """Merge the pieces of a partition two at a time, the pair most linked for its degrees first.

    The link ratio of two groups is the edge weight between them over the
    product of their degrees (the graph's total weight being 1).  Pairs tied
    on it (pairs with no edge at all between them) merge the smallest first.

    Returns
    -------
    modularity : ndarray of shape (n_levels,)
        Newman's modularity of the partition into ``K`` groups at ``K - 1``.
    link_ratio : ndarray of shape (n_levels,)
        At ``K - 1``, the link ratio of the merge from ``K`` groups to
        ``K - 1``: of the split that made the ``K``-th group (NaN at ``K = 1``).
    smallest : ndarray of shape (n_levels,)
        At ``K - 1``, the rows of the smallest of the ``K`` groups.
    """
    links = _cluster_links(graph, pieces, n_pieces)
    links /= links.sum()
    sizes = np.bincount(pieces, minlength=n_pieces)
    alive = list(np.flatnonzero(sizes))  # a piece k-means left empty is no group
    n_levels = len(alive)
    modularity, link_ratio = np.zeros(n_levels), np.full(n_levels, np.nan)
    smallest = np.zeros(n_levels)
    while True:
        between = links[np.ix_(alive, alive)]
        degree = between.sum(axis=1)
        level = len(alive) - 1
        modularity[level] = np.trace(between) - np.sum(degree**2)
        smallest[level] = sizes[alive].min()
        if len(alive) == 1:
            return modularity, link_ratio, smallest
        ratio = _link_ratios(between)
        keep, absorbed = _best_merge(ratio, sizes[alive], alive)
        link_ratio[level] = ratio[alive.index(keep), alive.index(absorbed)]
        links[keep] += links[absorbed]
        links[:, keep] += links[:, absorbed]
        sizes[keep] += sizes[absorbed]
        alive.remove(absorbed)
