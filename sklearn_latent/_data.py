"""Training rows as the loop sees them: where they live, how batches are cut, and neighbours.

Dense arrays (memmaps included) are used in place on the CPU and copied to an
accelerator once per fit; sparse CSR matrices stay on the host and only each
batch is densified.  Neither path ever makes a dense copy of the whole input.
"""

import warnings
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import torch
from sklearn import config_context
from sklearn.decomposition import TruncatedSVD
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import normalize

#: Up to this many training rows, neighbours are found by exact search; above it,
#: by approximate search (see nearest_neighbors).
EXACT_NEIGHBORS_MAX_ROWS = 20_000
#: Inputs wider than this are searched for neighbours on their top singular
#: directions, not on the raw features (see neighbor_space) ...
PROJECTION_MIN_FEATURES = 100
#: ... this many of them ...
PROJECTION_DIM = 50
#: ... fitted on this many training rows drawn at random.
PROJECTION_FIT_ROWS = 5_000
#: Memory (MiB) of one chunk of the distance matrix during the search.
SEARCH_WORKING_MEMORY_MB = 64
#: Rows per chunk when a large input is read piecewise.
CHUNK_ROWS = 4096


class TrainingBatch(NamedTuple):
    """What one training step sees.

    rows : tensor of shape (batch_size, n_features)
        A mini-batch of training rows.
    neighbors : tensor of shape (batch_size, n_features) or None
        For each row, one of its ``n_neighbors`` nearest training rows drawn at
        random; None when the model does not use neighbours.
    labeled_rows : tensor of shape (batch_size, n_features) or None
        As many labelled training rows, drawn at random with replacement; None
        when ``fit`` got no labels.
    labels : tensor of shape (batch_size,) or None
        Their labels, i.e. the clusters they must fall in.
    anchors : tensor of shape (batch_size,) or None
        For each of ``rows``, the cluster the manifold initialisation anchors
        it to, or -1; None without that initialisation.
    indices : tensor of shape (batch_size,)
        The positions of ``rows`` in the training data, on the training
        device: the key to any per-row state a model keeps across steps
        (e.g. a target distribution refreshed each epoch).
    cluster_shares : tensor of shape (n_clusters,) or None
        The share of the rows each cluster holds in the manifold start, the
        same tensor in every batch: the balance term's target.  None
        without that initialisation (the target is then uniform).
    """

    rows: torch.Tensor
    neighbors: torch.Tensor | None = None
    labeled_rows: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    anchors: torch.Tensor | None = None
    indices: torch.Tensor | None = None
    cluster_shares: torch.Tensor | None = None


# Where a NumPy array starts depends on what the process allocated and freed
# before (glibc moves its mmap threshold after large frees), and vectorised CPU
# kernels add up differently on data that does not start on a 64-byte boundary:
# the same rows at another address gave outputs differing in the last bit.
# Torch's allocator aligns every buffer to 64 bytes, so arithmetic reads copies.
ALIGNMENT_BYTES = 64


def aligned(tensor):
    """``tensor``, or a copy of it in torch's own memory if it starts off a 64-byte boundary."""
    return tensor.clone() if tensor.data_ptr() % ALIGNMENT_BYTES else tensor


def as_tensor(array, device, share_memory=False):
    """A dense ``array`` as a tensor on ``device``, ready for arithmetic.

    On the CPU the tensor shares the array's memory where it starts on a
    64-byte boundary (see ``ALIGNMENT_BYTES``) and is a copy otherwise;
    ``share_memory=True`` always shares it, for rows that are only gathered
    from, never computed on in place (a memmap then stays uncopied).
    """
    if sp.issparse(array):
        array = array.toarray()
    elif any(stride < 0 for stride in array.strides):
        array = np.ascontiguousarray(array)  # e.g. X[:, ::-1]: torch takes no negative strides
    if array.flags.writeable:
        # No catch_warnings here: it swaps the process-wide warning filters,
        # which a fit or prediction in another thread may be using.
        tensor = torch.as_tensor(array, device=device)
    else:
        with warnings.catch_warnings():
            # Read-only inputs (pandas, read-only memmaps) are fine: nothing writes into them.
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            tensor = torch.as_tensor(array, device=device)
    return tensor if share_memory else aligned(tensor)


def _to_device(tensor, device):
    """Copy a host tensor to ``device`` without making the host wait for a GPU.

    From page-locked memory the copy is asynchronous; torch keeps the pinned
    buffer alive until the copy is done.
    """
    if device.type != "cuda":
        return tensor.to(device)
    return tensor.pin_memory().to(device, non_blocking=True)


def take_rows(X, rows):
    """``X[rows]`` as a dense float32 array, for dense and sparse ``X``."""
    chunk = X[rows]
    return chunk.toarray() if sp.issparse(chunk) else chunk


