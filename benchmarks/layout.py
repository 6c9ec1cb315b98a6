"""How good the manifold initialisation's clusters are on their own, per layout length.

The initial clusters carry most of the models' quality (``benchmarks/README.md``):
this prints the Hungarian ACC of the layout + Gaussian mixture of
``sklearn_latent/_manifold.py`` alone, on every row of a set, for each number
of layout epochs and seed, and the seconds it took:

    OMP_NUM_THREADS=1 python benchmarks/layout.py --datasets letter-2k-std --epochs 200 500

Sets are those of ``benchmarks/clustering.py``; a set above the layout's
10,000-row cap is sampled down to 10,000 rows (seed 0) first.
"""

import argparse
import time

import numpy as np
from clustering import load
from sklearn.mixture import GaussianMixture

from sklearn_latent import _manifold
from sklearn_latent.metrics import cluster_accuracy


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", "letter-2k-std"])
    parser.add_argument("--epochs", nargs="+", type=int, default=[_manifold.N_EPOCHS])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    args = parser.parse_args()
    print("| data | layout epochs | ACC per seed | mean ACC | seconds |")
    print("|---|---|---|---|---|")
    for name in args.datasets:
        X, y = load(name)
        if len(X) > _manifold.MAX_ROWS:
            rows = np.random.default_rng(0).choice(len(X), _manifold.MAX_ROWS, replace=False)
            X, y = X[rows], y[rows]
        n_clusters = len(np.unique(y))
        for epochs in args.epochs:
            _manifold.N_EPOCHS = epochs
            scores, seconds = [], []
            for seed in args.seeds:
                start = time.perf_counter()
                graph = _manifold.fuzzy_neighbor_graph(
                    np.asarray(X, dtype=np.float64), _manifold.N_NEIGHBORS
                )
                embedding = _manifold.optimize_layout(graph, _manifold.N_COMPONENTS, seed)
                labels = GaussianMixture(
                    n_clusters,
                    covariance_type="full",
                    n_init=_manifold.MIXTURE_INITS,
                    random_state=seed,
                ).fit_predict(embedding)
                seconds.append(time.perf_counter() - start)
                scores.append(cluster_accuracy(y, labels))
            print(
                f"| {name} | {epochs} | {', '.join(f'{s:.3f}' for s in scores)} | "
                f"{np.mean(scores):.3f} | {np.mean(seconds):.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
