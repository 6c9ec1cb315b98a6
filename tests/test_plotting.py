"""The displays draw what they promise (rendered with matplotlib's Agg backend)."""

import builtins

import numpy as np
import pytest
from sklearn.metrics import silhouette_score

from conftest import fast
from sklearn_latent import ClusterGANClustering, GMVAEClustering

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sklearn_latent.plotting import (  # noqa: E402
    GeneratedSamplesDisplay,
    LatentSpaceDisplay,
    TrainingCurvesDisplay,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fitted():
    """A small model on 4-d blobs, whose rows can also be seen as 2x2 images."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=150, centers=3, n_features=4, cluster_std=0.6, random_state=0)
    X = X.astype(np.float32)
    return fast(ClusterGANClustering, n_clusters=3, random_state=0).fit(X), X, y


def test_generated_images_one_labelled_line_per_cluster(fitted):
    model, X, y = fitted
    display = GeneratedSamplesDisplay.from_estimator(
        model, X, y, n_per_cluster=4, image_shape=(2, 2)
    )
    assert len(display.ax_.images) == 1  # one mosaic, not one axes per image
    # 3 lines of 4 images of 2x2 pixels, one pixel apart.
    assert display.image_.get_array().shape == (3 * 3 - 1, 4 * 3 - 1)
    labels = [label.get_text() for label in display.ax_.get_yticklabels()]
    assert len(labels) == 3
    for k, label in enumerate(labels):
        assert label.startswith(f"cluster {k} (class ") and ", diversity " in label
    # The mosaic's first image is the first row generated from cluster 0.
    X_new, y_new = model.sample(max(100, 3 * 4) * 3)
    np.testing.assert_allclose(
        display.image_.get_array()[:2, :2], X_new[y_new == 0][0].reshape(2, 2), rtol=1e-6
    )


def test_near_copies_are_called_out(fitted):
    _, X, _ = fitted
    X_new = np.repeat(X[:3], 20, axis=0)  # every cluster one row, twenty times
    display = GeneratedSamplesDisplay(
        X_new, np.repeat([0, 1, 2], 20), 3, image_shape=(1, 2, 2), diversity=np.array([0.0, 1, 1])
    ).plot()
    colours = [label.get_color() for label in display.ax_.get_yticklabels()]
    assert colours[0] != colours[1] == colours[2]
    assert "1 of 3 clusters generate near-copies" in display.ax_.get_title()


def test_table_rows_drawn_as_cluster_profiles(fitted):
    model, _, _ = fitted
    display = GeneratedSamplesDisplay.from_estimator(model, feature_names=list("abcd"))
    assert display.image_.get_array().shape == (3, 4)  # clusters x features
    assert [t.get_text() for t in display.ax_.get_xticklabels()] == list("abcd")
    assert len(display.figure_.axes) == 2  # the heat map and its colour bar


def test_latent_space_in_2d_by_cluster_and_class(fitted):
    model, X, y = fitted
    display = LatentSpaceDisplay.from_estimator(model, X, y)
    assert len(display.axes_) == 2
    assert [len(panel) for panel in display.scatters_] == [
        len(np.unique(model.predict(X))),
        len(np.unique(y)),
    ]
    assert sum(len(s.get_offsets()) for s in display.scatters_[1]) == len(X)
    assert display.axes_[0].get_xlabel() == "transform, neighbour-graph layout 1"
    assert display.axes_[1].get_legend().get_title().get_text() == "class"
    pca = LatentSpaceDisplay.from_estimator(model, X, y, method="pca")
    assert pca.axes_[0].get_xlabel().startswith("transform, PC1")


def test_latent_space_layout_separates_the_clusters_pca_may_not(fitted):
    """ClusterGAN's transform is mostly noise z_n: its clusters show in the layout."""
    model, X, _ = fitted
    labels = model.predict(X)
    layout = LatentSpaceDisplay.from_estimator(model, X).embedding
    pca = LatentSpaceDisplay.from_estimator(model, X, method="pca").embedding
    assert silhouette_score(layout, labels) > max(0.5, silhouette_score(pca, labels))
    with pytest.raises(ValueError, match="method"):
        LatentSpaceDisplay.from_estimator(model, X, method="tsne")


def test_latent_space_of_two_columns_is_drawn_as_is(blobs):
    X, _ = blobs
    model = fast(GMVAEClustering, n_clusters=3, latent_dim=2, max_iter=2, random_state=0).fit(X)
    _, ax = plt.subplots()
    display = LatentSpaceDisplay.from_estimator(model, X, ax=ax)
    assert display.axes_ == [ax]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x_mean0", "x_mean1")
    points = np.concatenate([s.get_offsets() for s in display.scatters_[0]])
    np.testing.assert_allclose(np.sort(points[:, 0]), np.sort(model.transform(X)[:, 0]))
    with pytest.raises(ValueError, match="2 panel"):
        LatentSpaceDisplay.from_estimator(model, X, np.zeros(len(X)), ax=ax)


def test_training_curves_one_panel_per_loss_main_loss_first(fitted):
    model, _, _ = fitted
    display = TrainingCurvesDisplay.from_estimator(model)
    losses = [name for name in model.history_[0] if name not in ("epoch", "seconds")]
    assert next(iter(display.lines_)) == "z_c"
    assert sorted(display.lines_) == sorted(losses)
    assert len(display.axes_) == len(losses)
    assert display.axes_[0].get_title() == "z_c"
    x, values = display.lines_["z_c"].get_data()
    np.testing.assert_array_equal(x, np.arange(1, model.n_iter_ + 1))
    np.testing.assert_allclose(values, [record["z_c"] for record in model.history_])


def test_missing_matplotlib_names_the_extra(fitted, monkeypatch):
    model, _, _ = fitted
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r"sklearn-latent\[plot\]"):
        TrainingCurvesDisplay.from_estimator(model)