def make_row_source(X, neighbors, labeled, device, anchors=None, cluster_shares=None):
    """The :class:`DeviceRows` or :class:`HostRows` serving batches of ``X``.

    ``neighbors`` (indices into ``X``, one row per row of ``X`` that is
    trained on, or None) comes from :func:`nearest_neighbors`; ``labeled``
    is None or a pair of arrays: the indices of labelled rows and their labels;
    ``anchors`` is None or one cluster per row of ``X`` (-1 for none);
    ``cluster_shares`` is None or the balance term's target, one share per
    cluster, copied to ``device`` once.
    """
    source = HostRows if sp.issparse(X) else DeviceRows
    row_source = source(X, neighbors, labeled, anchors, device)
    row_source.cluster_shares = (
        None
        if cluster_shares is None
        else torch.as_tensor(cluster_shares, dtype=torch.float32, device=device)
    )
    return row_source


class _RowSource:
    """Cuts an epoch's batches; subclasses say where rows live and how they are drawn."""

    #: The balance term's target on the device, or None (set by :func:`make_row_source`).
    cluster_shares = None

    def batches(self, order, n_batches, random):
        """Yield ``n_batches`` :class:`TrainingBatch` es over the row indices ``order``."""
        for indices in self._split(order, n_batches):
            batch = TrainingBatch(
                self._gather(indices),
                indices=self._indices(indices),
                cluster_shares=self.cluster_shares,
            )
            if self.neighbors is not None:
                pick = self._randint(self.neighbors.shape[1], indices.shape[0], random)
                batch = batch._replace(neighbors=self._gather(self.neighbors[indices, pick]))
            if self.labeled_rows is not None:
                pick = self._randint(self.labeled_rows.shape[0], indices.shape[0], random)
                batch = batch._replace(
                    labeled_rows=self._gather(self.labeled_rows[pick]),
                    labels=self._labels(pick),
                )
            if self.anchors is not None:
                batch = batch._replace(anchors=self._anchors(indices))
            yield batch


class DeviceRows(_RowSource):
    """Dense rows kept on the training device for the whole fit.

    On the CPU the tensor shares the input's memory (no copy, memmaps
    included); on an accelerator the rows are copied there once, so an epoch
    needs no host transfer and no host synchronisation.
    """

    def __init__(self, X, neighbors, labeled, anchors, device):
        self.device = device
        self.data = as_tensor(X, device, share_memory=True)
        self.neighbors = None if neighbors is None else as_tensor(neighbors, device)
        self.labeled_rows, self.labels = (
            (None, None) if labeled is None else (as_tensor(part, device) for part in labeled)
        )
        self.anchors = None if anchors is None else as_tensor(anchors, device)

    def _split(self, order, n_batches):
        return torch.tensor_split(_to_device(torch.from_numpy(order), self.device), n_batches)

    def _gather(self, indices):
        return self.data[indices]

    def _indices(self, indices):
        return indices

    def _randint(self, high, size, random):
        return random.randint(high, (size,), self.device)

    def _labels(self, pick):
        return self.labels[pick]

    def _anchors(self, indices):
        return self.anchors[indices]


class HostRows(_RowSource):
    """Sparse rows kept on the host; each batch is densified and sent to the device."""

    def __init__(self, X, neighbors, labeled, anchors, device):
        self.device = device
        self.data = X
        self.neighbors = neighbors
        self.labeled_rows, self.labels = (None, None) if labeled is None else labeled
        self.anchors = anchors

    def _split(self, order, n_batches):
        return np.array_split(order, n_batches)

    def _gather(self, indices):
        return _to_device(aligned(torch.from_numpy(take_rows(self.data, indices))), self.device)

    def _randint(self, high, size, random):
        return random.numpy.integers(high, size=size)

    def _labels(self, pick):
        return _to_device(torch.from_numpy(self.labels[pick]), self.device)

    def _anchors(self, indices):
        return _to_device(torch.from_numpy(self.anchors[indices]), self.device)

    def _indices(self, indices):
        return _to_device(torch.from_numpy(indices), self.device)


def resolve_metric(metric, X):
    """The geometry rows are compared in: ``metric``, with ``"auto"`` resolved from ``X``.

    ``"auto"`` is ``"cosine"`` for a sparse matrix without negative entries --
    term counts or TF-IDF weights, whose documents are alike when their terms
    are, whatever their lengths -- and ``"euclidean"`` for everything else.
    """
    if metric != "auto":
        return metric
    if sp.issparse(X) and (X.nnz == 0 or X.data.min() >= 0):
        return "cosine"
    return "euclidean"


