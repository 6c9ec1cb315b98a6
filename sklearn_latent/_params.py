"""The parameters every model shares: their constraints and numpydoc entries, each written once.

A model's class docstring names a shared entry by a line ``name : (shared)``
under its Parameters or Attributes heading; :func:`fill_shared_entries`
replaces that line by the entry below, at the line's indentation, so every
model describes it in the same words.
"""

import re
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from ._validation import FLOAT32_MAX

#: The constraints of the parameters every model shares (scikit-learn's form);
#: the training recipe declares its own (``_recipe.RECIPE_PARAMETER_CONSTRAINTS``).
SHARED_PARAMETER_CONSTRAINTS = {
    "n_clusters": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    "max_clusters": [Interval(Integral, 2, None, closed="left"), None],
    "latent_dim": [Interval(Integral, 1, None, closed="left")],
    "hidden_units": [tuple, list, None],
    "image_shape": [tuple, list, None],
    "max_iter": [Interval(Integral, 1, None, closed="left"), None],
    "batch_size": [Interval(Integral, 2, None, closed="left")],
    "learning_rate": [Interval(Real, 0, FLOAT32_MAX, closed="right")],
    "betas": [tuple, list],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), None],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "warm_start": ["boolean"],
    "precision": [StrOptions({"float32", "bfloat16"})],
    "device": [str],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}
#: Parameters given as sequences: the constraint every element meets, the
#: number of elements (None: any, but at least one), and their description.
SEQUENCE_CONSTRAINTS = {
    "hidden_units": (
        Interval(Integral, 1, None, closed="left"),
        None,
        "a non-empty sequence of positive layer widths, e.g. (256, 256)",
    ),
    "image_shape": (
        Interval(Integral, 1, None, closed="left"),
        3,
        "three positive integers (channels, height, width)",
    ),
    "betas": (
        Interval(Real, 0, 1, closed="left"),
        2,
        "two numbers in [0, 1), Adam's (beta1, beta2), e.g. (0.9, 0.999)",
    ),
}


