"""The template every sklearn-latent estimator is built on.

:class:`BaseLatentClustering` owns everything that is not a model's mathematics:
parameter and data validation, the device, seeding from ``random_state``, the
epoch/mini-batch loop, progress, ``history_``, batched inference and pickling.
A model subclass supplies its networks and losses through a few hooks
(the shape of :class:`sklearn.mixture._base.BaseMixture`), and declares in its
``__init__`` every parameter of ``_parameter_constraints``, the shared
recipe's included.  Two layers sit between this base and the models:
:class:`~sklearn_latent._gan.BaseGANClustering` for the models trained as a
game, :class:`~sklearn_latent._vae.BaseVAEClustering` for those trained on an
ELBO; a model of neither kind (e.g. DEC) subclasses this base directly.
The hooks:

``_build(n_features, unit_interval)``
    create the fitted networks (attributes ending in ``_``); ``unit_interval``
    says whether the training data lie in [0, 1] (pixels, min-max scaled rows),
    which picks a sigmoid/Bernoulli output where the model offers one.  It
    runs under :func:`~sklearn_latent._runtime.drawing_from`: torch's default
    initialisation and any ``torch.randn``-like draw in it take the fit's own
    generator, never the global one;
``_make_optimizers()`` (optional)
    the optimisers ``_train_step`` receives (default: one Adam over every
    network, ``self._adam(parameters, learning_rate)``, which applies ``betas``);
``_train_step(batch, optimizers, random)``
    one optimisation step on a :class:`~sklearn_latent._data.TrainingBatch`,
    returning a dict of detached 0-d loss tensors; forward passes go inside
    ``self._autocast()`` so ``precision`` applies, and ``self._update(optimizer,
    loss)`` takes the step.  The step adds ``self._recipe_loss(batch, proba)``
    -- the shared training recipe on the cluster posterior of the batch's real
    rows -- to the loss of the network behind ``_cluster_proba``: that is all
    a model says of the recipe;
``_cluster_proba(X)``, ``_encode(X)``
    tensor-in, tensor-out inference used by ``predict_proba`` and ``transform``;
``_score_samples(X)``
    the per-row, higher-is-better number behind ``score_samples``/``score``;
``_feature_names_out()``, ``_progress_loss``
    the names of the ``transform`` columns, and the ``history_`` entry the
    ``verbose`` bar shows;
``_decode(Z)``, ``_generate(clusters, random)`` (optional)
    the data rows of a batch of embeddings, and rows generated from a batch
    of cluster indices: a model that defines them has ``inverse_transform`` and
    ``sample``, one that does not (no decoder) has neither;
``_check_data_against_params(X)`` (optional)
    refuse, before any training, parameters that do not suit the data or
    each other in ways the parameter constraints cannot say (call super);
``_initialize(X, train_rows, known_clusters, random)`` (optional)
    prepare the new networks from the training rows before training, e.g.
    autoencoder pretraining and a mixture fitted on its embedding; skipped on
    a warm start;
``_begin_epoch(X, train_rows, random)`` (optional)
    work done once per epoch before its steps, e.g. refreshing a target
    distribution over the training rows (DEC), which the steps then read by
    the batch's ``indices``;
``_validation_score(X, rows)`` (optional)
    the held-out number early stopping maximises, by default the mean of
    ``_score_samples`` (a model whose ``score`` is not that mean overrides it);
``_cluster_weights()`` (optional)
    the cluster prior ``sample`` draws from, uniform unless the model learns it;
``_fit_assignment(X)`` (optional)
    fit whatever turns the trained model into labels, e.g. k-means;
``_cluster_posterior_weights()`` (optional)
    the weights of the terms that train the network behind
    ``_cluster_proba``, so that ``fit`` refuses settings that train none.

Only ``fit`` reads the parameters.  It checks them and records them first in
``self._fitted_params`` (a :class:`FittedParams`), as the plain Python values
they stand for (``np.uint8(32)`` as 32, ``Fraction(1, 1000)`` as 0.001), and
every hook, in training and in inference, reads that record, never
``self.<parameter>``: training computes with Python numbers, and a fitted
model answers from what it learned, whatever ``set_params`` did since.  (The
one exception is ``random_state``, which ``fit`` draws its seed from as given,
so that a ``RandomState`` instance advances as scikit-learn's estimators do.)
Every public inference method returns through
:meth:`BaseLatentClustering._infer` (or ``_finite``), which refuses NaN and
infinite outputs with a ``ValueError`` naming the fix.

Threads: ``fit`` trains on torch's thread count as it finds it and never
changes it: the count is process-wide, so a fit that lowered it would change
the arithmetic of fits and predictions running in other threads, and a count
chosen from the machine's load would make the same seed give other labels
from one fit to the next.  Under joblib's default (loky) backend and on dask
workers, each worker process starts with ``OMP_NUM_THREADS`` set to its share
of the cores, which torch reads when it is imported there, so a parallel grid
search does not oversubscribe the machine.
"""

import copy
import fractions
import inspect
import math
import time
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    StrOptions,
    make_constraint,
    validate_parameter_constraints,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ._data import (
    as_tensor,
    make_row_source,
    nearest_neighbors,
    neighbor_space,
    resolve_metric,
    take_rows,
)
from ._losses import posterior_regularizer
from ._manifold import MAX_CLUSTERS, count_clusters, manifold_clusters
from ._networks import network_signature
from ._progress import CallbackSupportMixin, FitProgress, init_callback_context, with_callbacks
from ._runtime import drawing_from, interruptions_deferred

#: Rows per forward pass at inference; bounded so memory stays flat on any input size.
INFERENCE_BATCH_SIZE = 4096
#: With ``max_iter=None``, training makes about this many updates (epochs are
#: rounded), so its cost stays flat as rows grow instead of growing with them ...
AUTO_UPDATES = 500
#: ... in at most this many epochs (small inputs).
AUTO_MAX_EPOCHS = 200
#: With ``hidden_units=None``, rows of more than this many features get
#: narrower hidden layers (see ``_hidden_units``).
WIDE_ROW_FEATURES = 1024
#: Largest float32 value: the bound of every real parameter that reaches the networks'
#: float32 arithmetic (a weight, a learning rate, a scale); beyond it torch cannot
#: even convert the number.
FLOAT32_MAX = float(np.finfo(np.float32).max)
#: Largest feature magnitude ``fit`` accepts: the square root of float32's maximum.
#: Squared errors, Gaussian densities and the first layers' updates of larger
#: values overflow the float32 networks.
MAX_ABS_FEATURE = float(np.sqrt(FLOAT32_MAX))
#: Torch device types a model trains on.
DEVICE_TYPES = ("cpu", "cuda", "mps")


class TrainingDivergedError(ValueError):
    """Raised when a training loss becomes NaN or infinite during ``fit``."""


class FitInterruptedWarning(UserWarning):
    """Warns that ``fit`` was interrupted (Ctrl-C) and kept its last finished epoch."""