#: The neighbour term's weight that ``consistency_weight="auto"`` takes for rows
#: compared by distance; rows compared by angle take 0 (see
#: :func:`resolve_consistency_weight`).
NEIGHBOR_TERM_WEIGHT = 10.0


def resolve_consistency_weight(consistency_weight, metric):
    """``consistency_weight``, with ``"auto"`` resolved for the geometry ``metric``.

    Rows compared by angle (documents) start from clusters their centroids
    refined (:func:`~sklearn_latent._manifold.refine_by_centroids`), which
    move a few rows against their graph neighbours, and the neighbour term
    would pull them back: on the BBC articles (seeds 0-2) ClusterGAN reached
    ACC 0.964 and GMVAE 0.957 with a weight of 10, 0.969 both without
    (``benchmarks/NOTES.md``, session 16).  So ``"auto"`` is 0 for
    ``"cosine"`` and :data:`NEIGHBOR_TERM_WEIGHT` otherwise.
    """
    if consistency_weight != "auto":
        return consistency_weight
    return 0.0 if metric == "cosine" else NEIGHBOR_TERM_WEIGHT


def neighbor_space(X, rows, seed, metric="euclidean"):
    """The coordinates in which rows are compared to find their neighbours.

    With ``metric="cosine"`` rows are scaled to unit length, so that their
    Euclidean distances, ``sqrt(2 - 2 cos)``, order neighbours by angle, and
    a sparse input stays sparse and is not projected: on the 1,249 BBC
    articles (TF-IDF of 2,000 terms) the layout's clusters of the unit rows
    reached ACC 0.949 on three seeds of three, those of their top 50
    singular directions 0.741-0.952 (``benchmarks/NOTES.md``).  A dense
    input is projected as below and its projections scaled to unit length
    again, as latent semantic analysis does.

    Otherwise (``"euclidean"``) exact neighbour search costs ``n_rows^2 *
    n_features``: on 20,000 images of 3,072 pixels, a minute of one core for
    the search alone.  Inputs wider than :data:`PROJECTION_MIN_FEATURES` are
    therefore projected onto the top
    :data:`PROJECTION_DIM` singular directions of the training rows, as UMAP
    users do with PCA before the graph.  Measured on MNIST-5k
    (``benchmarks/NOTES.md``), this keeps more of a row's 10 nearest rows in its
    class than the raw pixels do (0.897 against 0.882).

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        All rows.
    rows : ndarray of int
        The training rows; the projection is fitted on (a sample of) them.
    seed : int
        Seeds the sample and the randomised SVD.
    metric : {"euclidean", "cosine"}, default="euclidean"
        The geometry, resolved (:func:`resolve_metric`).

    Returns
    -------
    points : {ndarray, sparse matrix} of shape (n_samples, n_coordinates)
        ``X`` itself when it is narrow enough, else every row projected, as
        float64 (squared distances of huge values would overflow float32);
        with ``"cosine"``, rows of unit length (all-zero rows stay zero).
    """
    if metric != "cosine":
        return _project(X, rows, seed)
    if sp.issparse(X):
        return normalize(X)
    if X.shape[1] > PROJECTION_MIN_FEATURES:
        return normalize(_project(X, rows, seed, prepare=_unit_rows), copy=False)
    return np.concatenate(
        [_unit_rows(X[start : start + CHUNK_ROWS]) for start in range(0, X.shape[0], CHUNK_ROWS)]
    )


def _unit_rows(chunk):
    """A chunk of dense rows as float64 rows of unit length (zero rows stay zero)."""
    return normalize(chunk.astype(np.float64))


def _project(X, rows, seed, prepare=None):
    """Rows wider than :data:`PROJECTION_MIN_FEATURES` on their top singular directions.

    ``prepare`` maps a float64 chunk of rows before it is projected (or fitted on).
    """
    if X.shape[1] <= PROJECTION_MIN_FEATURES:
        return X
    prepare = prepare or (lambda chunk: chunk)
    random = np.random.default_rng(seed)
    fit_rows = np.sort(random.choice(rows, min(PROJECTION_FIT_ROWS, rows.shape[0]), False))
    projector = TruncatedSVD(
        min(PROJECTION_DIM, fit_rows.shape[0] - 1),
        random_state=int(random.integers(np.iinfo(np.int32).max)),
    )
    # Constant rows make the explained-variance ratio, which is not used, 0 / 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        projector.fit(prepare(X[fit_rows].astype(np.float64)))
    # In chunks: neither a dense copy of a sparse input nor all of a memmap in memory.
    return np.concatenate(
        [
            projector.transform(prepare(X[start : start + CHUNK_ROWS].astype(np.float64)))
            for start in range(0, X.shape[0], CHUNK_ROWS)
        ]
    )


