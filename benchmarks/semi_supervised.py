"""Semi-supervised clustering: a few labelled rows per class, the rest unlabelled.

For each label draw, ``labels_per_class`` rows of each class keep their label
and all others get -1 (the :mod:`sklearn.semi_supervised` convention).  Each
of our models is fitted with ``fit(X, y_partial)`` and ``label_weight=10``
(plus ``--params``); the table reports the accuracy of ``labels_`` on the
unlabelled rows (no Hungarian matching: cluster k must be class k), against
``LabelSpreading(kernel="knn")`` on the same draws.

Usage::

    python benchmarks/semi_supervised.py                       # digits, 3 draws, every model
    python benchmarks/semi_supervised.py --datasets mnist5k
    python benchmarks/semi_supervised.py --models ClusterGAN --params '{"manifold_weight": 1}'
"""

import argparse
import json
import time

import numpy as np
from clustering import load
from clustering import make_model as make_clusterer
from sklearn.semi_supervised import LabelSpreading


def partial_labels(y, labels_per_class, seed):
    """``y`` with all but ``labels_per_class`` random rows per class set to -1."""
    rng = np.random.default_rng(seed)
    partial = np.full_like(y, -1)
    for label in np.unique(y):
        keep = rng.choice(np.flatnonzero(y == label), labels_per_class, replace=False)
        partial[keep] = label
    return partial


def make_model(name, n_clusters, seed, params):
    if name == "LabelSpreading":
        return LabelSpreading(kernel="knn")
    return make_clusterer(name, n_clusters, seed, params)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits"], choices=["digits", "mnist5k"])
    parser.add_argument(
        "--models",
        nargs="+",
        default=["ClusterGAN", "GMVAE", "InfoGAN", "VaDE", "DEC", "LabelSpreading"],
    )
    parser.add_argument("--draws", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--labels-per-class", type=int, default=10)
    parser.add_argument("--params", type=json.loads, default={}, help="JSON, for our models")
    args = parser.parse_args(argv)
    print("| data | model | params | accuracy on unlabelled rows | mean fit s |")
    print("|---|---|---|---|---|")
    for dataset in args.datasets:
        X, y = load(dataset)
        for name in args.models:
            params = {} if name == "LabelSpreading" else {"label_weight": 10.0, **args.params}
            scores, seconds = [], []
            for draw in args.draws:
                y_partial = partial_labels(y, args.labels_per_class, draw)
                model = make_model(name, len(np.unique(y)), draw, params)
                start = time.perf_counter()
                model.fit(X, y_partial)
                seconds.append(time.perf_counter() - start)
                unlabelled = y_partial == -1
                predicted = model.transduction_ if name == "LabelSpreading" else model.labels_
                scores.append(np.mean(predicted[unlabelled] == y[unlabelled]))
                print(f"  {dataset} {name} draw {draw}: {scores[-1]:.3f}", flush=True)
            print(
                f"| {dataset} | {name} | {json.dumps(params) if params else 'defaults'} | "
                f"{np.mean(scores):.3f} +- {np.std(scores):.3f} | {np.mean(seconds):.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
