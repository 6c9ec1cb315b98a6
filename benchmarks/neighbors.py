"""Nearest neighbours at scale: recall, time and memory of the candidate searches.

Above 20,000 training rows the exact search of the recipe's neighbours costs
O(n^2).  Measured here, on rows with known clusters:

``pool``
    what the library did until session 11: each row's nearest among 20,000
    rows drawn at random (exact search within the pool).
``nndescent``
    what it does now: ``sklearn_latent._data.nearest_neighbors``, NN-descent by
    ``pynndescent.NNDescent`` (the search umap-learn uses) at its defaults; sparse
    rows of more than 100 terms on their top 50 singular directions scaled to
    unit length (LSA) since session 12.
``hnswlib``
    ``hnswlib.Index`` (HNSW, Malkov and Yashunin 2018), ``M=16``,
    ``ef_construction=100``, ``ef=50``; dense rows only.
``faiss-hnsw``
    ``faiss.IndexHNSWFlat`` with 32 links a node, ``efSearch=64``; dense rows only.

For each: the seconds to find 15 neighbours of every row (index built and
queried), the peak resident memory above the input, the recall of the exact
15 nearest neighbours on 1,000 rows drawn at random (the exact ones found by
brute force for those rows only), and the share of those rows' neighbours in
their own cluster, beside the exact neighbours' share (what the recipe's
consistency term needs).  Each search runs in a fresh process, so its peak
memory and any first-call compilation (numba's, for pynndescent, reported
separately) are its own.

The rows: ``blobs``, 20 Gaussian blobs (unit noise around centres drawn at
scale 0.6) in 50 dimensions; ``manifold``, 20 blobs (centres at scale 1.5) in
a 10-dimensional subspace of 50 dimensions, with noise of 0.3 in all 50,
nearer the structure of real data (the clusters touch in both); and
``documents``, ``scale.py``'s synthetic TF-IDF documents in 20 topics over
50,000 terms, a CSR matrix scaled to unit rows as ``metric="cosine"`` does.

With ``--fits``, the clusters each search leads to instead: default fits of
ClusterGAN and VaDE (seeds 0 and 1) with the neighbours of ``pool`` or
``nndescent`` on the synthetic rows (20 clusters), and with exact or
NN-descent neighbours on the real sets ``letter``, ``mnist5k`` and ``bbc``
of ``clustering.py`` (``--datasets``): ACC, NMI and fit seconds (numba's
first compilation done before the clock starts).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/neighbors.py --rows 100000
    OMP_NUM_THREADS=1 python benchmarks/neighbors.py --rows 1000000 --methods nndescent
    OMP_NUM_THREADS=1 python benchmarks/neighbors.py --fits --rows 100000 --datasets manifold
    OMP_NUM_THREADS=1 python benchmarks/neighbors.py --fits --datasets letter mnist5k bbc \
        --methods nndescent
"""

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

METHODS = ("pool", "nndescent", "hnswlib", "faiss-hnsw")
DATASETS = ("blobs", "manifold", "documents")
#: The pool the library searched within above 20,000 rows until session 11.
POOL_ROWS = 20_000
N_NEIGHBORS = 15
N_QUERIES = 1_000
#: Scales of the clusters' centres: clusters that touch, so that a worse
#: neighbour is more often in another cluster (exact 15-NN: 85-95 % in their own).
BLOB_SCALE, MANIFOLD_SCALE = 0.6, 1.5


def make_rows(name, n_rows, n_features=50, n_clusters=20, seed=0):
    """Rows of ``name`` and their cluster, the same for every process."""
    if name == "documents":
        from scale import synthetic_documents
        from sklearn.preprocessing import normalize

        X, truth = synthetic_documents(n_rows, 50_000, n_clusters, seed=seed)
        return normalize(X), truth
    random = np.random.default_rng(seed)
    truth = random.integers(n_clusters, size=n_rows)
    if name == "blobs":
        centers = random.normal(scale=BLOB_SCALE, size=(n_clusters, n_features))
        X = centers[truth] + random.normal(size=(n_rows, n_features))
    else:
        basis = np.linalg.qr(random.normal(size=(n_features, 10)))[0].T  # 10 x 50, orthonormal
        centers = random.normal(scale=MANIFOLD_SCALE, size=(n_clusters, 10))
        inside = centers[truth] + random.normal(size=(n_rows, 10))
        X = inside @ basis + random.normal(scale=0.3, size=(n_rows, n_features))
    return X.astype(np.float32), truth


def _status_kib(field):
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