def nearest_neighbors(X, rows, n_neighbors, seed):
    """Each training row's nearest other training rows, as indices into ``X``.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        All rows, in the coordinates they are compared in (:func:`neighbor_space`).
    rows : ndarray of shape (n_rows,)
        Indices of the training rows; neighbours are searched among them.
    n_neighbors : int
        Neighbours per row (fewer if there are fewer other rows).
    seed : int
        Seeds the approximate search of large inputs.

    Returns
    -------
    neighbors : ndarray of shape (n_samples, min(n_neighbors, n_rows - 1))
        Row ``r`` holds the indices into ``X`` of the neighbours of ``X[r]``,
        for each ``r`` in ``rows``; the other rows hold -1.

    Notes
    -----
    Up to :data:`EXACT_NEIGHBORS_MAX_ROWS` rows the search is exact (about a
    second on 20,000 rows of 50 coordinates).  Above, exact search costs
    O(n^2) time, so the neighbours are approximate, by NN-descent
    (:func:`_approximate_neighbors`), of wide sparse rows on their latent
    semantic coordinates (:func:`_latent_semantic_rows`).
    """
    n_neighbors = min(n_neighbors, rows.shape[0] - 1)
    points = X if rows.shape[0] == X.shape[0] else X[rows]
    if rows.shape[0] <= EXACT_NEIGHBORS_MAX_ROWS:
        # Bounded chunks of the distance matrix: memory stays flat on any input.
        with config_context(working_memory=SEARCH_WORKING_MEMORY_MB):
            index = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(points)
            # Column 0 is the row itself unless it has exact duplicates; either
            # way dropping it leaves rows at distance >= 0 that are its neighbours.
            found = index.kneighbors(points, return_distance=False)[:, 1:]
    else:
        if sp.issparse(points) and points.shape[1] > PROJECTION_MIN_FEATURES:
            points = _latent_semantic_rows(points, seed)
        found = _approximate_neighbors(points, n_neighbors, seed)
    neighbors = np.full((X.shape[0], n_neighbors), -1, dtype=np.int64)
    neighbors[rows] = rows[found]
    return neighbors


def _latent_semantic_rows(points, seed):
    """Sparse unit rows on their top singular directions, of unit length again (LSA).

    NN-descent compares sparse rows term by term: on a million synthetic
    documents of 5,000 terms it took 563 s of a 992 s fit
    (``benchmarks/scale.py million_sparse``).  Their projection on
    :data:`PROJECTION_DIM` singular directions, scaled to unit length so that
    distances still order rows by angle, is dense and narrow, as latent
    semantic analysis has compared documents since Deerwester et al. (1990).
    Only the approximate search above :data:`EXACT_NEIGHBORS_MAX_ROWS` rows
    uses it: the layout's exact graph of at most 10,000 sparse rows keeps the
    rows themselves, whose projection split the BBC articles' topics on one
    layout seed of three (``benchmarks/NOTES.md``, session 8).
    """
    projected = _project(points, np.arange(points.shape[0]), seed)
    return normalize(projected, copy=False).astype(np.float32)


def _approximate_neighbors(points, n_neighbors, seed):
    """Each row's approximate nearest other rows of ``points``, by NN-descent.

    NN-descent (Dong, Moses and Li, WWW 2011) as pynndescent implements it,
    the search umap-learn uses, on dense or sparse rows.  Measured on 100,000
    rows of 50 dimensions (``benchmarks/neighbors.py``), it found 72-97 % of
    the exact 15 nearest neighbours in 4-7 s, where each row's nearest among
    20,000 random rows (this library's search before it) were 20 % of them in
    9 s; on a million rows 44-91 % against 2 %, in 54-69 s against 88-130 s.
    """
    # Imported here: numba's import and first compilation (tens of seconds in a
    # fresh process) are paid only by inputs above the exact search's limit.
    from pynndescent import NNDescent

    threads = torch.get_num_threads()
    try:
        index = NNDescent(
            points,
            n_neighbors=n_neighbors + 1,
            random_state=seed,
            # The fit's threads are torch's (OMP_NUM_THREADS, torch.set_num_threads).
            n_jobs=threads,
        )
        found = index.neighbor_graph[0]
    finally:
        # pynndescent then sets numba's thread count back to numba's default (every
        # core, whatever OMP_NUM_THREADS says), and numba's OpenMP layer thereby
        # changes torch's: with OMP_NUM_THREADS=1, torch trained on 2 threads after.
        torch.set_num_threads(threads)
    # A row finds itself first unless it has duplicates: drop that match, else
    # the farthest of the k + 1.
    drop = found == np.arange(found.shape[0])[:, None]
    drop[~drop.any(axis=1), -1] = True
    return found[~drop].reshape(found.shape[0], n_neighbors)
