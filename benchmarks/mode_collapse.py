"""Mode collapse on a grid of 25 Gaussians, with and without the tangent orthonormality term.

The standard mode-collapse test for GANs (Srivastava et al., "VEEGAN", NIPS
2017): 2-D points around 25 centres on a 5 x 5 grid (spacing 2, standard
deviation 0.05).  A GAN with fewer clusters than modes must spread each
cluster's continuous latent over several modes, which is where a generator
folds latent directions onto few modes.  For each model and
``orthonormality_weight`` (Localized GAN, Qi et al., CVPR 2018) the table
reports, over 2,500 generated points: the modes covered (a mode counts when at
least 10 generated points lie within 3 standard deviations of it), the share
of points within 3 standard deviations of some mode (quality), and the
entropy of the generated points over the modes (log 25 = 3.22 is perfectly
even).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/mode_collapse.py
    OMP_NUM_THREADS=1 python benchmarks/mode_collapse.py --weights 0 0.01 --seeds 0 --max-iter 2
"""

import argparse
import time

import numpy as np
import torch

from sklearn_latent import ClusterGANClustering, InfoGANClustering

CENTRES = np.array([(x, y) for x in range(-4, 5, 2) for y in range(-4, 5, 2)], dtype=float)
STD = 0.05
MODELS = {"ClusterGAN": ClusterGANClustering, "InfoGAN": InfoGANClustering}


def grid_of_gaussians(n_samples, seed):
    rng = np.random.default_rng(seed)
    centres = CENTRES[rng.integers(len(CENTRES), size=n_samples)]
    return (centres + STD * rng.standard_normal(centres.shape)).astype(np.float32)


def mode_statistics(points):
    distances = np.linalg.norm(points[:, None, :] - CENTRES[None], axis=2)
    nearest, near = distances.argmin(axis=1), distances.min(axis=1) < 3 * STD
    counts = np.bincount(nearest[near], minlength=len(CENTRES))
    share = counts / max(counts.sum(), 1)
    entropy = -np.sum(share[share > 0] * np.log(share[share > 0]))
    return {"modes": int((counts >= 10).sum()), "quality": float(near.mean()), "entropy": entropy}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--weights", nargs="+", type=float, default=[0.0, 0.01, 0.1])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--n-clusters", type=int, default=5)
    parser.add_argument("--n-samples", type=int, default=10000)
    parser.add_argument("--max-iter", type=int, default=30)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    X = grid_of_gaussians(args.n_samples, seed=0)
    print("| model | orthonormality_weight | modes of 25 | quality | entropy | fit s |")
    print("|---|---|---|---|---|---|")
    for name in args.models:
        for weight in args.weights:
            runs, seconds = [], []
            for seed in args.seeds:
                model = MODELS[name](
                    n_clusters=args.n_clusters,
                    orthonormality_weight=weight,
                    max_iter=args.max_iter,
                    random_state=seed,
                )
                start = time.perf_counter()
                model.fit(X)
                seconds.append(time.perf_counter() - start)
                runs.append(mode_statistics(model.sample(2500)[0]))
                scores = ", ".join(f"{k} {v:.3f}" for k, v in runs[-1].items())
                print(f"# {name}, weight {weight}, seed {seed}: {scores}", flush=True)
            cells = [
                f"{np.mean([r[k] for r in runs]):.2f} +- {np.std([r[k] for r in runs]):.2f}"
                for k in ("modes", "quality", "entropy")
            ]
            row = f"| {name} | {weight} | " + " | ".join(cells) + f" | {np.mean(seconds):.0f} |"
            print(row, flush=True)


if __name__ == "__main__":
    main()