SHARED_ENTRIES = {
    "max_clusters": """max_clusters : int, default=None
    The largest number of clusters ``n_clusters="auto"`` considers; None
    means 50.  The search also stops at a fifth of the rows it lays out (a
    sample of at most 5,000): 400 rows hold at most 80 clusters.
    Ignored when ``n_clusters`` is a number.""",
    "hidden_units": """hidden_units : tuple of int, default=None
    Widths of the hidden layers of every network of the model.  None sizes
    them to the input: two layers of 256, or of 128 on rows of more than
    1,024 features (where the first and last layers cost the most).  With
    ``image_shape``, three widths give the two convolutions' channels and the
    dense layer, and one the dense layer beside the papers' 64 and 128
    channels; None stands for ``(16, 32, 128)``, which clustered as the
    papers' ``(64, 128, 1024)`` did in an eighth to a quarter of the time on a
    CPU.""",
    "image_shape": """image_shape : tuple of (channels, height, width), default=None
    Set it for images given as flattened rows, in (C, H, W) order, to use
    the convolutional nets of the model's paper (two strided convolutions
    and a dense layer; decoders and generators mirror them; their widths
    are ``hidden_units``'s) instead of dense layers.  Height and width must
    be at least 4 pixels.""",
    "max_iter": """max_iter : int, default=None
    Number of epochs (passes over the training rows).  None chooses the
    number for about 500 updates (``ceil(n_samples / batch_size)`` per
    epoch), between 1 and 200 epochs, so training time stops growing with
    the number of rows.""",
    "batch_size": """batch_size : int, default=256
    Rows per mini-batch; the batches of an epoch are balanced (their sizes
    differ by at most one row), so none holds a single row.""",
    "n_iter_no_change": """n_iter_no_change : int, default=None
    If set, hold out ``validation_fraction`` of the rows and stop when their
    mean :meth:`score_samples` has not improved by ``tol`` for this many
    epochs, keeping the best epoch's weights.  None trains ``max_iter``
    epochs on all rows.""",
    "validation_fraction": """validation_fraction : float, default=0.1
    Share of rows held out for early stopping (used with ``n_iter_no_change``).""",
    "tol": """tol : float, default=1e-4
    Smallest gain of the held-out mean :meth:`score_samples` that counts as
    an improvement for early stopping.""",
    "warm_start": """warm_start : bool, default=False
    When True and the estimator is fitted, ``fit`` continues training the
    fitted networks for ``max_iter`` more epochs and appends to
    ``history_``, without repeating the manifold initialisation, the number
    of clusters' search or any pretraining.  Adam continues from the
    moments the last fit left (at the current ``learning_rate`` and
    ``betas``), with new batches and noise.  The parameters that shape the
    networks, and the data's columns, must stay as they were.  When False,
    every ``fit`` starts afresh.""",
    "precision": """precision : {"float32", "bfloat16"}, default="float32"
    Precision of the training forward passes.  "bfloat16" runs them under
    :func:`torch.autocast` (mixed precision: weights, optimiser state and
    inference stay float32); it is meant for GPUs with bfloat16 units.""",
    "device": """device : str, default="auto"
    Torch device to train on: "auto" (CUDA, then MPS, then CPU), "cpu",
    "cuda", "cuda:1", "mps".  A fitted model pickles with its weights on the
    CPU and loads onto this device where it exists, else the CPU.""",
    "random_state": """random_state : int, RandomState instance or None, default=None
    Seeds everything a fit draws: the initial weights, the neighbour
    search's sample and the manifold initialisation, batch order, the
    latent draws and :meth:`sample`.  An int gives the same labels on the
    same machine and thread count.  The global NumPy and torch generators
    are never read or changed.""",
    "verbose": """verbose : int, default=0
    If positive, show a progress bar with the model's main loss each epoch.""",
    "n_neighbors": """n_neighbors : int, default=10
    Neighbours per row for the consistency term, found once per ``fit`` in
    the geometry ``metric`` names (on the top 50 singular directions of
    dense rows of more than 100 features): exact up to 20,000 training
    rows, approximate above (NN-descent, by pynndescent; sparse rows of
    more than 100 features on their top 50 singular directions, scaled
    to unit length, as latent semantic analysis compares documents).""",
    "metric": """metric : {"auto", "euclidean", "cosine"}, default="auto"
    How rows are compared to find their neighbours, for the neighbour
    term and the manifold initialisation: by distance, or by angle
    (rows scaled to unit length first), as for documents, which are
    alike when their terms are, whatever their lengths.  ``"auto"`` is
    ``"cosine"`` for a sparse matrix without negative entries (term counts,
    TF-IDF) and ``"euclidean"`` otherwise; ``metric_`` says which was used.""",
    "consistency_weight": """consistency_weight : float or "auto", default="auto"
    Weight of the term that puts a real row and one of its ``n_neighbors``
    nearest rows in the same cluster (``-log sum_k p_k q_k`` on their cluster
    posteriors, the neighbour term of SCAN, Van Gansbeke et al. 2020); 0
    turns it off and skips the nearest-neighbour search.  ``"auto"`` is 10
    where rows are compared by distance (``metric_ == "euclidean"``) and 0
    for documents (``"cosine"``), whose initial clusters their centroids
    refine (see ``cluster_init``) and the neighbour term would undo.""",
    "balance_weight": """balance_weight : float, default=20.0
    Weight of the term that keeps the mean cluster posterior of a batch of
    real rows at the share of the rows each cluster holds in the manifold
    start (``KL(mean p || shares)``), or at the uniform cluster prior
    (``log K - H(mean p)``) without that start; 0 turns it off.""",
    "cluster_init": """cluster_init : {"manifold"} or None, default="manifold"
    How clusters start.  "manifold": before training, up to 20,000
    training rows (10,000 of sparse ones) are laid out in 10 dimensions by
    UMAP's objective on their 15-nearest-neighbour graph and Gaussian
    mixtures are fitted there (the N2D recipe, McConville et al. 2020);
    rows the mixture assigns with
    probability at least 0.9 anchor the cluster posterior during training
    (see ``init_weight``; documents, ``metric_ == "cosine"``, in the
    clusters to which spherical k-means started from the mixture's moves
    them), and a model with cluster parameters of its own starts them
    there.  None starts as the model's paper does.  Skipped on
    a warm start and when partial labels are given.""",
    "init_weight": """init_weight : float, default=10.0
    Weight of the cross-entropy between the cluster posterior of anchored
    rows and their initial cluster; 0 turns it off.""",
    "label_weight": """label_weight : float, default=0.0
    Semi-supervised fitting, off at 0.  Above 0, ``fit(X, y)`` reads ``y``
    as partial labels (a class in ``[0, n_clusters)``, -1 for unlabelled
    rows) and adds this weight times the cross-entropy between the labels
    and the cluster posterior of the labelled rows, so cluster k becomes
    class k (10 is a good start, see ``benchmarks/NOTES.md``); the manifold
    start's clusters, renamed to the labelled rows' classes, anchor the
    unlabelled rows.""",
    "loss": """loss : {"nonsaturating", "wgan-gp"}, default="nonsaturating"
    Adversarial loss: the non-saturating GAN loss (Goodfellow et al. 2014)
    or the Wasserstein loss with gradient penalty (Gulrajani et al. 2017).""",
    "gradient_penalty": """gradient_penalty : float, default=10.0
    Weight of the WGAN-GP gradient penalty, one interpolation per row (used
    with ``loss="wgan-gp"``).""",
    "manifold_weight": """manifold_weight : float, default=0.0
    Weight of the Localized GAN smoothness term (Qi et al., CVPR 2018):
    the squared rate of change of the cluster posterior along the
    generator's tangent directions, ``||d p(G(z)) / dz||^2`` over the
    continuous latent coordinates, by finite differences.  It regularises
    along the manifold G charts rather than over the neighbour graph.
    0 turns it off.""",
    "orthonormality_weight": """orthonormality_weight : float, default=0.0
    Weight of the Localized GAN term ``||J^T J - I||^2`` on the Jacobian
    J of G with respect to the continuous latent coordinates (in units of
    their prior standard deviation), against mode collapse; the
    official code uses 0.01.  0 turns it off.""",
    "output_activation": 'output_activation : {"auto", "sigmoid", "unit", "linear"}, '
    """default="auto"
    Output of G: ``"sigmoid"`` values in (0, 1); ``"unit"`` non-negative
    rows of unit length (a softmax over the features, scaled to unit
    Euclidean length), as ``TfidfVectorizer``'s rows are; ``"linear"`` any
    values.  ``"auto"`` takes ``"unit"`` for documents (``metric_`` is
    ``"cosine"``), a sigmoid when the training data lie in [0, 1]
    (pixels, min-max scaled rows), linear otherwise.""",
    "n_clusters_": """n_clusters_ : int
    The number of clusters fitted: ``n_clusters``, or the number found
    when it is ``"auto"``.  ``predict_proba`` has this many columns,
    ``sample`` draws from this many clusters.""",
    "n_clusters_search_": """n_clusters_search_ : dict of ndarray
    Only with ``n_clusters="auto"``: the search behind ``n_clusters_``.  For
    each candidate number of clusters K (``"n_clusters"``, from 1), from the
    neighbour graph cut into small pieces and merged back, the pair most
    linked first (three layouts, averaged): the link ratio of the split that
    made the K-th cluster, the edge weight between its two sides over the
    weight expected between groups of their degrees (``"link_ratio"``, NaN
    for K = 1), and the graph's modularity with K clusters
    (``"modularity"``).  The number found is the largest K with a link
    ratio of at most 1/3 whose clusters all hold 0.5 % of the rows: plot
    ``link_ratio`` against ``n_clusters`` to see how clear that split is
    and where the next candidates lie.""",
    "metric_": """metric_ : {"euclidean", "cosine"}
    The geometry neighbours were found in, ``metric`` with ``"auto"`` resolved.""",
}

_SHARED_LINE = re.compile(r"^(?P<indent>[ ]*)(?P<name>\w+) : \(shared\)$", re.MULTILINE)


def fill_shared_entries(cls):
    """Class decorator: put the shared entries into ``cls.__doc__`` where it names them."""

    def entry(match):
        indent = match.group("indent")
        return "\n".join(
            indent + line if line else line
            for line in SHARED_ENTRIES[match.group("name")].splitlines()
        )

    if cls.__doc__ is not None:  # None under python -OO
        cls.__doc__ = _SHARED_LINE.sub(entry, cls.__doc__)
    return cls


def model_parameters(init_locals):
    """The arguments of a model's ``__init__``, read from its ``locals()`` first thing.

    Every model declares each of its parameters, with its default, in its
    own ``__init__`` signature, which scikit-learn's ``get_params`` reads,
    and hands them all to the base to store untouched:
    ``super().__init__(**model_parameters(locals()))``.  (``__class__`` is
    the cell ``super()`` reads, not a parameter.)
    """
    return {name: value for name, value in init_locals.items() if name not in ("self", "__class__")}
