"""Cluster scikit-learn's 8x8 digits with ClusterGAN and compare with k-means.

Prints Hungarian accuracy, NMI and ARI of both, and writes a picture of rows
the fitted generator makes for each cluster to ``examples/output/``.

    python examples/quickstart_digits.py                # the full run
    python examples/quickstart_digits.py --fast         # a smoke run of a few seconds
    python examples/quickstart_digits.py --max-iter 50  # fewer epochs
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from sklearn_latent import ClusterGANClustering
from sklearn_latent.metrics import cluster_accuracy


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-iter", type=int, default=None, help="epochs (default: the model's)")
    parser.add_argument("--fast", action="store_true", help="300 digits and 2 epochs")
    parser.add_argument("--output-dir", type=Path, default=Path(__file__).parent / "output")
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    X = X / 16.0  # pixels in [0, 1]: the generator gets a sigmoid output
    params = {} if args.max_iter is None else {"max_iter": args.max_iter}
    if args.fast:
        X, y = X[:300], y[:300]
        params = {"max_iter": 2}

    model = ClusterGANClustering(n_clusters=10, random_state=0, verbose=1, **params)
    results = {
        "ClusterGAN": model.fit_predict(X),
        "KMeans": KMeans(10, n_init=10, random_state=0).fit_predict(X),
    }
    print(f"{'model':<12} {'ACC':>6} {'NMI':>6} {'ARI':>6}")
    for name, labels in results.items():
        print(
            f"{name:<12} {cluster_accuracy(y, labels):6.3f} "
            f"{normalized_mutual_info_score(y, labels):6.3f} {adjusted_rand_score(y, labels):6.3f}"
        )

    # Ten generated digits for each cluster: one row per cluster.
    per_cluster = 10
    fig, axes = plt.subplots(10, per_cluster, figsize=(per_cluster, 10))
    X_new, y_new = model.sample(1000)
    for cluster in range(10):
        rows = X_new[y_new == cluster][:per_cluster]
        for column in range(per_cluster):
            axes[cluster, column].axis("off")
            if column < len(rows):
                axes[cluster, column].imshow(rows[column].reshape(8, 8), cmap="gray_r")
    fig.suptitle("ClusterGAN on digits: generated rows, one cluster per line")
    args.output_dir.mkdir(parents=True, exist_ok=True)
    path = args.output_dir / "digits_generated_per_cluster.png"
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
