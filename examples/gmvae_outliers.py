"""Flag unlikely rows with the ELBO of a Gaussian-mixture VAE.

``GMVAEClustering.score_samples`` gives each row its evidence lower bound
(ELBO), a lower bound on the row's log-likelihood under the fitted model:
rows unlike the bulk of the data get low values.  The script hides corrupted
images among scikit-learn's 8x8 digits -- uniform noise, inverted digits
(ink and paper swapped) and transposed digits (mirrored about the diagonal) --
fits a GMVAE on everything, flags the rows with the lowest ELBO, prints how
many of them are the injected ones, and draws the flagged rows, one line per
kind, to ``examples/output/digits_flagged_outliers.png`` and the training
curves to ``examples/output/digits_outliers_training_curves.png`` (both with
:mod:`sklearn_latent.plotting`).

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
from sklearn_latent.plotting import GeneratedSamplesDisplay, TrainingCurvesDisplay


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
        print(
            "--fast: a smoke run on 300 digits for 2 epochs, to check that the script works; "
            "its numbers and pictures do not measure the model's quality."
        )
    rng = np.random.default_rng(0)
    X_bad, bad_kind = corrupt(X, n_per_kind=len(X) // 100, rng=rng)
    X_all = np.concatenate([X, X_bad])
    kind = np.concatenate([[f"digit {digit}" for digit in y], bad_kind])
    injected = np.arange(len(X_all)) >= len(X)

    # Fit on everything, as one would on data nobody has cleaned.
    model = GMVAEClustering(n_clusters=10, max_iter=2 if args.fast else None, random_state=0)
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

    # The flagged rows, least likely first, one line per kind of row.
    kinds = [name for name in ["noise", "inverted", "transposed"] if name in kind[flagged]]
    kinds += sorted({name for name in kind[flagged] if name not in kinds})
    group = np.array([kinds.index(name) for name in kind[flagged]])
    n_columns = max(np.bincount(group))
    display = GeneratedSamplesDisplay(
        X_all[flagged],
        group,
        len(kinds),
        image_shape=(8, 8),
        row_labels=[
            f"{name}: {np.sum(kind[flagged] == name)} of {np.sum(kind == name)} flagged"
            for name in kinds
        ],
        n_per_cluster=n_columns,
    ).plot(title="Rows with the lowest GMVAE ELBO, least likely first, one line per kind")
    curves = TrainingCurvesDisplay.from_estimator(model)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    for name, figure in [
        ("digits_flagged_outliers.png", display.figure_),
        ("digits_outliers_training_curves.png", curves.figure_),
    ]:
        path = args.output_dir / name
        figure.savefig(path, dpi=80, bbox_inches="tight")
        plt.close(figure)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
