"""Flag unlikely rows with the ELBO of a Gaussian-mixture VAE.

``GMVAEClustering.score_samples`` gives each row its evidence lower bound
(ELBO), a lower bound on the row's log-likelihood under the fitted model:
rows unlike the bulk of the data get low values.  The script hides corrupted
images among scikit-learn's 8x8 digits -- uniform noise, inverted digits
(ink and paper swapped) and transposed digits (mirrored about the diagonal) --
fits a GMVAE on everything, flags the rows with the lowest ELBO, prints how
many of them are the injected ones, and draws the flagged rows to
``examples/output/digits_flagged_outliers.png``.

    python examples/gmvae_outliers.py          # the full run
    python examples/gmvae_outliers.py --fast   # a smoke run of a few seconds
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from sklearn_latent import GMVAEClustering


def corrupt(X, n_per_kind, rng):
    """Rows of three kinds of corrupted digits, with the kind of each."""
    images = X[rng.choice(len(X), 2 * n_per_kind, replace=False)].reshape(-1, 8, 8)
    rows = {
        "noise": rng.uniform(0, 1, size=(n_per_kind, 64)),
        "inverted": 1 - images[:n_per_kind].reshape(n_per_kind, 64),
        "transposed": images[n_per_kind:].transpose(0, 2, 1).reshape(n_per_kind, 64),
    }
    return np.concatenate(list(rows.values())), np.repeat(list(rows), n_per_kind)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="300 digits and 2 epochs")
    parser.add_argument("--output-dir", type=Path, default=Path(__file__).parent / "output")
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    X = X / 16.0  # pixels in [0, 1]: the GMVAE gets a Bernoulli decoder
    if args.fast:
        X, y = X[:300], y[:300]
    rng = np.random.default_rng(0)
    X_bad, bad_kind = corrupt(X, n_per_kind=len(X) // 100, rng=rng)
    X_all = np.concatenate([X, X_bad])
    kind = np.concatenate([[f"digit {digit}" for digit in y], bad_kind])
    injected = np.arange(len(X_all)) >= len(X)

    # Fit on everything, as one would on data nobody has cleaned.
    model = GMVAEClustering(n_clusters=10, max_iter=2 if args.fast else 100, random_state=0)
    scores = model.fit(X_all).score_samples(X_all)

    # Flag the 5% lowest ELBOs: more rows than were injected, so that recall
    # can reach 1 and precision shows what else the model finds unusual.
    flagged = np.argsort(scores)[: round(0.05 * len(X_all))]
    hits = injected[flagged].sum()
    print(f"{len(X_all)} rows, {injected.sum()} injected, {len(flagged)} flagged (5% lowest ELBO)")
    print(f"precision {hits / len(flagged):.3f}  recall {hits / injected.sum():.3f}")
    for name in np.unique(bad_kind):
        caught = np.isin(np.flatnonzero(kind == name), flagged).sum()
        print(f"  {name:<10} {caught} of {np.sum(kind == name)} flagged")
    print(
        f"median ELBO (nats): real rows {np.median(scores[~injected]):.1f}, "
        f"injected rows {np.median(scores[injected]):.1f}"
    )

    # The flagged rows, least likely first, each titled with what it really is.
    n_columns = 10
    n_rows = -(-len(flagged) // n_columns)
    fig, axes = plt.subplots(
        n_rows, n_columns, figsize=(1.2 * n_columns, 1.4 * n_rows + 0.4), layout="constrained"
    )
    for ax in axes.ravel():
        ax.axis("off")
    for ax, row in zip(axes.ravel(), flagged, strict=False):
        ax.imshow(X_all[row].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(
            f"{kind[row]}\n{scores[row]:.0f}", fontsize=8, color="C3" if injected[row] else "k"
        )
    fig.suptitle("Rows with the lowest GMVAE ELBO (nats); injected rows in red")
    args.output_dir.mkdir(parents=True, exist_ok=True)
    path = args.output_dir / "digits_flagged_outliers.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
