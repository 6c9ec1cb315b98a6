"""How many clusters ``n_clusters="auto"`` finds, and what it costs in clusters and seconds.

For each data set and seed ("initial" rows): the number of classes (known to
this benchmark only), the number ``count_clusters`` finds on the rows a fit
lays out (the same neighbour space, sample and seed as ``fit``), the seconds
it takes, and the NMI and ACC of the models' initial clustering (``InitialClustering``) at the
number found beside its NMI at the true number (rows beyond the layout's
10,000 are left out of both).  The models' own labels at the number found
come with ``--models``: each model fitted with ``n_clusters="auto"`` and
defaults otherwise, its ``n_clusters_``, NMI, ACC and fit seconds (minutes per
fit on the larger sets).

    OMP_NUM_THREADS=1 python benchmarks/n_clusters.py
    OMP_NUM_THREADS=1 python benchmarks/n_clusters.py --datasets digits bbc --seeds 0 1 2
    OMP_NUM_THREADS=1 python benchmarks/n_clusters.py --datasets digits bbc --models
    OMP_NUM_THREADS=1 python benchmarks/n_clusters.py --criteria

Synthetic sets: ``blobs-K-equal`` / ``blobs-K-unequal`` (K Gaussian blobs in
20 dimensions, 3,000 rows; unequal sizes fall geometrically to 0.3 of the
largest), each with its own generator.
"""

import argparse
import time

import numpy as np
import torch
from clustering import SHARED_DATA, InitialClustering, load
from sklearn.cluster import HDBSCAN
from sklearn.datasets import make_blobs
from sklearn.metrics import normalized_mutual_info_score, silhouette_score
from sklearn.mixture import GaussianMixture

from sklearn_latent import (
    ClusterGANClustering,
    DECClustering,
    GMVAEClustering,
    InfoGANClustering,
    VaDEClustering,
)
from sklearn_latent._data import neighbor_space, resolve_metric
from sklearn_latent._manifold import (
    COUNT_ROWS,
    MAX_CLUSTERS,
    N_COMPONENTS,
    N_NEIGHBORS,
    count_clusters,
    fuzzy_neighbor_graph,
    layout_epochs,
    optimize_layout,
)
from sklearn_latent._runtime import seed_from_random_state
from sklearn_latent.metrics import cluster_accuracy

MODELS = [ClusterGANClustering, GMVAEClustering, InfoGANClustering, VaDEClustering, DECClustering]
REAL = [
    "digits",
    "digits-unequal",
    "mnist5k",
    "letter",
    "letter-2k-std",
    "letter-imbalanced",
    "bbc",
]
SYNTHETIC = [
    "blobs-5-unequal",
    "blobs-12-equal",
    "blobs-25-unequal",
    "blobs-50-equal",
]


def load_set(name):
    if name.startswith("blobs-"):
        _, k, kind = name.split("-")
        k = int(k)
        weights = 0.3 ** (np.arange(k) / max(k - 1, 1)) if kind == "unequal" else np.ones(k)
        sizes = np.maximum(np.random.default_rng(k).multinomial(3000, weights / weights.sum()), 20)
        X, y = make_blobs(sizes, 20, centers=None, center_box=(-8, 8), random_state=k)
        return X.astype(np.float32), y
    return load(name)


def classical_criteria(points, true_k, seed):
    """The number of clusters GMM BIC, silhouette and HDBSCAN pick on a layout of ``points``.

    The layout is the search's first (same sample, graph and seed); BIC and
    silhouette score full-covariance mixtures of 2 up to twice the number of
    classes (3 restarts each), a bound only a benchmark knows.
    """
    rows = np.arange(points.shape[0])
    if rows.shape[0] > COUNT_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, COUNT_ROWS, replace=False))
    sample = points[rows].astype(np.float64)
    graph = fuzzy_neighbor_graph(sample, N_NEIGHBORS)
    layout = optimize_layout(graph, N_COMPONENTS, layout_epochs(rows.shape[0]), seed)
    bic, silhouette = {}, {}
    for k in range(2, 2 * true_k + 1):
        mixture = GaussianMixture(k, covariance_type="full", n_init=3, random_state=seed)
        labels = mixture.fit_predict(layout)
        bic[k] = mixture.bic(layout)
        silhouette[k] = silhouette_score(layout, labels) if len(set(labels)) > 1 else -1.0
    density = HDBSCAN(min_cluster_size=max(2, rows.shape[0] // 100)).fit_predict(layout)
    return {
        "GMM BIC": min(bic, key=bic.get),
        "silhouette": max(silhouette, key=silhouette.get),
        "HDBSCAN": len(set(density) - {-1}),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=REAL + SYNTHETIC)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument(
        "--models", action="store_true", help="also fit every model with n_clusters='auto'"
    )
    parser.add_argument(
        "--criteria",
        action="store_true",
        help="also the classical criteria on the search's first layout: GMM BIC and "
        "silhouette over 2..2x the classes, HDBSCAN with clusters of 1 %% of the rows",
    )
    args = parser.parse_args()
    print(f"torch threads: {torch.get_num_threads()}")
    print(
        "| set | classes | seed | method | found | seconds | NMI at found | ACC at found "
        "| NMI at classes |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.datasets:
        if name == "bbc" and not (SHARED_DATA / "bbc_news.csv.gz").exists():
            print(f"skipping bbc: {SHARED_DATA / 'bbc_news.csv.gz'} is absent")
            continue
        X, y = load_set(name)
        X = X.astype(np.float32)
        true_k = len(np.unique(y))
        rows = np.arange(X.shape[0])
        for seed in args.seeds:
            start = time.perf_counter()
            points = neighbor_space(
                X, rows, seed_from_random_state(seed), resolve_metric("auto", X)
            )
            # The seed a model with random_state=seed fits with.
            found, _ = count_clusters(points, rows, MAX_CLUSTERS, seed_from_random_state(seed))
            seconds = time.perf_counter() - start
            at_found = InitialClustering(found, random_state=seed).fit(X).labels_
            at_true = InitialClustering(true_k, random_state=seed).fit(X).labels_
            laid_out = at_true >= 0
            at_found, at_true, truth = at_found[laid_out], at_true[laid_out], y[laid_out]
            print(
                f"| {name} | {true_k} | {seed} | initial | {found} | {seconds:.1f} "
                f"| {normalized_mutual_info_score(truth, at_found):.3f} "
                f"| {cluster_accuracy(truth, at_found):.3f} "
                f"| {normalized_mutual_info_score(truth, at_true):.3f} |",
                flush=True,
            )
            if args.criteria:
                for criterion, number in classical_criteria(points, true_k, seed).items():
                    print(f"| {name} | {true_k} | {seed} | {criterion} | {number} | | | | |")
            if args.models:
                for model_class in MODELS:
                    start = time.perf_counter()
                    model = model_class(n_clusters="auto", random_state=seed).fit(X)
                    seconds = time.perf_counter() - start
                    print(
                        f"| {name} | {true_k} | {seed} | {model_class.__name__} "
                        f"| {model.n_clusters_} | {seconds:.1f} "
                        f"| {normalized_mutual_info_score(y, model.labels_):.3f} "
                        f"| {cluster_accuracy(y, model.labels_):.3f} | - |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
