"""Sample diversity: how varied each model's generated rows are within a cluster.

A generator can draw recognisable rows for every cluster and still draw each
cluster's rows as near-copies of one another: mode collapse inside a cluster,
which cluster accuracy does not see.  For each model on scikit-learn's digits
(pixels scaled to [0, 1], ``n_clusters=10``) the table reports Hungarian
accuracy and :func:`sklearn_latent.metrics.sample_diversity` of 2,000
generated rows against the training rows of each cluster (``labels_``): the
mean over clusters, and the lowest cluster.  1 means a cluster's generated
rows are as far apart as its real rows.  Besides the defaults, it measures
the knobs that spread a GAN's rows within a cluster: ClusterGAN's ``sigma``
(the paper's 0.1 against the default 0.5) and the Localized GAN
``orthonormality_weight``.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/sample_diversity.py
    OMP_NUM_THREADS=1 python benchmarks/sample_diversity.py --seeds 0 --max-iter 2  # smoke run
"""

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_digits

from sklearn_latent import (
    ClusterGANClustering,
    GMVAEClustering,
    InfoGANClustering,
    VaDEClustering,
)
from sklearn_latent.metrics import cluster_accuracy, sample_diversity

CONFIGS = {
    "ClusterGAN": (ClusterGANClustering, {}),
    "ClusterGAN sigma=0.1": (ClusterGANClustering, {"sigma": 0.1}),
    "ClusterGAN sigma=0.1 orthonormality_weight=0.01": (
        ClusterGANClustering,
        {"sigma": 0.1, "orthonormality_weight": 0.01},
    ),
    "GMVAE": (GMVAEClustering, {}),
    "InfoGAN": (InfoGANClustering, {}),
    "InfoGAN orthonormality_weight=0.01": (InfoGANClustering, {"orthonormality_weight": 0.01}),
    "VaDE": (VaDEClustering, {}),
}


def measure(config, X, y, seed, max_iter):
    estimator, params = CONFIGS[config]
    if max_iter is not None:
        params = {**params, "max_iter": max_iter}
    start = time.perf_counter()
    model = estimator(n_clusters=10, random_state=seed, **params).fit(X)
    seconds = time.perf_counter() - start
    X_new, y_new = model.sample(2000)
    per_cluster = sample_diversity(X, model.labels_, X_new, y_new, average=False)
    return {
        "ACC": cluster_accuracy(y, model.labels_),
        "diversity": np.nanmean(per_cluster),
        "lowest cluster": np.nanmin(per_cluster),
        "fit s": seconds,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--max-iter", type=int, default=None, help="default: each model's")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    print(
        f"digits {X.shape}, n_clusters=10, seeds {args.seeds}, max_iter "
        f"{args.max_iter or 'default'}, {torch.get_num_threads()} thread; mean over seeds "
        "(each seed's value in brackets)"
    )
    columns = ["ACC", "diversity", "lowest cluster", "fit s"]
    print(f"| model | {' | '.join(columns)} |")
    print(f"|---|{'---|' * len(columns)}")
    for config in args.configs:
        runs = [measure(config, X, y, seed, args.max_iter) for seed in args.seeds]
        cells = []
        for column in columns:
            values = [run[column] for run in runs]
            digits = {"ACC": 3, "fit s": 0}.get(column, 2)
            each = ", ".join(f"{value:.{digits}f}" for value in values)
            cells.append(f"{np.mean(values):.{digits}f} ({each})")
        print(f"| {config} | {' | '.join(cells)} |", flush=True)


if __name__ == "__main__":
    main()
