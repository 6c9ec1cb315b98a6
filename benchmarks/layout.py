"""How good the manifold initialisation's clusters are on their own, per layout length.

The initial clusters carry most of the models' quality (``benchmarks/README.md``):
this prints the Hungarian ACC of the layout + Gaussian mixture of
``sklearn_latent/_manifold.py`` alone, on every row of a set, for each number
of layout epochs, number of mixture restarts and seed, and the seconds it took
(with the projection of wide rows that ``fit`` makes):

    OMP_NUM_THREADS=1 python benchmarks/layout.py --datasets letter-2k-std --epochs 200 500

Sets are those of ``benchmarks/clustering.py``; a set above the layout's
10,000-row cap (or ``--sample``) is sampled down to it (seed 0) first.
"""

import argparse
import itertools
import time

import numpy as np
from clustering import load

from sklearn_latent import _manifold
from sklearn_latent._data import neighbor_space
from sklearn_latent.metrics import cluster_accuracy


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", "letter-2k-std"])
    parser.add_argument(
        "--epochs", nargs="+", type=int, default=None, help="default: what fit uses for the set"
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--sample", type=int, default=None, help="lay out this many rows of each set (seed 0)"
    )
    parser.add_argument(
        "--mixture-inits",
        nargs="+",
        type=int,
        default=[_manifold.MIXTURE_INITS],
        help="restarts of the mixture fitted in the layout",
    )
    args = parser.parse_args()
    print("| data | layout epochs | mixture restarts | ACC per seed | mean ACC | seconds |")
    print("|---|---|---|---|---|---|")
    for name in args.datasets:
        X, y = load(name)
        n_rows = min(len(X), args.sample or len(X), _manifold.MAX_ROWS)
        if n_rows < len(X):
            rows = np.random.default_rng(0).choice(len(X), n_rows, replace=False)
            X, y = X[rows], y[rows]
            name = f"{name} ({n_rows:,}-row sample)"
        n_clusters = len(np.unique(y))
        for epochs, inits in itertools.product(
            args.epochs or [_manifold.layout_epochs(len(X))], args.mixture_inits
        ):
            _manifold.MIXTURE_INITS = inits
            scores, seconds = [], []
            for seed in args.seeds:
                start = time.perf_counter()
                # In the coordinates fit compares rows in (wide rows are projected).
                points = neighbor_space(X, np.arange(len(X)), seed)
                responsibility = _manifold.layout_mixture(
                    np.asarray(points, dtype=np.float64), n_clusters, seed, epochs
                )
                seconds.append(time.perf_counter() - start)
                scores.append(cluster_accuracy(y, responsibility.argmax(axis=1)))
            print(
                f"| {name} | {epochs} | {inits} | {', '.join(f'{s:.3f}' for s in scores)} | "
                f"{np.mean(scores):.3f} | {np.mean(seconds):.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