def search(method, X, seed=0, n_neighbors=N_NEIGHBORS):
    """Each row's ``n_neighbors`` neighbours (not itself) by ``method``: their indices."""
    n_rows = X.shape[0]
    if method == "nndescent":
        from sklearn_latent._data import nearest_neighbors

        return nearest_neighbors(X, np.arange(n_rows), n_neighbors, seed)
    if method == "pool":
        from sklearn.neighbors import NearestNeighbors

        pool = np.sort(np.random.default_rng(seed).choice(n_rows, POOL_ROWS, replace=False))
        index = NearestNeighbors(n_neighbors=n_neighbors + 1, algorithm="brute").fit(X[pool])
        found = np.concatenate(
            [
                pool[index.kneighbors(X[start : start + 4096], return_distance=False)]
                for start in range(0, n_rows, 4096)
            ]
        )
    elif method == "hnswlib":
        import hnswlib

        index = hnswlib.Index(space="l2", dim=X.shape[1])
        index.init_index(max_elements=n_rows, M=16, ef_construction=100, random_seed=seed)
        index.set_num_threads(1)
        index.add_items(X)
        index.set_ef(50)
        found = index.knn_query(X, k=n_neighbors + 1)[0].astype(np.int64)
    elif method == "faiss-hnsw":
        import faiss

        faiss.omp_set_num_threads(1)
        index = faiss.IndexHNSWFlat(X.shape[1], 32)
        index.hnsw.efSearch = 64
        index.add(X)
        found = index.search(X, n_neighbors + 1)[1]
    else:
        raise ValueError(f"unknown method {method!r}; choose from {METHODS}")
    # Drop the row itself where it was found, else the farthest of the k + 1.
    drop = found == np.arange(n_rows)[:, None]
    drop[~drop.any(axis=1), -1] = True
    return found[~drop].reshape(n_rows, n_neighbors)


