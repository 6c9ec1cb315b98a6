"""Pictures of a fitted model, as scikit-learn's Display objects.

Each display has a ``from_estimator`` class method that computes what to
draw from a fitted estimator and draws it, and a ``plot`` method that draws
(again) from the stored numbers, on given axes or a new figure, as
:class:`sklearn.metrics.ConfusionMatrixDisplay` does.  After ``plot`` the
display holds the matplotlib objects it drew (``figure_``, ``ax_`` or
``axes_``, and the artists).

- :class:`GeneratedSamplesDisplay`: rows the model generates, one labelled
  line per cluster (images), or each cluster's mean generated row (tables);
- :class:`LatentSpaceDisplay`: the rows' ``transform`` in two dimensions,
  coloured by cluster and, given, by true class;
- :class:`TrainingCurvesDisplay`: the losses in ``history_`` epoch by epoch.

matplotlib is an optional dependency, imported only when a display draws:
``pip install "sklearn-latent[plot]"``.
"""

import numpy as np
from sklearn.decomposition import PCA
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_consistent_length, check_is_fitted

from .metrics import sample_diversity

#: Per-cluster diversity below this is reported as near-copies (mode collapse in
#: the cluster); see :func:`sklearn_latent.metrics.sample_diversity`.
LOW_DIVERSITY = 0.5


