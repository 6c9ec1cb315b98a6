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
- ``I(height; code) / H(height)`` for the best continuous code, for ``c0_hat``
  and for ``c2_hat``.

On 2,000 generated rows (codes drawn from the prior) it also reports
``|corr(c2_hat, c0)|`` and ``|corr(c2_hat, c2)|``: whether the code Q extracts
as ``c2_hat`` uses the freedom the edge gives it, and still follows its own
input code.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/structured_codes.py --n-jobs 2
    OMP_NUM_THREADS=1 python benchmarks/structured_codes.py --seeds 0 --max-iter 5   # a smoke run
"""

import argparse
import time

import numpy as np
import torch
from joblib import Parallel, delayed

from sklearn_latent import InfoGANClustering
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


def evaluate(model, X, factors):
    columns = {name: factors[:, i] for i, name in enumerate(SHAPES_FACTOR_NAMES)}
    continuous = model.transform(X)[:, model.n_clusters :]
    codes = np.column_stack([model.labels_, continuous])
    independent = np.column_stack([columns[n] for n in ("shape", "width", "aspect", "thickness")])
    drawn = np.column_stack([columns[n] for n in ("shape", "width", "height", "thickness")])
    correlation = np.corrcoef(continuous.T)
    height = factor_code_mutual_information(columns["height"][:, None], continuous)[0]
    # Generated rows: does the extracted c2_hat follow c0?
    rng = np.random.default_rng(0)
    prior_codes = rng.uniform(-1, 1, (2000, model.n_continuous))
    generated = model.generate(rng.integers(model.n_clusters, size=2000), prior_codes)
    extracted = model.transform(generated)[:, model.n_clusters :]
    return {
        "ACC": cluster_accuracy(columns["shape"], model.labels_),
        "MIG independent": mutual_information_gap(independent, codes),
        "MIG drawn": mutual_information_gap(drawn, codes),
        "mean |corr|": np.abs(correlation[np.triu_indices(3, k=1)]).mean(),
        "height, best code": height.max(),
        "height, c0_hat": height[0],
        "height, c2_hat": height[2],
        "generated |corr(c2_hat, c0)|": abs(np.corrcoef(extracted[:, 2], prior_codes[:, 0])[0, 1]),
        "generated |corr(c2_hat, c2)|": abs(np.corrcoef(extracted[:, 2], prior_codes[:, 2])[0, 1]),
    }


def fit_and_evaluate(code_graph, seed, X, factors, max_iter, extra):
    torch.set_num_threads(1)
    model = InfoGANClustering(
        n_clusters=3,
        n_continuous=3,
        code_graph=code_graph,
        max_iter=max_iter,
        random_state=seed,
        **extra,
    )
    start = time.perf_counter()
    model.fit(X)
    seconds = time.perf_counter() - start
    return evaluate(model, X, factors), seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--n-samples", type=int, default=5000)
    parser.add_argument("--image-size", type=int, default=16)
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--code-graph-weight", type=float, help="default: the model's default")
    parser.add_argument("--graphs", nargs="+", choices=list(GRAPHS), default=list(GRAPHS))
    parser.add_argument("--n-jobs", type=int, default=1, help="fits run in parallel, 1 thread each")
    args = parser.parse_args(argv)
    X, factors = make_shapes(args.n_samples, image_size=args.image_size, random_state=0)
    extra = {} if args.code_graph_weight is None else {"code_graph_weight": args.code_graph_weight}
    jobs = [(name, seed) for name in args.graphs for seed in args.seeds]
    results = Parallel(n_jobs=args.n_jobs, return_as="generator")(
        delayed(fit_and_evaluate)(GRAPHS[name], seed, X, factors, args.max_iter, extra)
        for name, seed in jobs
    )
    by_graph = {}
    for (name, seed), (scores, seconds) in zip(jobs, results, strict=True):
        by_graph.setdefault(name, []).append((scores, seconds))
        scores_text = ", ".join(f"{k} {v:.3f}" for k, v in scores.items())
        print(f"# {name}, seed {seed}: {scores_text}", flush=True)
    metric_names = list(by_graph[args.graphs[0]][0][0])
    print("| graph | " + " | ".join(metric_names) + " | fit s |")
    print("|---" * (len(metric_names) + 2) + "|")
    for name, runs in by_graph.items():
        cells = [
            f"{np.mean([r[m] for r, _ in runs]):.3f} +- {np.std([r[m] for r, _ in runs]):.3f}"
            for m in metric_names
        ]
        seconds = np.mean([s for _, s in runs])
        print(f"| {name} | " + " | ".join(cells) + f" | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