def resolve_device(device):
    """Map the ``device`` parameter to a :class:`torch.device`.

    ``"auto"`` picks CUDA when present, then Apple MPS, then the CPU.
    """
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a device name; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."
        ) from exc
    if resolved.type not in DEVICE_TYPES:
        raise ValueError(
            f"device={device!r} is not a device the model can compute on; use 'auto', 'cpu', "
            "'cuda', 'cuda:N' or 'mps'."
        )
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but this torch build sees no CUDA GPU; "
            "use device='auto' to fall back to the CPU."
        )
    if resolved.type == "cuda" and (resolved.index or 0) >= torch.cuda.device_count():
        raise ValueError(
            f"device={device!r} was requested but only {torch.cuda.device_count()} CUDA "
            "GPU(s) are visible; use 'cuda' or a smaller index."
        )
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(
            f"device={device!r} was requested but MPS is not available; use device='auto'."
        )
    return resolved


def _available_device(device):
    """The device a loaded model runs on: the requested one if present, else CPU."""
    try:
        return resolve_device(device)
    except ValueError:
        return torch.device("cpu")


class FittedParams(SimpleNamespace):
    """The parameters of the last successful ``fit``, as attributes.

    ``fit`` records them, checked and as plain Python numbers, before it
    reads any, and training and inference read them here, never the
    estimator's live parameters: ``set_params`` on a fitted model changes
    nothing until the next ``fit`` (as ``KMeans.predict`` uses
    ``cluster_centers_``, whatever ``n_clusters`` says now).  Once ``fit``
    has sized the networks, ``n_clusters`` here is the number fitted
    (``n_clusters_``), ``"auto"`` resolved.
    """


class TrainingRandomness:
    """The random streams of one ``fit``, all derived from one seed.

    ``numpy`` shuffles rows on the host; ``torch`` draws latent samples and
    other noise directly on the training device; ``initialization`` draws the
    networks' initial weights (see :func:`~sklearn_latent._runtime.drawing_from`).
    None touches the global NumPy or torch generators.
    """

    def __init__(self, seed, device):
        self.seed = seed
        self.numpy = np.random.default_rng(seed)
        self.torch = torch.Generator(device=device)
        self.torch.manual_seed(seed)
        # The networks' initial weights, drawn on the CPU where they are built.
        self.initialization = torch.Generator().manual_seed(seed)

    def randn(self, *shape, device):
        return torch.randn(*shape, generator=self.torch, device=device)

    def rand(self, *shape, device):
        return torch.rand(*shape, generator=self.torch, device=device)

    def randint(self, high, shape, device):
        return torch.randint(high, shape, generator=self.torch, device=device)