def _pyplot():
    """matplotlib.pyplot, imported on first use: matplotlib is an optional dependency."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "sklearn_latent.plotting draws with matplotlib, which is not installed; "
            'install it with pip install "sklearn-latent[plot]" (or pip install matplotlib).'
        ) from exc
    return plt


def _new_axes(ax, n_axes=1, **subplot_params):
    """``ax`` as given, or a new figure with ``n_axes`` axes side by side."""
    if ax is not None:
        return ax
    plt = _pyplot()
    _, axes = plt.subplots(1, n_axes, squeeze=False, layout="constrained", **subplot_params)
    return axes[0, 0] if n_axes == 1 else axes[0]


def _cluster_names(labels, y, n_clusters):
    """'cluster k', with its majority class when true classes ``y`` are given."""
    names = []
    for k in range(n_clusters):
        members = np.asarray(y)[labels == k] if y is not None else None
        if members is None:
            names.append(f"cluster {k}")
        elif members.size == 0:
            names.append(f"cluster {k} (no rows)")
        else:
            values, counts = np.unique(members, return_counts=True)
            share = counts.max() / counts.sum()
            names.append(f"cluster {k} (class {values[counts.argmax()]}: {share:.0%})")
    return names


class GeneratedSamplesDisplay:
    """Rows the model generates for each cluster.

    With ``image_shape`` each cluster is one labelled line of generated
    images, so a reader sees what each cluster stands for and how varied its
    rows are.  Without, the rows are table rows: the display is each
    cluster's profile, the mean generated value of every feature as a heat
    map.  Given the real rows, each line's label carries the cluster's
    :func:`~sklearn_latent.metrics.sample_diversity`, and a low one is marked
    as near-copies.

    Parameters
    ----------
    X_generated : ndarray of shape (n_generated, n_features)
        Generated rows.
    y_generated : ndarray of shape (n_generated,)
        The cluster each row was generated from, in ``0..n_clusters-1``.
    n_clusters : int
        Number of clusters; one line each.
    image_shape : tuple of int, default=None
        ``(height, width)`` or ``(channels, height, width)`` of a row seen as
        an image; None for table rows.
    row_labels : list of str, default=None
        One label per cluster; None labels them "cluster k".
    diversity : ndarray of shape (n_clusters,), default=None
        Per-cluster sample diversity, shown beside the labels.
    feature_names : list of str, default=None
        Names of the features of table rows.
    n_per_cluster : int, default=10
        Images drawn per cluster.

    Attributes
    ----------
    image_ : matplotlib.image.AxesImage
        The mosaic of images, or the heat map of table profiles.
    ax_ : matplotlib.axes.Axes
        The axes drawn on.
    figure_ : matplotlib.figure.Figure
        The figure holding ``ax_``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_latent import ClusterGANClustering
    >>> from sklearn_latent.plotting import GeneratedSamplesDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> X, y = X[:300] / 16, y[:300]
    >>> model = ClusterGANClustering(n_clusters=10, max_iter=2, random_state=0).fit(X)
    >>> display = GeneratedSamplesDisplay.from_estimator(model, X, y, image_shape=(8, 8))
    >>> len(display.ax_.get_yticklabels())  # one labelled line per cluster
    10
    """

    def __init__(
        self,
        X_generated,
        y_generated,
        n_clusters,
        *,
        image_shape=None,
        row_labels=None,
        diversity=None,
        feature_names=None,
        n_per_cluster=10,
    ):
        self.X_generated = X_generated
        self.y_generated = y_generated
        self.n_clusters = n_clusters
        self.image_shape = image_shape
        self.row_labels = row_labels
        self.diversity = diversity
        self.feature_names = feature_names
        self.n_per_cluster = n_per_cluster

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X=None,
        y=None,
        *,
        n_per_cluster=10,
        image_shape="auto",
        feature_names=None,
        n_diversity_samples=100,
        ax=None,
        cmap=None,
    ):
        """Generate rows with ``estimator.sample`` and draw them.

        Parameters
        ----------
        estimator : fitted estimator
            A fitted sklearn-latent clusterer.
        X : array-like of shape (n_samples, n_features), default=None
            Real rows.  Given, each cluster's label carries its sample
            diversity against the rows ``estimator.predict(X)`` puts in it.
        y : array-like of shape (n_samples,), default=None
            True classes of ``X``: each cluster is labelled with its
            majority class and that class's share.
        n_per_cluster : int, default=10
            Images shown per cluster.
        image_shape : "auto", tuple of int or None, default="auto"
            How to see a row as an image: ``(height, width)`` or
            ``(channels, height, width)``.  "auto" takes the estimator's
            ``image_shape``, None draws table profiles.
        feature_names : list of str, default=None
            Feature names of table rows; None takes those seen in ``fit``,
            or ``x0``, ``x1``, ...
        n_diversity_samples : int, default=100
            Generated rows per cluster (on average) the diversity is
            measured on.
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        cmap : str, default=None
            Colour map; "gray_r" for images and "RdBu_r" for profiles when
            None.

        Returns
        -------
        display : GeneratedSamplesDisplay
            The display, drawn.
        """
        check_is_fitted(estimator)
        n_clusters = estimator._fitted_params.n_clusters
        if isinstance(image_shape, str) and image_shape == "auto":
            image_shape = getattr(estimator._fitted_params, "image_shape", None)
        n_draw = max(n_diversity_samples, 3 * n_per_cluster) * n_clusters
        X_generated, y_generated = estimator.sample(n_draw)
        diversity = row_labels = None
        if X is not None:
            labels = estimator.predict(X)
            if y is not None:
                check_consistent_length(labels, y)
            diversity = sample_diversity(X, labels, X_generated, y_generated, average=False)
            # sample_diversity orders clusters by np.unique: map them back to 0..K-1.
            present = np.unique(np.concatenate([labels, y_generated]))
            per_cluster = np.full(n_clusters, np.nan)
            per_cluster[present] = diversity
            diversity = per_cluster
            row_labels = _cluster_names(labels, y, n_clusters)
        if feature_names is None and hasattr(estimator, "feature_names_in_"):
            feature_names = list(estimator.feature_names_in_)
        display = cls(
            X_generated,
            y_generated,
            n_clusters,
            image_shape=image_shape,
            row_labels=row_labels,
            diversity=diversity,
            feature_names=feature_names,
            n_per_cluster=n_per_cluster,
        )
        return display.plot(ax=ax, cmap=cmap)

    def _label_rows(self, ax, positions):
        """Label each cluster's line; clusters of near-copies in red, said in the title."""
        labels = list(self.row_labels or [f"cluster {k}" for k in range(self.n_clusters)])
        low = np.zeros(self.n_clusters, dtype=bool)
        if self.diversity is not None:
            for k, value in enumerate(self.diversity):
                if not np.isnan(value):
                    labels[k] += f", diversity {value:.2f}"
                    low[k] = value < LOW_DIVERSITY
        # One line per label: matplotlib's layout clips multi-line tick labels.
        ax.set_yticks(positions)
        ax.set_yticklabels(labels, fontsize=8)
        for tick_label, is_low in zip(ax.get_yticklabels(), low, strict=True):
            if is_low:
                tick_label.set_color("C3")
        ax.tick_params(axis="y", length=0)
        if low.any():
            return (
                f"\nred: {low.sum()} of {self.n_clusters} clusters generate near-copies "
                f"(diversity < {LOW_DIVERSITY})"
            )
        return ""

    def plot(self, ax=None, *, cmap=None, title=None):
        """Draw the generated rows.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        cmap : str, default=None
            Colour map; "gray_r" for images and "RdBu_r" for profiles when
            None.
        title : str, default=None
            Title of the axes; None describes the picture.  The display
            draws any rows grouped by an integer (interpolations, flagged
            rows) given its own title.

        Returns
        -------
        display : GeneratedSamplesDisplay
            The display, with ``image_``, ``ax_`` and ``figure_`` set.
        """
        if self.image_shape is None:
            return self._plot_profiles(
                ax, cmap or "RdBu_r", title or "Generated rows: each cluster's mean feature values"
            )
        return self._plot_images(
            ax, cmap or "gray_r", title or "Generated rows, one line per cluster"
        )

    def _plot_images(self, ax, cmap, title):
        shape = tuple(self.image_shape)
        channels, height, width = shape if len(shape) == 3 else (1, *shape)
        columns = self.n_per_cluster
        # Images on a grid with a one-pixel grey gap, so that near-copies still
        # read as separate images; NaN marks the gap.
        mosaic = np.full(
            (self.n_clusters * (height + 1) - 1, columns * (width + 1) - 1, channels), np.nan
        )
        for k in range(self.n_clusters):
            for j, row in enumerate(self.X_generated[self.y_generated == k][:columns]):
                top, left = k * (height + 1), j * (width + 1)
                mosaic[top : top + height, left : left + width] = row.reshape(
                    channels, height, width
                ).transpose(1, 2, 0)
        low, high = np.nanmin(mosaic), np.nanmax(mosaic)
        if 0 <= low and high <= 1:
            low, high = 0.0, 1.0  # pixels: keep their own scale
        # Slots of a cluster with fewer rows are blank paper, not gap.
        pixel_row, pixel_column = np.indices(mosaic.shape[:2])
        gap = (pixel_row % (height + 1) == height) | (pixel_column % (width + 1) == width)
        blank = np.isnan(mosaic[..., 0]) & ~gap
        mosaic[blank] = low if channels == 1 and cmap.endswith("_r") else high
        if channels == 1:
            colours = _pyplot().get_cmap(cmap).with_extremes(bad="0.8")
            mosaic = np.ma.masked_invalid(mosaic[..., 0])
            extra = {"cmap": colours, "vmin": low, "vmax": high}
        else:
            mosaic = np.nan_to_num((mosaic - low) / max(high - low, 1e-12), nan=0.8).clip(0, 1)
            extra = {}
        if ax is None:
            # Room on the left for the labels (cluster, class and diversity).
            ax = _new_axes(None, figsize=(0.5 * columns + 3.0, 0.5 * self.n_clusters + 0.8))
        self.image_ = ax.imshow(mosaic, interpolation="nearest", **extra)
        ax.set_xticks([])
        note = self._label_rows(ax, (height + 1) * np.arange(self.n_clusters) + (height - 1) / 2)
        ax.set_title(f"{title}{note}", fontsize=10)
        self.ax_, self.figure_ = ax, ax.figure
        return self

    def _plot_profiles(self, ax, cmap, title):
        means = np.array(
            [
                self.X_generated[self.y_generated == k].mean(axis=0)
                if np.any(self.y_generated == k)
                else np.full(self.X_generated.shape[1], np.nan)
                for k in range(self.n_clusters)
            ]
        )
        n_features = means.shape[1]
        if ax is None:
            ax = _new_axes(
                None, figsize=(min(0.55 * n_features + 4.0, 16), 0.45 * self.n_clusters + 1.5)
            )
        limit = np.nanmax(np.abs(means)) or 1.0
        self.image_ = ax.imshow(means, cmap=cmap, vmin=-limit, vmax=limit, aspect="auto")
        names = self.feature_names or [f"x{i}" for i in range(n_features)]
        ax.set_xticks(np.arange(n_features))
        ax.set_xticklabels(names, rotation=60, ha="right", fontsize=8)
        note = self._label_rows(ax, np.arange(self.n_clusters))
        ax.figure.colorbar(self.image_, ax=ax, label="mean generated value")
        ax.set_title(f"{title}{note}", fontsize=10)
        self.ax_, self.figure_ = ax, ax.figure
        return self