def exact_neighbors(X, queries):
    """The exact 15 nearest rows of ``X[queries]`` (brute force, in chunks)."""
    sparse = sp.issparse(X)
    norms = np.asarray(X.multiply(X).sum(axis=1)).ravel() if sparse else np.einsum("ij,ij->i", X, X)
    result = []
    for chunk in np.array_split(queries, max(1, len(queries) // 100)):
        products = X[chunk] @ X.T
        products = products.toarray() if sparse else products
        distances = norms[chunk, None] - 2 * products + norms[None, :]
        distances[np.arange(len(chunk)), chunk] = np.inf
        nearest = np.argpartition(distances, N_NEIGHBORS, axis=1)[:, :N_NEIGHBORS]
        result.append(nearest)
    return np.concatenate(result)


def run_one(method, dataset, n_rows):
    """In this process: one search, measured; prints one JSON line."""
    # Imported before the clock starts: torch's and scikit-learn's libraries are
    # not the search's memory.
    import sklearn.neighbors  # noqa: F401

    import sklearn_latent._data  # noqa: F401

    X, truth = make_rows(dataset, n_rows)
    compile_seconds = None
    if sp.issparse(X) and method in ("hnswlib", "faiss-hnsw"):
        raise ValueError(f"{method} searches dense rows only")
    if method == "nndescent":
        compile_seconds = compile_search(X)
    Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
    before = _status_kib("VmRSS")
    start = time.perf_counter()
    found = search(method, X)
    seconds = time.perf_counter() - start
    peak = (_status_kib("VmHWM") - before) / 1024
    queries = np.random.default_rng(1).choice(n_rows, N_QUERIES, replace=False)
    exact = exact_neighbors(X, queries)
    pairs = zip(found[queries], exact, strict=True)
    recall = np.mean([len(np.intersect1d(a, b)) / N_NEIGHBORS for a, b in pairs])
    same_cluster = float(np.mean(truth[found[queries]] == truth[queries, None]))
    print(
        json.dumps(
            {
                "method": method,
                "dataset": dataset,
                "rows": n_rows,
                "seconds": seconds,
                "peak_mib": peak,
                "recall": float(recall),
                "same_cluster": same_cluster,
                "exact_same_cluster": float(np.mean(truth[exact] == truth[queries, None])),
                "compile_seconds": compile_seconds,
            }
        ),
        flush=True,
    )


def compile_search(X):
    """Run the library's approximate search once on 2,000 rows of ``X``: numba compiles.

    The exact-search limit is lowered for it, so that what numba compiles is
    what the timed search runs (dense kernels for the LSA of sparse rows too).
    Returns the seconds it took.
    """
    from sklearn_latent import _data

    limit, _data.EXACT_NEIGHBORS_MAX_ROWS = _data.EXACT_NEIGHBORS_MAX_ROWS, 0
    n_rows = min(2000, X.shape[0])
    start = time.perf_counter()
    try:
        _data.nearest_neighbors(X[:n_rows], np.arange(n_rows), N_NEIGHBORS, 0)
    finally:
        _data.EXACT_NEIGHBORS_MAX_ROWS = limit
    return time.perf_counter() - start


def _pool_search(points, n_neighbors, seed):
    """The pool search in the place of the library's ``_approximate_neighbors``."""
    return search("pool", points, seed, n_neighbors)


#: Real sets (``clustering.py``'s), of at most 20,000 rows: their neighbours are
#: exact by default, and NN-descent's when ``fits`` lowers the limit to 0.
REAL_DATASETS = ("letter", "mnist5k", "bbc")


def fits(dataset, n_rows, methods):
    """Default fits with each search's neighbours: ACC, NMI and seconds, as table rows.

    On the synthetic sets the searches compared are ``pool`` and ``nndescent``
    (``n_rows`` rows, 20 clusters); on a real set, ``exact`` (the library's
    default at its size) and ``nndescent`` (forced by an exact-search limit of 0).
    """
    from sklearn.metrics import normalized_mutual_info_score

    from sklearn_latent import ClusterGANClustering, VaDEClustering, _data
    from sklearn_latent.metrics import cluster_accuracy

    if dataset in REAL_DATASETS:
        from clustering import load

        X, truth = load(dataset)
        searches = [m for m in ("exact", "nndescent") if m in methods or m == "exact"]
    else:
        X, truth = make_rows(dataset, n_rows)
        searches = [m for m in ("pool", "nndescent") if m in methods]
    n_clusters = len(np.unique(truth))
    library_search, exact_limit = _data._approximate_neighbors, _data.EXACT_NEIGHBORS_MAX_ROWS
    print(f"(first NN-descent in this process: {compile_search(X):.0f} s)", flush=True)
    for method in searches:
        _data._approximate_neighbors = _pool_search if method == "pool" else library_search
        if dataset in REAL_DATASETS and method == "nndescent":
            _data.EXACT_NEIGHBORS_MAX_ROWS = 0
        for estimator in (ClusterGANClustering, VaDEClustering):
            for seed in (0, 1):
                start = time.perf_counter()
                labels = estimator(n_clusters=n_clusters, random_state=seed).fit(X).labels_
                print(
                    f"| {X.shape[0]:,} | {dataset} | {method} | {estimator.__name__} | {seed} | "
                    f"{cluster_accuracy(truth, labels):.3f} | "
                    f"{normalized_mutual_info_score(truth, labels):.3f} | "
                    f"{time.perf_counter() - start:.0f} |",
                    flush=True,
                )
        _data._approximate_neighbors, _data.EXACT_NEIGHBORS_MAX_ROWS = library_search, exact_limit


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--methods", nargs="+", choices=("exact", *METHODS), default=list(METHODS))
    parser.add_argument(
        "--datasets", nargs="+", choices=DATASETS + REAL_DATASETS, default=list(DATASETS)
    )
    parser.add_argument(
        "--one", nargs=3, metavar=("METHOD", "DATASET", "ROWS"), help=argparse.SUPPRESS
    )
    parser.add_argument("--fits", action="store_true", help="the clusters each search leads to")
    args = parser.parse_args()
    if args.fits:
        print("| rows | data | search | estimator | seed | ACC | NMI | fit s |")
        print("|---|---|---|---|---|---|---|---|")
        for n_rows in args.rows:
            for dataset in args.datasets:
                fits(dataset, n_rows, args.methods)
        return
    if args.one:
        method, dataset, n_rows = args.one
        run_one(method, dataset, int(n_rows))
        return
    print(
        "| rows | data | search | seconds | peak above input (MiB) | recall of exact 15-NN | "
        "neighbours in own cluster (exact) | first-call compile s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n_rows in args.rows:
        for dataset in args.datasets:
            for method in args.methods:
                output = subprocess.run(
                    [sys.executable, __file__, "--one", method, dataset, str(n_rows)],
                    capture_output=True,
                    text=True,
                )
                if output.returncode:
                    failure = output.stderr.strip().splitlines()[-1]
                    print(f"| {n_rows:,} | {dataset} | {method} | {failure} |")
                    continue
                r = json.loads(output.stdout.strip().splitlines()[-1])
                compile_seconds = (
                    "" if r["compile_seconds"] is None else f"{r['compile_seconds']:.1f}"
                )
                print(
                    f"| {n_rows:,} | {dataset} | {method} | {r['seconds']:.1f} | "
                    f"{r['peak_mib']:.0f} | {r['recall']:.3f} | {r['same_cluster']:.3f} "
                    f"({r['exact_same_cluster']:.3f}) | {compile_seconds} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