def plain_number(value):
    """A NumPy scalar or other number as the Python bool, int or float it stands for.

    ``fit`` reads its parameters through this once, where it checks them, so
    that ``np.uint8(32)`` trains as 32 (no uint8 arithmetic overflows in the
    epoch budget), ``np.float16(1e-3)`` as the float it holds, and
    ``Fraction(1, 1000)`` meets the interval checks, which call ``np.isnan``,
    as 0.001.  A number beyond any float becomes an infinity of its sign, so
    that the bound it exceeds names it.  Anything else is returned as it is.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
        except (TypeError, ValueError):
            return value
    return value


def seed_from_random_state(random_state):
    """An integer seed from ``random_state`` without touching NumPy's global RNG.

    ``None`` draws fresh OS entropy (unlike ``check_random_state(None)``, which
    would advance the global ``np.random`` state).
    """
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


class BaseLatentClustering(
    CallbackSupportMixin,
    TransformerMixin,
    ClusterMixin,
    BaseEstimator,
    metaclass=ABCMeta,
):
    """Template for deep latent-variable clustering estimators.

    Not for direct use: subclasses define ``__init__`` with their parameters
    and implement the model hooks listed in the module docstring.
    """

    _parameter_constraints = {
        "n_clusters": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "max_clusters": [Interval(Integral, 2, None, closed="left"), None],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden_units": [tuple, list, None],
        "image_shape": [tuple, list, None],
        "max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(Integral, 2, None, closed="left")],
        "learning_rate": [Interval(Real, 0, FLOAT32_MAX, closed="right")],
        "betas": [tuple, list],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "metric": [StrOptions({"auto", "euclidean", "cosine"})],
        "consistency_weight": [Interval(Real, 0, FLOAT32_MAX, closed="both")],
        "balance_weight": [Interval(Real, 0, FLOAT32_MAX, closed="both")],
        "cluster_init": [StrOptions({"manifold"}), None],
        "init_weight": [Interval(Real, 0, FLOAT32_MAX, closed="both")],
        "label_weight": [Interval(Real, 0, FLOAT32_MAX, closed="both")],
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
    _sequence_constraints = {
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

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _build(self, n_features, unit_interval):
        """Create the networks as fitted attributes (on the CPU)."""

    def _make_optimizers(self):
        """The optimisers ``_train_step`` receives, made after the modules moved.

        By default one Adam at ``learning_rate`` over every network, as a
        model trained on one objective (a VAE) needs; adversarial models
        override it with one optimiser per player.
        """
        fitted = self._fitted_params
        parameters = [p for module in self._modules() for p in module.parameters()]
        return self._adam(parameters, fitted.learning_rate)

    def _adam(self, parameters, learning_rate):
        """Adam at ``learning_rate`` with the ``betas`` parameter, the optimiser of every model."""
        fitted = self._fitted_params
        # torch refuses an int beta beside a float one
        return torch.optim.Adam(
            parameters, lr=learning_rate, betas=tuple(float(beta) for beta in fitted.betas)
        )

    @staticmethod
    def _update(optimizer, loss):
        """One step of ``optimizer`` down the gradient of ``loss``."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    @abstractmethod
    def _train_step(self, batch, optimizers, random):
        """One optimisation step on a ``TrainingBatch``; return detached 0-d loss tensors."""

    @abstractmethod
    def _cluster_proba(self, X):
        """Cluster membership probabilities for a tensor batch."""

    @abstractmethod
    def _encode(self, X):
        """Latent embedding (the output of ``transform``) for a tensor batch."""

    @abstractmethod
    def _score_samples(self, X):
        """Per-row, higher-is-better score for a tensor batch."""

    @abstractmethod
    def _feature_names_out(self):
        """Names of the ``transform`` columns: ``proba{k}`` first, where present, then the rest."""

    #: The ``history_`` entry the ``verbose`` bar shows: the model's main loss.
    _progress_loss = None

    def _decode(self, Z):
        """Data rows for a tensor batch of embeddings (``inverse_transform``).

        A model without a decoder leaves this undefined, and has no
        ``inverse_transform``.
        """
        raise NotImplementedError

    def _generate(self, clusters, random):
        """Rows generated for a tensor batch of cluster indices (``sample``).

        A model that cannot generate leaves this undefined, and has no ``sample``.
        """
        raise NotImplementedError

    def _generates(self):
        """Whether the model defines ``_generate``, so that it has ``sample``."""
        return type(self)._generate is not BaseLatentClustering._generate

    def _decodes(self):
        """Whether the model defines ``_decode``, so that it has ``inverse_transform``."""
        return type(self)._decode is not BaseLatentClustering._decode

    # -------------------------------------------------------------- training
    @with_callbacks
    def fit(self, X, y=None):
        """Train the model on ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows.  Images are passed flattened, with ``image_shape``
            giving their ``(channels, height, width)``.  A float32 array or
            memmap is used in place and a CSR matrix stays sparse: neither is
            copied whole.
        y : array-like of shape (n_samples,), default=None
            Ignored (as by every scikit-learn clusterer) unless
            ``label_weight > 0``.  Then it holds partial labels, as in
            :mod:`sklearn.semi_supervised`: the class of a row as an integer
            in ``[0, n_clusters)``, or -1 where unknown.  Labelled rows anchor
            the clusters -- cluster ``k`` is class ``k``, so ``predict``
            returns classes -- through a cross-entropy term on their cluster
            posterior weighted by ``label_weight``.  None (or all -1) fits
            without labels.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        # A failed fit (bad data, divergence, Ctrl-C before an epoch ends) must
        # leave a previously fitted model usable: new networks are new objects
        # (a warm start trains copies), so restoring the attribute dict, taken
        # before validation resets n_features_in_, restores the old model.
        # Once _fit returns, at least one epoch finished, and Ctrl-C no longer
        # fails the fit (_train_loop and _finish_fit keep the trained model).
        # The callback context comes first so that a restore keeps it for teardown.
        init_callback_context(self, self.max_iter)
        previous_state = dict(vars(self))
        try:
            self._fitted_params = FittedParams(**copy.deepcopy(self._validate_params()))
            warm_start = self._fitted_params.warm_start and hasattr(self, "n_iter_")
            X = self._validate_training_data(X, warm_start)
            labels = self._validate_labels(y, X.shape[0])
            self._check_data_against_params(X)
            self._check_cluster_posterior_trained(labels)
            self._fit_progress = FitProgress(self, X, y)
            self._fit_progress.begin_fit()
            self._fit(X, labels, warm_start)
            self._finish_fit(X)
            self._warn_empty_clusters()
        except BaseException:
            vars(self).clear()
            vars(self).update(previous_state)
            raise
        finally:
            vars(self).pop("_fit_progress", None)
        return self

    def _warn_empty_clusters(self):
        """Say so when training left clusters without a row: the user asked for more."""
        n_clusters = self._fitted_params.n_clusters
        empty = np.flatnonzero(np.bincount(self.labels_, minlength=n_clusters) == 0)
        if not empty.size:
            return
        shown = ", ".join(map(str, empty[:10])) + (", ..." if empty.size > 10 else "")
        warnings.warn(
            f"{type(self).__name__} found {n_clusters - empty.size} non-empty clusters of the "
            f"n_clusters={n_clusters} asked for: no training row falls in cluster(s) {shown}. "
            "The data may hold fewer clusters; lower n_clusters, or train longer (max_iter).",
            ConvergenceWarning,
            stacklevel=4,  # the caller of fit, past fit's with_callbacks wrapper
        )

    def _finish_fit(self, X):
        """Labels from the trained model, then the fit's callbacks end; Ctrl-C cannot undo it.

        Training finished at least one epoch when this runs, and the README
        promises the model as of the last finished epoch: an interruption here
        (e.g. in ClusterGAN's k-means) warns and completes what is missing
        with further Ctrl-C held back, so ``labels_`` are those of an
        uninterrupted fit.
        """
        done = set()

        def complete():
            if "assignment" not in done:
                self._fit_assignment(X)
                done.add("assignment")
            if "labels" not in done:
                self.labels_ = self._assign(X, method="fit")
                done.add("labels")
            if "callbacks" not in done:
                done.add("callbacks")  # once only, even if interrupted: a callback may record
                self._fit_progress.end_fit()

        try:
            complete()
        except KeyboardInterrupt:
            with interruptions_deferred():
                warnings.warn(
                    f"{type(self).__name__}.fit was interrupted after its last epoch (epoch "
                    f"{self.n_iter_}) finished; the model is kept as of that epoch, and its "
                    "labels_ were completed before fit returned.",
                    FitInterruptedWarning,
                    stacklevel=4,  # the caller of fit, past fit's with_callbacks wrapper
                )
                complete()

    def _validate_params(self):
        """The parameters as plain Python values, checked: scikit-learn's validation, made strict.

        NumPy scalars and other numbers are read once, here, as the Python
        values they stand for (:func:`plain_number`, element by element in the
        sequence parameters); ``fit`` records what this returns and training
        reads that record, never the estimator's own (unchanged) parameters.
        Beyond scikit-learn's checks: its ``Interval(Integral, ...)`` takes
        ``True`` for 1, a ``tuple`` constraint says nothing of the elements,
        a check that fails on an odd type (not with the parameter's name) is
        reported with it, Adam's first step must stay within float32, and the
        device is resolved here, so that every parameter fails before any data
        is read.

        Returns
        -------
        params : dict
            The checked parameters by name.
        """
        params = {
            name: tuple(plain_number(v) for v in value)
            if name in self._sequence_constraints and isinstance(value, (tuple, list))
            else plain_number(value)
            for name, value in self.get_params(deep=False).items()
        }
        for name, constraints in self._parameter_constraints.items():
            kinds = {getattr(c, "type", None) for c in constraints}
            value = params[name]
            if Real in kinds and Integral not in kinds and type(value) is int:
                # An int for a real parameter is used as a float: 10**400 is an infinity.
                params[name] = plain_number(fractions.Fraction(value))
        estimator = type(self).__name__
        for name, constraints in self._parameter_constraints.items():
            value = params[name]
            allowed = " or ".join(str(make_constraint(c)) for c in constraints)
            try:
                validate_parameter_constraints(
                    {name: constraints}, {name: value}, caller_name=estimator
                )
            except InvalidParameterError:
                raise
            except Exception as exc:
                # e.g. a number type scikit-learn's interval check cannot compare
                raise InvalidParameterError(
                    f"The {name!r} parameter of {estimator} must be {allowed}; checking "
                    f"{value!r} against that failed ({type(exc).__name__}: {exc})."
                ) from exc
            if isinstance(value, bool) and not any(
                constraint in ("boolean", "verbose") for constraint in constraints
            ):
                raise InvalidParameterError(
                    f"The {name!r} parameter of {estimator} must be {allowed}, not "
                    f"a bool; got {value!r}."
                )
        for name, (element, length, description) in self._sequence_constraints.items():
            value = params[name]
            if value is None:
                continue
            if (len(value) == 0 if length is None else len(value) != length) or not all(
                element.is_satisfied_by(v) and not isinstance(v, bool) for v in value
            ):
                raise InvalidParameterError(
                    f"The {name!r} parameter of {estimator} must be {description}; "
                    f"got {self.get_params(deep=False)[name]!r}."
                )
        self._check_adam_steps(params)
        resolve_device(params["device"])
        return params

    #: The parameters that are Adam learning rates (None: not set, another one applies).
    _learning_rate_parameters = ("learning_rate",)

    def _check_adam_steps(self, params):
        """Refuse a learning rate whose first Adam step overflows float32.

        Adam's first step is ``learning_rate / (1 - beta1)`` (its bias
        correction), which torch converts to float32: beyond float32's
        maximum it fails with an overflow error that names no parameter.
        """
        beta1 = params["betas"][0]
        largest = FLOAT32_MAX * (1 - beta1)
        while largest / (1 - beta1) > FLOAT32_MAX:  # torch's own division, to the last bit
            largest = float(np.nextafter(largest, 0.0))
        for name in self._learning_rate_parameters:
            value = params[name]
            if value is not None and value / (1 - beta1) > FLOAT32_MAX:
                raise InvalidParameterError(
                    f"The {name!r} parameter of {type(self).__name__} is {value:.4g}, so "
                    f"Adam's first step, {name} / (1 - betas[0]) = {value / (1 - beta1):.4g}, "
                    f"overflows float32 (largest {FLOAT32_MAX:.4g}); with betas[0]={beta1} the "
                    f"largest {name} that works is {largest!r}."
                )

    def _validate_training_data(self, X, warm_start):
        try:
            X = self._validate_X(X, reset=not warm_start, ensure_min_samples=2)
        except ValueError as exc:
            if warm_start and "features" in str(exc):
                raise ValueError(
                    f"{exc} warm_start=True continues the fitted model, which needs data of the "
                    "same columns; set warm_start=False to train a new model on these."
                ) from exc
            raise
        largest = float(max(X.max(), -X.min()))
        if largest > MAX_ABS_FEATURE:
            raise ValueError(
                f"X holds values up to {largest:.3g} in absolute value, beyond the "
                f"{MAX_ABS_FEATURE:.3g} the float32 networks can train on (their squares "
                "overflow). Scale the features, e.g. with sklearn.preprocessing.StandardScaler."
            )
        return X

    def _validate_labels(self, y, n_samples):
        """Partial labels as int64 with -1 for unlabelled rows, or None if none are used."""
        fitted = self._fitted_params
        if y is None or fitted.label_weight == 0:
            return None
        y = column_or_1d(y)
        check_consistent_length(np.empty((n_samples, 0)), y)
        hint = (
            "pass y as integer classes 0..n_clusters-1 with -1 for unlabelled rows (the "
            "sklearn.semi_supervised convention; sklearn.preprocessing.LabelEncoder maps "
            "other labels), or no y to fit without labels"
        )
        numeric = np.issubdtype(y.dtype, np.number)
        if not numeric or not np.isfinite(y).all() or (y != np.round(y)).any():
            raise ValueError(
                f"y must hold integer class labels; got {y.dtype} values. To fix, {hint}."
            )
        y = y.astype(np.int64)
        if fitted.n_clusters == "auto":
            raise ValueError(
                "n_clusters='auto' cannot be combined with partial labels: cluster k stands "
                "for class k, so the number of clusters is the number of classes. Pass "
                "n_clusters as that number, or fit without y (or with label_weight=0)."
            )
        outside = np.unique(y[(y < -1) | (y >= fitted.n_clusters)])
        if outside.size:
            raise ValueError(
                f"y holds labels {outside[:5].tolist()} outside -1..{fitted.n_clusters - 1}: "
                f"cluster k stands for class k, so with n_clusters={fitted.n_clusters} {hint}."
            )
        return y if (y >= 0).any() else None

    def _validate_X(self, X, reset, **check_params):
        """``validate_data`` as float32 (CSR kept sparse), with clear errors for DataFrames."""
        shape = getattr(X, "shape", ())
        if hasattr(X, "columns") and hasattr(X, "dtypes"):
            temporal = [
                str(name)
                for name, dtype in zip(X.columns, X.dtypes, strict=True)
                if getattr(dtype, "kind", None) in ("m", "M")
            ]
            if temporal:
                raise ValueError(
                    f"Column(s) {temporal} of X hold dates or durations, which are not features "
                    "the model can read. Convert them to numbers (e.g. seconds since a reference "
                    "date, or the month and weekday through a ColumnTransformer) or drop them."
                )
        if len(shape) == 2 and shape[1] == 0:
            # A DataFrame without columns otherwise fails deep in numpy, unexplained.
            raise ValueError(
                f"Found array with 0 feature(s) (shape={tuple(shape)}) while a minimum of 1 is "
                f"required by {type(self).__name__}."
            )
        try:
            return validate_data(
                self, X, accept_sparse="csr", dtype=np.float32, reset=reset, **check_params
            )
        except TypeError as exc:
            if "NAType" not in str(exc):
                raise
            raise ValueError(
                "Input X contains missing values (pd.NA). Impute them, e.g. with "
                "sklearn.impute.SimpleImputer, or drop those rows."
            ) from exc
        except ValueError as exc:
            first_line = str(exc).split("\n")[0]
            if "could not convert" in first_line:
                raise ValueError(
                    f"{exc}. X must be numeric: encode text and categories as numbers (e.g. "
                    "sklearn.preprocessing.OneHotEncoder in a sklearn.compose.ColumnTransformer) "
                    "or drop those columns."
                ) from exc
            # scikit-learn's message points to supervised estimators that take NaN.
            if first_line.startswith("Input X contains NaN"):
                raise ValueError(
                    "Input X contains NaN. sklearn-latent's clusterers do not accept missing "
                    "values: impute them (e.g. sklearn.impute.SimpleImputer in a Pipeline) or "
                    "drop those rows."
                ) from exc
            if first_line.startswith("Input X contains infinity"):
                raise ValueError(
                    f"{first_line} The networks compute in float32: drop those rows, or clip "
                    "or rescale the features (e.g. sklearn.preprocessing.StandardScaler)."
                ) from exc
            raise

    def _fit(self, X, labels, warm_start):
        fitted = self._fitted_params
        device = resolve_device(fitted.device)
        seed = seed_from_random_state(self.random_state)
        if warm_start:
            # A continued fit draws fresh batches and noise, not a replay of the first.
            seed = int(np.random.SeedSequence([seed, self.n_iter_]).generate_state(1)[0])
        random = TrainingRandomness(seed, device)
        fitted_modules = dict(self._named_modules())
        # Before the networks: a model may choose its likelihood by the geometry,
        # and n_clusters="auto" sizes them.  (The validation split draws from
        # the NumPy stream, the networks from their own: their order is free.)
        self.metric_ = resolve_metric(fitted.metric, X)
        train_rows, validation_rows = self._split_validation(X.shape[0], random)
        initialise = (
            labels is None
            and fitted.cluster_init == "manifold"
            and fitted.init_weight > 0
            and not warm_start
        )
        count = fitted.n_clusters == "auto" and not warm_start
        if fitted.consistency_weight > 0 or initialise or count:
            points = neighbor_space(X, train_rows, seed, self.metric_)
        if count:
            max_clusters = MAX_CLUSTERS if fitted.max_clusters is None else fitted.max_clusters
            fitted.n_clusters, self.n_clusters_search_ = count_clusters(
                points, train_rows, max_clusters, seed
            )
        elif fitted.n_clusters == "auto":
            fitted.n_clusters = self.n_clusters_  # a warm start keeps the number it found
        else:
            vars(self).pop("n_clusters_search_", None)  # of an earlier fit with "auto"
        self.n_clusters_ = fitted.n_clusters
        # Torch initialises weights from its process-wide generator, which other
        # threads share: the networks draw from the fit's own instead (built on
        # the CPU, so from a CPU generator), and the global stream is never read.
        with drawing_from(random.initialization):
            self._build(X.shape[1], unit_interval=bool(X.min() >= 0.0 and X.max() <= 1.0))
        if warm_start:
            self._load_fitted_weights(fitted_modules)
            self.history_ = list(self.history_)  # a failed fit must not extend the old record
        else:
            self.history_ = []
            self.n_iter_ = 0
        for module in self._modules():
            module.to(device)
        self.device_ = device
        neighbors = labeled = anchors = None
        if fitted.consistency_weight > 0:
            neighbors = nearest_neighbors(points, train_rows, fitted.n_neighbors, seed)
        if labels is not None:
            labeled_rows = train_rows[labels[train_rows] >= 0]
            labeled = (labeled_rows, labels[labeled_rows]) if labeled_rows.size else None
        elif initialise:
            # Partial labels anchor the clusters to classes; without them the
            # manifold initialisation anchors them to the neighbour graph's.
            anchored_rows, clusters = manifold_clusters(points, train_rows, fitted.n_clusters, seed)
            if anchored_rows.size:
                anchors = np.full(X.shape[0], -1, dtype=np.int64)
                anchors[anchored_rows] = clusters
        if not warm_start:
            self._initialize(X, train_rows, labels if anchors is None else anchors, random)
        optimizers = self._make_optimizers()
        if warm_start and getattr(self, "_optimizer_state_", None) is not None:
            # The same networks (checked above): Adam continues with its moments.
            _load_optimizer_state(optimizers, self._optimizer_state_)
        self._train_loop(
            X,
            make_row_source(X, neighbors, labeled, device, anchors),
            train_rows,
            validation_rows,
            optimizers,
            random,
        )

    def _load_fitted_weights(self, fitted_modules):
        """Start the new networks from the fitted ones (``warm_start``).

        The new networks were built from the current parameters and data;
        continuing is only possible when they are the same networks
        (:func:`~sklearn_latent._networks.network_signature`).  Loading
        copies the weights, so the fitted networks stay untouched until the
        fit succeeds.
        """
        new_modules = dict(self._named_modules())
        # Compared by what they compute, layer by layer, not by their printed form,
        # which need not show every setting (e.g. a generator's output activation).
        changed = sorted(
            name
            for name in fitted_modules.keys() | new_modules.keys()
            if network_signature(fitted_modules.get(name))
            != network_signature(new_modules.get(name))
        )
        if changed:
            raise ValueError(
                "warm_start=True continues the fitted networks, but the current parameters or "
                f"data call for different ones ({', '.join(changed)} changed). Restore the "
                "parameters of the previous fit, or set warm_start=False to train from scratch."
            )
        for name, module in new_modules.items():
            module.load_state_dict(fitted_modules[name].state_dict())

    def _fit_assignment(self, X):
        """Fit whatever maps the trained model to labels; nothing by default."""

    def _initialize(self, X, train_rows, known_clusters, random):
        """Prepare the new networks from the training rows before the loop; nothing by default.

        Called once per fit, not on a warm start, with the networks on the
        training device.  ``known_clusters`` is None or one cluster per row of
        ``X`` (-1 for none): the partial labels, or else the manifold
        initialisation's anchors, so a model can start its own cluster
        parameters where the label or anchor term will pull them.
        """

    def _begin_epoch(self, X, train_rows, random):
        """Work done once per epoch before its steps; nothing by default.

        ``X`` is the training data and ``train_rows`` the indices trained on;
        the steps see each batch's positions in ``X`` as ``batch.indices``.
        Inference over the rows here (``self._run_batched(self._cluster_proba,
        X, train_rows)``) runs the networks in evaluation mode; the loop puts
        them back in training mode afterwards.
        """

    def _validation_score(self, X, rows):
        """The held-out number early stopping maximises: the mean of ``_score_samples``."""
        return float(np.mean(self._run_batched(self._score_samples, X, rows), dtype=np.float64))

    def _cluster_weights(self):
        """The prior probability of each cluster, which ``sample`` draws counts from.

        Uniform by default, the prior of every model with a fixed cluster prior.
        """
        n_clusters = self._fitted_params.n_clusters
        return np.full(n_clusters, 1 / n_clusters)

    def _cluster_posterior_weights(self):
        """The weights of the terms that train the network behind ``_cluster_proba``.

        A dict by parameter name, or None (the default) when the model's own
        objective always trains that network.
        """
        return None

    def _check_cluster_posterior_trained(self, labels):
        fitted = self._fitted_params
        weights = self._cluster_posterior_weights()
        if weights is None:
            return
        weights = {
            **weights,
            "consistency_weight": fitted.consistency_weight,
            "balance_weight": fitted.balance_weight,
            **({"init_weight": fitted.init_weight} if fitted.cluster_init == "manifold" else {}),
        }
        if labels is not None or any(w > 0 for w in weights.values()):
            return
        raise ValueError(
            f"With {', '.join(f'{name}=0' for name in weights)} and no labels, nothing trains "
            f"the network {type(self).__name__} assigns clusters with, so its labels would come "
            "from random initial weights. Set one of these weights above 0."
        )

    def _split_validation(self, n_samples, random):
        """Indices of the training rows and of the rows held out for early stopping."""
        fitted = self._fitted_params
        if fitted.n_iter_no_change is None:
            return np.arange(n_samples), None
        n_validation = round(fitted.validation_fraction * n_samples)
        n_train = n_samples - n_validation
        fewest_clusters = 1 if fitted.n_clusters == "auto" else fitted.n_clusters
        if n_validation < 1 or n_train < max(2, fewest_clusters):
            raise ValueError(
                f"validation_fraction={fitted.validation_fraction} of {n_samples} rows leaves "
                f"{n_validation} validation and {n_train} training rows; early stopping needs at "
                "least one validation row and n_clusters (and 2) training rows. Change "
                "validation_fraction or set n_iter_no_change=None."
            )
        order = random.numpy.permutation(n_samples)
        return order[:n_train], order[n_train:]

    def _train_loop(self, X, row_source, train_rows, validation_rows, optimizers, random):
        fitted = self._fitted_params
        n_samples = train_rows.shape[0]
        # Balanced batches (sizes differ by at most one row) of at least two
        # rows: batch normalisation cannot train on a single row.
        n_batches = max(1, min(-(-n_samples // fitted.batch_size), n_samples // 2))
        first_epoch = self.n_iter_
        progress = self._fit_progress
        epochs = progress.epochs(first_epoch, self._n_epochs(n_batches))
        # (epochs done, their weights, the optimisers' state), replaced in one
        # assignment per epoch, so an interruption anywhere leaves a whole epoch
        # to keep; likewise the best held-out epoch's (score, weights, state).
        finished = (first_epoch, self._weights(), _optimizer_state(optimizers))
        best, epochs_without_gain = None, 0
        try:
            for epoch in epochs:
                progress.begin_epoch()
                start = time.perf_counter()
                self._begin_epoch(X, train_rows, random)
                for module in self._modules():
                    module.train()
                order = train_rows[random.numpy.permutation(n_samples)]
                totals, counts = {}, {}
                for batch in row_source.batches(order, n_batches, random):
                    # A step may report only some losses (e.g. no generator update
                    # on a critic-only step): average each over the steps that had it.
                    for name, value in self._train_step(batch, optimizers, random).items():
                        totals[name] = totals.get(name, 0.0) + value
                        counts[name] = counts.get(name, 0) + 1
                # One host synchronisation per epoch, not per batch.
                record = {name: float(total) / counts[name] for name, total in totals.items()}
                if validation_rows is not None:
                    record["validation_score"] = self._validation_score(X, validation_rows)
                self._check_finite(record, epoch)
                record["seconds"] = time.perf_counter() - start
                finished = (epoch + 1, self._weights(), _optimizer_state(optimizers))
                self.history_.append({"epoch": epoch + 1, **record})
                self.n_iter_ = epoch + 1
                if progress.end_epoch(record):
                    break  # a callback (sklearn.callback) asked to stop
                if validation_rows is None:
                    continue
                if best is None or record["validation_score"] > best[0] + fitted.tol:
                    best, epochs_without_gain = (record["validation_score"], *finished[1:]), 0
                else:
                    epochs_without_gain += 1
                    if epochs_without_gain >= fitted.n_iter_no_change:
                        break
        except KeyboardInterrupt:
            n_finished, weights, _ = finished
            if n_finished == first_epoch:
                raise  # no epoch finished: fit restores the previous model
            with interruptions_deferred():
                warnings.warn(
                    f"{type(self).__name__}.fit was interrupted in epoch {n_finished + 1}; the "
                    f"model is kept as of epoch {n_finished}, the last one that finished.",
                    FitInterruptedWarning,
                    stacklevel=5,  # the caller of fit, past fit's with_callbacks wrapper
                )
                self._load_weights(weights)
                self.n_iter_ = n_finished
                self.history_[:] = [r for r in self.history_ if r["epoch"] <= n_finished]
        finally:
            progress.close()
        kept = finished
        if best is not None:
            # Early stopping keeps the epoch with the best held-out score.
            kept = best
            with interruptions_deferred():
                self._load_weights(best[1])
        # What a warm start continues from, on the CPU so that the model pickles
        # anywhere: the optimisers as they were when the kept weights were.
        self._optimizer_state_ = _to_device(kept[2], torch.device("cpu"))

    def _n_epochs(self, n_batches):
        """Epochs to run: ``max_iter``, or with None enough for ``AUTO_UPDATES`` updates."""
        fitted = self._fitted_params
        if fitted.max_iter is not None:
            return fitted.max_iter
        return int(np.clip(round(AUTO_UPDATES / n_batches), 1, AUTO_MAX_EPOCHS))

    def _check_finite(self, record, epoch):
        """Raise ``TrainingDivergedError`` if an epoch left losses or weights not finite.

        The weights too: the epoch's last step can turn them NaN after its
        loss was computed, and the labels would then fail as an overflow of
        the training data, with the wrong advice.
        """
        bad = [name for name, value in record.items() if not np.isfinite(value)]
        if bad:
            problem = f"the loss {', '.join(bad)} became {record[bad[0]]}"
        elif not self._weights_finite():
            parameters = [p for m in self._modules() for p in m.parameters()]
            kind = "nan" if any(bool(p.isnan().any()) for p in parameters) else "inf"
            problem = f"the network weights became {kind}"
        else:
            return
        problem = f"{type(self).__name__}: {problem} in epoch {epoch + 1}."
        fitted = self._fitted_params
        learning_rates = " or ".join(
            name for name in self._learning_rate_parameters if getattr(fitted, name) is not None
        )
        raised = self._raised_loss_settings()
        if raised:
            settings = ", ".join(
                f"{name}={value:.3g} (default {default:.3g})"
                for name, (value, default) in raised.items()
            )
            raise TrainingDivergedError(
                f"{problem} Loss weights and scales far above their defaults overflow float32: "
                f"{settings}. Lower {' and '.join(raised)} first; if the loss still diverges, "
                f"lower {learning_rates}, scale the features (e.g. StandardScaler or "
                "MinMaxScaler), or check the data for extreme values."
            )
        raise TrainingDivergedError(
            f"{problem} Lower {learning_rates}, scale the features (e.g. StandardScaler or "
            "MinMaxScaler), or check the data for extreme values."
        )

    def _raised_loss_settings(self):
        """The real parameters of the objective (weights, scales) set far above their defaults.

        Those whose constraint bounds them by float32's maximum, the learning
        rates aside, at more than ten times the larger of their default and
        10: a loss weighed on that scale can overflow float32 whatever the
        learning rate.  A dict of name to (value, default).
        """
        fitted = vars(self._fitted_params)
        defaults = {
            name: parameter.default
            for name, parameter in inspect.signature(type(self).__init__).parameters.items()
        }
        raised = {}
        for name, constraints in self._parameter_constraints.items():
            bounded = any(
                isinstance(c, Interval) and c.type is Real and c.right == FLOAT32_MAX
                for c in constraints
            )
            value, default = fitted[name], defaults.get(name)
            if (
                not bounded
                or name in self._learning_rate_parameters
                or not isinstance(value, Real)
                or not isinstance(default, Real)
            ):
                continue
            if value > 10 * max(default, 10):
                raised[name] = (value, default)
        return raised

    def _weights_finite(self):
        """Whether every weight is finite, with one host synchronisation."""
        checks = [p.isfinite().all() for m in self._modules() for p in m.parameters()]
        return bool(torch.stack(checks).all()) if checks else True

    def _weights(self):
        """A copy of every module's weights (and buffers), on the training device."""
        return [
            {name: value.detach().clone() for name, value in module.state_dict().items()}
            for module in self._modules()
        ]

    def _load_weights(self, weights):
        for module, state in zip(self._modules(), weights, strict=True):
            module.load_state_dict(state)

    def _recipe_loss(self, batch, proba, neighbor_proba=None):
        """The training recipe's terms on the cluster posterior of real rows.

        All models share them, weighted by their parameters of the same names:

        - ``consistency_weight``: a row and one of its ``n_neighbors`` nearest
          rows share a cluster (:func:`~sklearn_latent._losses.neighbor_disagreement`);
        - ``balance_weight``: the batch uses the clusters as evenly as the
          uniform cluster prior says (:func:`~sklearn_latent._losses.marginal_entropy_gap`);
        - ``init_weight``: rows fall in the cluster the manifold initialisation
          anchored them to (:mod:`sklearn_latent._manifold`), a cross-entropy
          over the anchored rows of the batch;
        - ``label_weight``: labelled rows fall in their class's cluster.

        Parameters
        ----------
        batch : TrainingBatch
            The step's batch.
        proba : tensor of shape (batch_size, n_clusters)
            The model's cluster posterior of ``batch.rows``, in the graph of
            the network it trains.
        neighbor_proba : callable, default=None
            Returns the posterior of ``batch.neighbors``; by default
            ``_cluster_proba`` of them.

        Returns
        -------
        loss : tensor
            The weighted sum, to add to the loss of the posterior's network.
        record : dict
            The unweighted, detached terms, for ``history_``.
        """
        fitted = self._fitted_params
        loss, record = posterior_regularizer(
            proba,
            neighbor_proba or (lambda: self._cluster_proba(batch.neighbors)),
            fitted.consistency_weight,
            fitted.balance_weight,
        )
        if batch.anchors is not None:
            anchored = (batch.anchors >= 0).float()
            log_proba = torch.log(proba.clamp_min(1e-8))
            picked = log_proba.gather(1, batch.anchors.clamp_min(0)[:, None]).squeeze(1)
            # A mean over the anchored rows only, without a host sync to count them.
            disagreement = -(picked * anchored).sum() / anchored.sum().clamp_min(1.0)
            loss = loss + fitted.init_weight * disagreement
            record["init_disagreement"] = disagreement.detach()
        if batch.labels is not None:
            labeled_proba = self._cluster_proba(batch.labeled_rows)
            cross_entropy = F.nll_loss(torch.log(labeled_proba.clamp_min(1e-8)), batch.labels)
            loss = loss + fitted.label_weight * cross_entropy
            record["label_cross_entropy"] = cross_entropy.detach()
        return loss, record

    def _autocast(self):
        """Mixed precision for a train step's forward pass, per ``precision``.

        Train steps wrap their forward passes and losses in it and call
        ``backward`` outside, as PyTorch's automatic mixed precision advises.
        """
        fitted = self._fitted_params
        return torch.autocast(
            self.device_.type, dtype=torch.bfloat16, enabled=fitted.precision == "bfloat16"
        )

    # ------------------------------------------------------------- inference
    def predict(self, X):
        """Cluster index of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to assign.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index of the most probable cluster for each row.
        """
        return self._assign(self._validate_input(X))

    def _assign(self, X, method="predict"):
        """Cluster labels for validated rows: the most probable cluster."""
        return self._infer(method, self._cluster_proba, X).argmax(axis=1)

    def predict_proba(self, X):
        """Probability of each cluster for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to assign.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_clusters)
            Cluster membership probabilities; each row sums to 1.
        """
        return self._infer("predict_proba", self._cluster_proba, self._validate_input(X))

    def transform(self, X):
        """Embed rows in the model's latent space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to embed.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_features_out)
            The latent embedding (see the estimator's docstring for its columns).
        """
        return self._infer("transform", self._encode, self._validate_input(X))

    def get_feature_names_out(self, input_features=None):
        """Names of the columns of :meth:`transform`.

        All models lay their embedding out in one order: the cluster
        probabilities ``proba0`` ... ``proba{n_clusters-1}`` where the
        embedding holds them, then the continuous latent coordinates
        (ClusterGAN's noise estimate ``z_n0``, ...; InfoGAN's continuous
        codes ``code0``, ...; GMVAE's posterior mean ``x_mean0``, ...).

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Checked against the feature names seen in ``fit``; the output
            names do not depend on them.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per column of :meth:`transform`.
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        return np.asarray(self._feature_names_out(), dtype=object)

    @available_if(_decodes)
    def inverse_transform(self, X):
        """Map latent embeddings back to data rows through the generator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_out)
            Embeddings, as returned by :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features_in_)
            Generated data rows.
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=np.float32)
        width = len(self._feature_names_out())
        if Z.shape[1] != width:
            raise ValueError(
                f"X has {Z.shape[1]} columns but inverse_transform expects embeddings of "
                f"width {width}, as returned by transform."
            )
        return self._infer("inverse_transform", self._decode, Z)

    def score_samples(self, X):
        """Per-row score; higher means the model explains the row better.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            See the estimator's docstring for what the number is.
        """
        return self._infer("score_samples", self._score_samples, self._validate_input(X))

    def score(self, X, y=None):
        """Mean of :meth:`score_samples`; higher is better.

        Usable as the default model-selection criterion of
        :class:`~sklearn.model_selection.GridSearchCV`, which needs no labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        score : float
            Mean per-row score.
        """
        # Accumulated in float64: a float32 sum of large finite scores can overflow.
        return float(np.mean(self.score_samples(X), dtype=np.float64))

    @available_if(_generates)
    def sample(self, n_samples=1):
        """Generate rows, with the cluster each was generated from.

        Like :meth:`sklearn.mixture.GaussianMixture.sample`, the cluster counts
        are drawn from the model's cluster prior and the rows come grouped
        by cluster.  With an integer ``random_state`` every call returns the
        same draw.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features_in_)
            Generated rows.
        y : ndarray of shape (n_samples,)
            Cluster index each row was generated from.
        """
        check_is_fitted(self)
        if isinstance(n_samples, bool) or not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        fitted = self._fitted_params
        random = TrainingRandomness(seed_from_random_state(fitted.random_state), self.device_)
        counts = random.numpy.multinomial(n_samples, self._cluster_weights())
        y = np.repeat(np.arange(fitted.n_clusters), counts)
        with self._inference():
            X = np.concatenate(
                [
                    self._generate(chunk, random).float().cpu().numpy()
                    for chunk in torch.split(
                        torch.as_tensor(y, device=self.device_), INFERENCE_BATCH_SIZE
                    )
                ]
            )
        return self._finite(X, "sample"), y

    def _validate_input(self, X):
        check_is_fitted(self)
        return self._validate_X(X, reset=False)

    def _infer(self, method, function, X):
        """A tensor hook over validated rows, for the public ``method``: finite, or an error.

        Every public inference method goes through here, so none returns a
        NaN or infinity, nor a cluster taken as the argmax of NaNs.
        """
        return self._finite(self._run_batched(function, X), method, X)

    def _finite(self, values, method, X=None):
        """``values`` if all are finite, else a ValueError naming ``method`` and the fix.

        The fitted float32 networks overflow on inputs far larger than the
        training data (``X``, when given, is what ``method`` read).
        """
        finite = np.isfinite(values)
        if finite.all():
            return values
        bad = ~finite.reshape(finite.shape[0], -1).all(axis=1)
        problem = f"{type(self).__name__}.{method} computed NaN or infinite values for "
        problem += f"{int(bad.sum())} of {bad.size} rows"
        if X is None:
            raise ValueError(
                f"{problem}: the fitted weights overflow float32. Refit on scaled features "
                "(e.g. sklearn.preprocessing.StandardScaler) or with a lower learning_rate."
            )
        largest = float(np.abs(take_rows(X, np.flatnonzero(bad))).max())
        raise ValueError(
            f"{problem}, whose inputs reach {largest:.3g} in absolute value: float32 overflows "
            "on values this far beyond the training data. Scale them as the training data "
            "were (e.g. with sklearn.preprocessing.StandardScaler), or leave such rows out."
        )

    def _run_batched(self, function, X, rows=None):
        """Apply a tensor hook to ``X`` (or its ``rows``) in bounded chunks, returning NumPy.

        Only one chunk is dense on the device at a time, and each chunk's
        output is copied into one preallocated array, so memory above the
        input stays at the output's size for any number of rows.  (Keeping
        thousands of small torch-owned outputs alive instead pinned the heap
        between freed activations: 1.8 GiB on 1,000,000 x 784 rows.)
        """
        n_rows = X.shape[0] if rows is None else rows.shape[0]
        result = None
        with self._inference():
            for start in range(0, n_rows, INFERENCE_BATCH_SIZE):
                chunk = slice(start, start + INFERENCE_BATCH_SIZE)
                values = take_rows(X, chunk if rows is None else rows[chunk])
                output = function(as_tensor(values, self.device_)).float().cpu().numpy()
                if result is None:
                    result = np.empty((n_rows, *output.shape[1:]), dtype=output.dtype)
                result[chunk] = output
        return result

    def _inference(self):
        for module in self._modules():
            module.eval()
        return torch.inference_mode()

    # ------------------------------------------------------------ utilities
    def _named_modules(self):
        """The fitted torch modules and their attribute names, found by type."""
        return [
            (name, value)
            for name, value in vars(self).items()
            if isinstance(value, torch.nn.Module)
        ]

    def _modules(self):
        """The fitted torch modules, so subclasses list nothing."""
        return [module for _, module in self._named_modules()]

    def _check_data_against_params(self, X):
        fitted = self._fitted_params
        n_samples, n_features = X.shape
        if fitted.n_clusters != "auto" and fitted.n_clusters > n_samples:
            raise ValueError(
                f"n_clusters={fitted.n_clusters} is larger than the number of rows "
                f"({n_samples}); pass at least n_clusters rows or lower n_clusters."
            )
        if fitted.image_shape is not None:
            shape = tuple(fitted.image_shape)
            if np.prod(shape) != n_features:
                raise ValueError(
                    f"image_shape={shape} holds {int(np.prod(shape))} values per image but X has "
                    f"{n_features} features; pass images flattened in (C, H, W) order or fix "
                    "image_shape."
                )
            if min(shape[1:]) < 4:
                raise ValueError(
                    f"image_shape={shape}: the convolutional nets need height and width of at "
                    "least 4 pixels; use image_shape=None for an MLP on such small inputs."
                )

    def _hidden_units(self, n_features):
        """Hidden widths: the user's, or sized to the input when ``hidden_units=None``."""
        fitted = self._fitted_params
        if fitted.hidden_units is not None:
            return tuple(fitted.hidden_units)
        if fitted.image_shape is not None:
            return (1024,)  # the dense layer of the papers' convolutional MNIST nets
        # Two layers of 256 as in ClusterGAN's Pendigits nets.  Wide rows (MNIST's
        # 784 pixels) clustered better at 512 from a random start, but with the
        # manifold initialisation 256 matched it at half the cost (benchmarks/NOTES.md).
        # On rows wider still, the first and last layers are most of an update's
        # cost: on MNIST-5k upsampled to 3,136 pixels, 128 clustered as well as 256
        # in 61-66 % of the time, at a lower ELBO.
        width = 128 if n_features > WIDE_ROW_FEATURES else 256
        return (width, width)

    # ------------------------------------------------------------- pickling
    def __getstate__(self):
        # A copy: the default state is the live instance dict, which must keep
        # its GPU modules.
        state = dict(super().__getstate__())
        # Store weights on the CPU so a model fitted on a GPU loads anywhere.
        for name, value in state.items():
            if isinstance(value, torch.nn.Module):
                state[name] = _module_on(value, torch.device("cpu"))
        if "device_" in state:
            state["device_"] = torch.device("cpu")
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "device_" in state:
            # Run where the fitted ``device`` parameter points if that exists here.
            self.device_ = _available_device(self._fitted_params.device)
            for module in self._modules():
                module.to(self.device_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Everything is computed in float32, the native precision of the nets.
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.input_tags.sparse = True  # CSR stays sparse; batches are densified one at a time
        tags.non_deterministic = False
        return tags


def _optimizer_state(optimizers):
    """A copy of the state of ``optimizers`` (what ``_make_optimizers`` returned).

    Either one optimiser, or a namespace of optimisers and counters (the
    GANs' ``critic_steps``).  Copied because Adam updates its state in place.
    """
    if isinstance(optimizers, torch.optim.Optimizer):
        return copy.deepcopy(optimizers.state_dict())
    return {
        name: copy.deepcopy(value.state_dict() if _is_optimizer(value) else value)
        for name, value in vars(optimizers).items()
    }


def _load_optimizer_state(optimizers, state):
    """Continue ``optimizers`` from ``state`` (of :func:`_optimizer_state`), at their own settings.

    Adam's moments and step count come from ``state``; its learning rate and
    betas stay those the new optimisers were made with, so that a warm start
    trains at the current ``learning_rate`` and ``betas``.  ``state`` is left
    untouched (it belongs to the fitted model, which a failed fit restores).
    """

    def load(optimizer, saved):
        settings = [
            {key: value for key, value in group.items() if key != "params"}
            for group in optimizer.param_groups
        ]
        optimizer.load_state_dict(copy.deepcopy(saved))
        for group, own in zip(optimizer.param_groups, settings, strict=True):
            group.update(own)

    if isinstance(optimizers, torch.optim.Optimizer):
        load(optimizers, state)
        return
    for name, saved in state.items():
        value = getattr(optimizers, name)
        if _is_optimizer(value):
            load(value, saved)
        else:
            setattr(optimizers, name, copy.deepcopy(saved))


def _is_optimizer(value):
    return isinstance(value, torch.optim.Optimizer)


def _to_device(value, device):
    """``value`` with every tensor in it (nested in dicts, lists, tuples) on ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {key: _to_device(item, device) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_device(item, device) for item in value)
    return value


def _module_on(module, device):
    """``module`` on ``device``, copying only if it lives elsewhere."""
    parameter = next(module.parameters(), None)
    if parameter is None or parameter.device == device:
        return module
    return copy.deepcopy(module).to(device)