class LatentSpaceDisplay:
    """The rows' latent embedding in two dimensions, coloured by cluster.

    The two dimensions are the embedding's own two columns when
    ``transform`` has two.  Otherwise, by default, they are a layout of the
    embedding's 15-nearest-neighbour graph by UMAP's objective (the library's
    own, the one its manifold initialisation uses), which keeps the rows
    that are near in ``transform(X)`` together: clusters the model separates
    show as separate groups.  ``method="pca"`` draws the first two principal
    components instead, which preserve distances but, where the embedding
    has many dimensions that carry no cluster (ClusterGAN's noise ``z_n``),
    show one cloud (silhouette of the clusters on the digits: 0.85 in the
    layout, -0.10 in PCA).  With true classes the display has a second panel
    coloured by class, so clusters and classes can be compared point by
    point.

    Parameters
    ----------
    embedding : ndarray of shape (n_samples, 2)
        The two coordinates of each row.
    labels : ndarray of shape (n_samples,)
        Cluster of each row.
    y : ndarray of shape (n_samples,), default=None
        True class of each row; None draws the clusters alone.
    axis_labels : tuple of str, default=("component 1", "component 2")
        Names of the two coordinates.

    Attributes
    ----------
    scatters_ : list of list of matplotlib.collections.PathCollection
        Per panel, one scatter per cluster (then per class).
    axes_ : list of matplotlib.axes.Axes
        One or two panels: clusters, then classes.
    figure_ : matplotlib.figure.Figure
        The figure holding the panels.
    """

    def __init__(self, embedding, labels, *, y=None, axis_labels=("component 1", "component 2")):
        self.embedding = embedding
        self.labels = labels
        self.y = y
        self.axis_labels = axis_labels

    @classmethod
    def from_estimator(
        cls, estimator, X, y=None, *, method="layout", ax=None, max_rows=5000, random_state=0
    ):
        """Embed ``X`` with ``estimator.transform``, lay it out in 2-D and draw.

        Parameters
        ----------
        estimator : fitted estimator
            A fitted sklearn-latent clusterer.
        X : array-like of shape (n_samples, n_features)
            Rows to embed.
        y : array-like of shape (n_samples,), default=None
            True classes; given, a second panel is coloured by them.
        method : {"layout", "pca"}, default="layout"
            How an embedding of more than two columns is drawn in two: a
            layout of its neighbour graph, or its first two principal
            components.
        ax : matplotlib Axes or array of 2 Axes, default=None
            One axes per panel; None makes a new figure.
        max_rows : int, default=5000
            Rows drawn at most (a random subset above that), so the picture
            stays legible.
        random_state : int, default=0
            Picks that subset, and seeds the layout or the PCA.

        Returns
        -------
        display : LatentSpaceDisplay
            The display, drawn.
        """
        check_is_fitted(estimator)
        if method not in ("layout", "pca"):
            raise ValueError(f"method must be 'layout' or 'pca', got {method!r}.")
        n_samples = X.shape[0]
        if n_samples > max_rows:
            rows = np.sort(np.random.default_rng(random_state).choice(n_samples, max_rows, False))
            X = _safe_indexing(X, rows)
            y = None if y is None else np.asarray(y)[rows]
        Z = estimator.transform(X)
        Z = np.asarray(getattr(Z, "to_numpy", lambda: Z)())  # set_output(transform="pandas")
        if Z.shape[1] == 2:
            embedding, axis_labels = Z, tuple(estimator.get_feature_names_out())
        elif method == "layout":
            embedding = _graph_layout(Z, random_state)
            axis_labels = tuple(f"transform, neighbour-graph layout {i}" for i in (1, 2))
        else:
            pca = PCA(n_components=2, random_state=random_state).fit(Z)
            embedding = pca.transform(Z)
            axis_labels = tuple(
                f"transform, PC{i + 1} ({share:.0%} of variance)"
                for i, share in enumerate(pca.explained_variance_ratio_)
            )
        display = cls(embedding, estimator.predict(X), y=y, axis_labels=axis_labels)
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw the embedding.

        Parameters
        ----------
        ax : matplotlib Axes or array of 2 Axes, default=None
            One axes per panel (two when ``y`` is set); None makes a new
            figure.

        Returns
        -------
        display : LatentSpaceDisplay
            The display, with ``scatters_``, ``axes_`` and ``figure_`` set.
        """
        panels = [(self.labels, "cluster")]
        if self.y is not None:
            panels.append((np.asarray(self.y), "class"))
        if ax is None:
            ax = _new_axes(None, len(panels), figsize=(5.5 * len(panels), 4.5))
        axes = list(np.atleast_1d(ax))
        if len(axes) != len(panels):
            raise ValueError(
                f"LatentSpaceDisplay draws {len(panels)} panel(s) (clusters"
                f"{' and true classes' if self.y is not None else ''}), but ax holds "
                f"{len(axes)} axes; pass as many axes, or ax=None."
            )
        self.scatters_ = []
        for panel_ax, (groups, name) in zip(axes, panels, strict=True):
            scatters = []
            for group in np.unique(groups):
                points = self.embedding[groups == group]
                scatters.append(
                    panel_ax.scatter(points[:, 0], points[:, 1], s=5, alpha=0.7, label=group)
                )
            panel_ax.set(xlabel=self.axis_labels[0], ylabel=self.axis_labels[1])
            panel_ax.set_title(f"Latent space, coloured by {name}")
            panel_ax.legend(title=name, markerscale=2.5, fontsize=7, loc="best")
            self.scatters_.append(scatters)
        self.axes_, self.figure_ = axes, axes[0].figure
        return self


class TrainingCurvesDisplay:
    """The losses of ``history_``, epoch by epoch, one panel each.

    The losses differ in scale by orders of magnitude, so each gets its own
    panel; the model's main loss (the one the ``verbose`` bar shows) comes
    first.

    Parameters
    ----------
    history : list of dict
        One record per epoch, as ``history_``.
    losses : list of str, default=None
        The entries to draw, in order; None draws every entry but ``epoch``
        and ``seconds``.

    Attributes
    ----------
    lines_ : dict of str to matplotlib.lines.Line2D
        The curve of each loss.
    axes_ : list of matplotlib.axes.Axes
        One panel per loss.
    figure_ : matplotlib.figure.Figure
        The figure holding the panels.
    """

    def __init__(self, history, *, losses=None):
        self.history = history
        self.losses = losses

    @classmethod
    def from_estimator(cls, estimator, *, losses=None, ax=None):
        """Draw the training curves of a fitted estimator.

        Parameters
        ----------
        estimator : fitted estimator
            A fitted sklearn-latent clusterer.
        losses : list of str, default=None
            Entries of ``history_`` to draw; None draws all, the main loss
            first.
        ax : array of matplotlib Axes, default=None
            One axes per loss; None makes a new figure.

        Returns
        -------
        display : TrainingCurvesDisplay
            The display, drawn.
        """
        check_is_fitted(estimator)
        if losses is None:
            names = [name for name in estimator.history_[0] if name not in ("epoch", "seconds")]
            main = estimator._progress_loss
            losses = sorted(names, key=lambda name: name != main)  # stable: main loss first
        return cls(estimator.history_, losses=losses).plot(ax=ax)

    def plot(self, ax=None):
        """Draw the curves.

        Parameters
        ----------
        ax : array of matplotlib Axes, default=None
            One axes per loss; None makes a new figure, four panels a row.

        Returns
        -------
        display : TrainingCurvesDisplay
            The display, with ``lines_``, ``axes_`` and ``figure_`` set.
        """
        plt = _pyplot()
        from matplotlib.ticker import MaxNLocator

        losses = self.losses or [
            name for name in self.history[0] if name not in ("epoch", "seconds")
        ]
        if ax is None:
            n_columns = min(4, len(losses))
            n_rows = -(-len(losses) // n_columns)
            _, grid = plt.subplots(
                n_rows,
                n_columns,
                squeeze=False,
                layout="constrained",
                figsize=(3.2 * n_columns, 2.4 * n_rows),
            )
            for unused in grid.ravel()[len(losses) :]:
                unused.set_visible(False)
            ax = grid.ravel()[: len(losses)]
        axes = list(np.atleast_1d(ax))
        if len(axes) < len(losses):
            raise ValueError(
                f"TrainingCurvesDisplay draws one panel per loss, {len(losses)} here "
                f"({', '.join(losses)}), but ax holds {len(axes)}; pass as many axes, choose "
                "fewer losses, or ax=None."
            )
        epochs = [record["epoch"] for record in self.history]
        self.lines_ = {}
        for panel_ax, name in zip(axes, losses, strict=False):
            values = [record.get(name, np.nan) for record in self.history]
            marker = "." if len(epochs) < 30 else None  # a few epochs read better as points
            (self.lines_[name],) = panel_ax.plot(epochs, values, marker=marker)
            finite = np.asarray(values, dtype=float)
            finite = finite[np.isfinite(finite)]
            if finite.size and finite.min() > 0 and finite.max() > 100 * finite.min():
                panel_ax.set_yscale("log")  # a loss falling by decades reads on a log scale
            panel_ax.set_title(name, fontsize=9)
            panel_ax.set_xlabel("epoch", fontsize=8)
            panel_ax.tick_params(labelsize=7)
            panel_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        self.axes_, self.figure_ = axes[: len(losses)], axes[0].figure
        return self


def _graph_layout(Z, seed):
    """A 2-D layout of the rows' 15-nearest-neighbour graph by UMAP's objective."""
    from ._manifold import N_NEIGHBORS, fuzzy_neighbor_graph, layout_epochs, optimize_layout

    Z = np.asarray(Z, dtype=np.float64)
    n_rows = Z.shape[0]
    if n_rows < 4:  # too few rows for a graph: the first two columns
        return Z[:, :2]
    graph = fuzzy_neighbor_graph(Z, min(N_NEIGHBORS, n_rows - 1))
    return optimize_layout(graph, 2, layout_epochs(n_rows), seed)
