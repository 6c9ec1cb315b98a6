"""Structured InfoGAN codes (Beyazit et al., IJCAI 2020) on shapes with a mixed factor.

``sklearn_latent.datasets.make_shapes`` draws shape, width, aspect and stroke
thickness independently; the height is ``width * aspect``, a factor that is a
function of two others.  InfoGAN with 3 clusters and 3 continuous codes is fitted
with no code graph (plain InfoGAN), the one-to-one graph (``ci -> ci_hat``), and
the one-to-one graph plus ``c0 -> c2_hat`` (the third code may depend on the
first, as height depends on width).  On the training images the table reports:

- ACC of the clusters against the shape;
- MIG over the four independent factors (shape, width, aspect, thickness) and
  over the four drawn attributes (shape, width, height, thickness), with the
  cluster label and the three continuous codes as codes;
- the mean absolute correlation between the continuous codes;
- ``I(height; code) / H(height)`` for the best continuous code and for
  ``c2_hat``.

``--graph-trains-q`` runs an experiment that is not a library option: the graph's
likelihood replaces InfoGAN's continuous ``L_I`` for every code with parents and
trains Q as well as G (see ``GraphInsteadOfInformation``).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/structured_codes.py
    OMP_NUM_THREADS=1 python benchmarks/structured_codes.py --graph-trains-q --graphs one-to-one \
        "one-to-one + c0 -> c2_hat"
    OMP_NUM_THREADS=1 python benchmarks/structured_codes.py --seeds 0 --max-iter 5   # a smoke run
"""

import argparse
import time

import numpy as np
import torch

from sklearn_latent import InfoGANClustering
from sklearn_latent._losses import linear_gaussian_network_nll
from sklearn_latent.datasets import SHAPES_FACTOR_NAMES, make_shapes
from sklearn_latent.metrics import (
    cluster_accuracy,
    factor_code_mutual_information,
    mutual_information_gap,
)

ONE_TO_ONE = [("c0", "c0_hat"), ("c1", "c1_hat"), ("c2", "c2_hat")]
GRAPHS = {
    "plain InfoGAN": None,
    "one-to-one": "one-to-one",
    "one-to-one + c0 -> c2_hat": [*ONE_TO_ONE, ("c0", "c2_hat")],
}


class GraphInsteadOfInformation(InfoGANClustering):
    """Experiment: the graph's likelihood, not ``L_I``, defines the codes that have parents.

    InfoGAN's ``L_I`` trains Q to return each input code's posterior mean, which
    pins ``c2_hat`` to ``c2`` whatever the graph allows.  Here the continuous
    ``L_I`` is kept only for codes without parents; the graph's negative
    log-likelihood takes its place (same weight) in both Q's and G's updates.
    Run with ``code_graph_weight=0`` so that the library's G-only term is off.
    """

    def _information_loss(self, outputs, categories, continuous):
        # InfoGAN's L_I, restricted to the codes without parents in the graph.
        free = [i for i in range(self.n_continuous) if f"c{i}_hat" not in self.code_graph_]
        restricted = {
            **outputs,
            "continuous_mean": outputs["continuous_mean"][:, free],
            "continuous_log_std": outputs["continuous_log_std"][:, free],
        }
        categorical, continuous_nll = super()._information_loss(
            restricted, categories, continuous[:, free]
        )
        graph_nll = linear_gaussian_network_nll(
            self._code_nodes(categories, continuous, outputs), self.code_graph_
        )
        return categorical, continuous_nll + graph_nll / self.continuous_weight


def evaluate(model, X, factors):
    columns = {name: factors[:, i] for i, name in enumerate(SHAPES_FACTOR_NAMES)}
    continuous = model.transform(X)[:, model.n_clusters :]
    codes = np.column_stack([model.labels_, continuous])
    independent = np.column_stack([columns[n] for n in ("shape", "width", "aspect", "thickness")])
    drawn = np.column_stack([columns[n] for n in ("shape", "width", "height", "thickness")])
    correlation = np.corrcoef(continuous.T)
    height = factor_code_mutual_information(columns["height"][:, None], continuous)[0]
    return {
        "ACC": cluster_accuracy(columns["shape"], model.labels_),
        "MIG independent": mutual_information_gap(independent, codes),
        "MIG drawn": mutual_information_gap(drawn, codes),
        "mean |corr|": np.abs(correlation[np.triu_indices(3, k=1)]).mean(),
        "height, best code": height.max(),
        "height, c2_hat": height[2],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--n-samples", type=int, default=5000)
    parser.add_argument("--image-size", type=int, default=16)
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--code-graph-weight", type=float, help="default: the model's default")
    parser.add_argument("--graphs", nargs="+", choices=list(GRAPHS), default=list(GRAPHS))
    parser.add_argument("--graph-trains-q", action="store_true", help="the experiment above")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    X, factors = make_shapes(args.n_samples, image_size=args.image_size, random_state=0)
    extra = {} if args.code_graph_weight is None else {"code_graph_weight": args.code_graph_weight}
    estimator = InfoGANClustering
    if args.graph_trains_q:
        estimator, extra = GraphInsteadOfInformation, {"code_graph_weight": 0.0}
    metric_names = None
    for name in args.graphs:
        runs, seconds = [], []
        for seed in args.seeds:
            model = estimator(
                n_clusters=3,
                n_continuous=3,
                code_graph=GRAPHS[name],
                max_iter=args.max_iter,
                random_state=seed,
                **extra,
            )
            start = time.perf_counter()
            model.fit(X)
            seconds.append(time.perf_counter() - start)
            runs.append(evaluate(model, X, factors))
            scores = ", ".join(f"{k} {v:.3f}" for k, v in runs[-1].items())
            print(f"# {name}, seed {seed}: {scores}", flush=True)
        if metric_names is None:
            metric_names = list(runs[0])
            print("| graph | " + " | ".join(metric_names) + " | fit s |")
            print("|---" * (len(metric_names) + 2) + "|")
        cells = [
            f"{np.mean([r[m] for r in runs]):.3f} +- {np.std([r[m] for r in runs]):.3f}"
            for m in metric_names
        ]
        print(f"| {name} | " + " | ".join(cells) + f" | {np.mean(seconds):.0f} |", flush=True)


if __name__ == "__main__":
    main()
