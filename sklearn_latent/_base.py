"""The template every sklearn-latent estimator is built on.

:class:`BaseLatentClustering` owns everything that is not a model's mathematics:
parameter and data validation, the device, seeding from ``random_state``, the
epoch/mini-batch loop, progress, ``history_``, batched inference and pickling.
A model subclass supplies its networks and losses through a few hooks
(the shape of :class:`sklearn.mixture._base.BaseMixture`):

``_build(n_features, unit_interval)``
    create the fitted networks (attributes ending in ``_``); ``unit_interval``
    says whether the training data lie in [0, 1] (pixels, min-max scaled rows),
    which picks a sigmoid/Bernoulli output where the model offers one;
``_make_optimizers()``
    the optimisers ``_train_step`` receives;
``_train_step(batch, optimizers, random)``
    one optimisation step on a :class:`TrainingBatch`, returning a dict of
    detached 0-d loss tensors (``_uses_neighbors()`` asks the loop to put a
    nearest neighbour of each row in the batch);
``_cluster_proba(X)``, ``_encode(X)``, ``_decode(Z)``, ``_generate(y, random)``
    tensor-in, tensor-out inference used by ``predict_proba``, ``transform``,
    ``inverse_transform`` and ``sample`` (rows generated from clusters ``y``);
``_score_samples(X)``
    the per-row, higher-is-better number behind ``score_samples``/``score``.
"""

import copy
import time
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
)
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from tqdm.auto import tqdm

#: Rows per forward pass at inference; bounded so memory stays flat on any input size.
INFERENCE_BATCH_SIZE = 4096


class TrainingBatch(NamedTuple):
    """What one training step sees.

    rows : tensor of shape (batch_size, n_features)
        A mini-batch of training rows.
    neighbors : tensor of shape (batch_size, n_features) or None
        For each row, one of its ``n_neighbors`` nearest training rows drawn at
        random; None when the model does not use neighbours.
    """

    rows: torch.Tensor
    neighbors: torch.Tensor | None


class TrainingDivergedError(ValueError):
    """Raised when a training loss becomes NaN or infinite during ``fit``."""


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
            f"device={device!r} is not a device torch knows; use 'auto', 'cpu', "
            "'cuda', 'cuda:N' or 'mps'."
        ) from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but this torch build sees no CUDA GPU; "
            "use device='auto' to fall back to the CPU."
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


class TrainingRandomness:
    """The random streams of one ``fit``, all derived from one seed.

    ``numpy`` shuffles rows on the host; ``torch`` draws latent samples and
    other noise directly on the training device.  Neither touches the global
    NumPy or torch generators.
    """

    def __init__(self, seed, device):
        self.seed = seed
        self.numpy = np.random.default_rng(seed)
        self.torch = torch.Generator(device=device)
        self.torch.manual_seed(seed)

    def randn(self, *shape, device):
        return torch.randn(*shape, generator=self.torch, device=device)

    def rand(self, *shape, device):
        return torch.rand(*shape, generator=self.torch, device=device)

    def randint(self, high, shape, device):
        return torch.randint(high, shape, generator=self.torch, device=device)


def seed_from_random_state(random_state):
    """An integer seed from ``random_state`` without touching NumPy's global RNG.

    ``None`` draws fresh OS entropy (unlike ``check_random_state(None)``, which
    would advance the global ``np.random`` state).
    """
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


class BaseLatentClustering(
    ClassNamePrefixFeaturesOutMixin,
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
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden_units": [tuple, list, None],
        "image_shape": [tuple, list, None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 2, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _build(self, n_features, unit_interval):
        """Create the networks as fitted attributes (on the CPU)."""

    @abstractmethod
    def _make_optimizers(self):
        """The optimisers ``_train_step`` receives, made after the modules moved."""

    @abstractmethod
    def _train_step(self, batch, optimizers, random):
        """One optimisation step on a :class:`TrainingBatch`; return detached 0-d loss tensors."""

    def _uses_neighbors(self):
        """Whether ``_train_step`` wants each row's neighbour in the batch."""
        return False

    @abstractmethod
    def _cluster_proba(self, X):
        """Cluster membership probabilities for a tensor batch."""

    @abstractmethod
    def _encode(self, X):
        """Latent embedding (the output of ``transform``) for a tensor batch."""

    @abstractmethod
    def _decode(self, Z):
        """Data rows for a tensor batch of embeddings (``inverse_transform``)."""

    @abstractmethod
    def _generate(self, y, random):
        """Rows generated from the model for a tensor batch of cluster indices ``y``."""

    @abstractmethod
    def _score_samples(self, X):
        """Per-row, higher-is-better score for a tensor batch."""

    @property
    @abstractmethod
    def _n_features_out(self):
        """Width of the ``transform`` output."""

    # -------------------------------------------------------------- training
    def fit(self, X, y=None):
        """Train the model on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.  Images are passed flattened, with ``image_shape``
            giving their ``(channels, height, width)``.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        # A failed fit (bad data, divergence, Ctrl-C) must leave a previously
        # fitted model usable: new networks are new objects, so restoring the
        # attribute dict (taken before validation resets n_features_in_)
        # restores the old model.
        previous_state = dict(vars(self))
        try:
            self._validate_params()
            X = validate_data(self, X, dtype=np.float32, ensure_min_samples=2)
            self._check_data_against_params(X)
            self._fit(X)
            self.labels_ = self._assign(X)
        except BaseException:
            vars(self).clear()
            vars(self).update(previous_state)
            raise
        return self

    def _fit(self, X):
        device = resolve_device(self.device)
        random = TrainingRandomness(seed_from_random_state(self.random_state), device)
        # Building modules consumes the *global* torch generator (parameter init);
        # fork it so the caller's RNG state is untouched and init is seeded.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(random.seed)
            self._build(X.shape[1], unit_interval=bool(X.min() >= 0.0 and X.max() <= 1.0))
        for module in self._modules():
            module.to(device)
        self.device_ = device
        self.history_ = []
        self.n_iter_ = 0
        X_train, X_validation = self._split_validation(X, random)
        neighbors = None
        if self._uses_neighbors():
            neighbors = _as_tensor(self._nearest_neighbors(X_train), device)
        self._train_loop(
            _as_tensor(X_train, device), neighbors, X_validation, self._make_optimizers(), random
        )

    def _split_validation(self, X, random):
        """Hold out ``validation_fraction`` of the rows when early stopping is on."""
        if self.n_iter_no_change is None:
            return X, None
        n_validation = round(self.validation_fraction * X.shape[0])
        n_train = X.shape[0] - n_validation
        if n_validation < 1 or n_train < max(2, self.n_clusters):
            raise ValueError(
                f"validation_fraction={self.validation_fraction} of {X.shape[0]} rows leaves "
                f"{n_validation} validation and {n_train} training rows; early stopping needs at "
                "least one validation row and n_clusters (and 2) training rows. Change "
                "validation_fraction or set n_iter_no_change=None."
            )
        order = random.numpy.permutation(X.shape[0])
        return X[order[:n_train]], X[order[n_train:]]

    def _nearest_neighbors(self, X):
        """Indices of each row's ``n_neighbors`` nearest other rows (Euclidean)."""
        n_neighbors = min(self.n_neighbors, X.shape[0] - 1)
        index = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(X)
        # Column 0 is the row itself unless it has exact duplicates; either way
        # dropping it leaves rows at distance >= 0 that are its neighbours.
        return index.kneighbors(X, return_distance=False)[:, 1:]

    def _train_loop(self, data, neighbors, X_validation, optimizers, random):
        n_samples = data.shape[0]
        # Balanced batches (sizes differ by at most one row) so no batch is
        # left with a single row, which batch normalisation cannot train on.
        n_batches = -(-n_samples // min(self.batch_size, n_samples))
        epochs = tqdm(
            range(self.max_iter),
            desc=type(self).__name__,
            unit="epoch",
            disable=not self.verbose,
        )
        best_score, best_weights, epochs_without_gain = -np.inf, None, 0
        for epoch in epochs:
            start = time.perf_counter()
            for module in self._modules():
                module.train()
            order = torch.as_tensor(random.numpy.permutation(n_samples), device=data.device)
            totals, counts = {}, {}
            for batch_indices in torch.tensor_split(order, n_batches):
                batch = TrainingBatch(data[batch_indices], None)
                if neighbors is not None:
                    pick = random.randint(neighbors.shape[1], batch_indices.shape, data.device)
                    batch = TrainingBatch(batch.rows, data[neighbors[batch_indices, pick]])
                # A step may report only some losses (e.g. no generator update
                # on a critic-only step): average each over the steps that had it.
                for name, value in self._train_step(batch, optimizers, random).items():
                    totals[name] = totals.get(name, 0.0) + value
                    counts[name] = counts.get(name, 0) + 1
            # One host synchronisation per epoch, not per batch.
            record = {name: float(total) / counts[name] for name, total in totals.items()}
            if X_validation is not None:
                record["validation_score"] = float(
                    np.mean(self._run_batched(self._score_samples, X_validation))
                )
            bad = [name for name, value in record.items() if not np.isfinite(value)]
            if bad:
                raise TrainingDivergedError(
                    f"{type(self).__name__}: the loss {', '.join(bad)} became "
                    f"{record[bad[0]]} in epoch {epoch + 1}. Lower learning_rate, "
                    "scale the features (e.g. StandardScaler or MinMaxScaler), or "
                    "check the data for extreme values."
                )
            record["seconds"] = time.perf_counter() - start
            self.history_.append({"epoch": epoch + 1, **record})
            self.n_iter_ = epoch + 1
            epochs.set_postfix({k: f"{v:.3g}" for k, v in record.items()}, refresh=False)
            if X_validation is None:
                continue
            if record["validation_score"] > best_score + self.tol:
                best_score, epochs_without_gain = record["validation_score"], 0
                best_weights = [copy.deepcopy(m.state_dict()) for m in self._modules()]
            else:
                epochs_without_gain += 1
                if epochs_without_gain >= self.n_iter_no_change:
                    break
        if best_weights is not None:
            # Early stopping keeps the epoch with the best held-out score.
            for module, weights in zip(self._modules(), best_weights, strict=True):
                module.load_state_dict(weights)

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

    def _assign(self, X):
        """Cluster labels for validated rows: the most probable cluster."""
        return self._run_batched(self._cluster_proba, X).argmax(axis=1)

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
        return self._run_batched(self._cluster_proba, self._validate_input(X))

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
        return self._run_batched(self._encode, self._validate_input(X))

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
        if Z.shape[1] != self._n_features_out:
            raise ValueError(
                f"X has {Z.shape[1]} columns but inverse_transform expects embeddings of "
                f"width {self._n_features_out}, as returned by transform."
            )
        return self._run_batched(self._decode, Z)

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
        return self._run_batched(self._score_samples, self._validate_input(X))

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
        return float(np.mean(self.score_samples(X)))

    def sample(self, n_samples=1):
        """Generate rows, with the cluster each was generated from.

        Like :meth:`sklearn.mixture.GaussianMixture.sample`, the cluster counts
        are drawn from the (uniform) cluster prior and the rows come grouped
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
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        random = TrainingRandomness(seed_from_random_state(self.random_state), self.device_)
        counts = random.numpy.multinomial(n_samples, np.full(self.n_clusters, 1 / self.n_clusters))
        y = np.repeat(np.arange(self.n_clusters), counts)
        with self._inference():
            X = np.concatenate(
                [
                    self._generate(chunk, random).float().cpu().numpy()
                    for chunk in torch.split(
                        torch.as_tensor(y, device=self.device_), INFERENCE_BATCH_SIZE
                    )
                ]
            )
        return X, y

    def _validate_input(self, X):
        check_is_fitted(self)
        return validate_data(self, X, dtype=np.float32, reset=False)

    def _run_batched(self, function, X):
        """Apply a tensor hook to ``X`` in bounded chunks, returning NumPy."""
        outputs = []
        with self._inference():
            for start in range(0, X.shape[0], INFERENCE_BATCH_SIZE):
                chunk = _as_tensor(X[start : start + INFERENCE_BATCH_SIZE], self.device_)
                outputs.append(function(chunk).float().cpu().numpy())
        return np.concatenate(outputs)

    def _inference(self):
        for module in self._modules():
            module.eval()
        return torch.inference_mode()

    # ------------------------------------------------------------ utilities
    def _modules(self):
        """The fitted torch modules, found by type so subclasses list nothing."""
        return [value for value in vars(self).values() if isinstance(value, torch.nn.Module)]

    def _generator_activation(self, unit_interval):
        """Output of a generator with an ``output_activation`` parameter, "auto" resolved."""
        if self.output_activation != "auto":
            return self.output_activation
        # A sigmoid keeps generated pixels in range, as the GAN papers do for MNIST.
        return "sigmoid" if unit_interval else "linear"

    def _check_data_against_params(self, X):
        n_samples, n_features = X.shape
        if self.n_clusters > n_samples:
            raise ValueError(
                f"n_clusters={self.n_clusters} is larger than the number of rows "
                f"({n_samples}); pass at least n_clusters rows or lower n_clusters."
            )
        if self.hidden_units is not None and (
            len(self.hidden_units) == 0
            or not all(isinstance(w, Integral) and w > 0 for w in self.hidden_units)
        ):
            raise ValueError(
                f"hidden_units must be a non-empty sequence of positive layer widths, e.g. "
                f"(256, 256); got {self.hidden_units!r}."
            )
        if self.image_shape is not None:
            shape = tuple(self.image_shape)
            if len(shape) != 3 or not all(isinstance(s, Integral) and s > 0 for s in shape):
                raise ValueError(
                    "image_shape must be three positive integers (channels, height, width), "
                    f"got {self.image_shape!r}."
                )
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
        if self.hidden_units is not None:
            return tuple(self.hidden_units)
        if self.image_shape is not None:
            return (1024,)  # the dense layer of the papers' convolutional MNIST nets
        # Two layers as in ClusterGAN's Pendigits nets, 256 wide for narrow rows;
        # wide rows (MNIST's 784 pixels) measured better at 512 (benchmarks/README.md).
        width = 256 if n_features <= 256 else 512
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
            # Run where the ``device`` parameter points if that exists here.
            self.device_ = _available_device(self.device)
            for module in self._modules():
                module.to(self.device_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Everything is computed in float32, the native precision of the nets.
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.non_deterministic = False
        return tags


def _as_tensor(array, device):
    """``array`` as a tensor on ``device``, sharing memory on the CPU where possible."""
    with warnings.catch_warnings():
        # Read-only inputs (e.g. from pandas) are fine: nothing writes into them.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.as_tensor(array, device=device)


def _module_on(module, device):
    """``module`` on ``device``, copying only if it lives elsewhere."""
    parameter = next(module.parameters(), None)
    if parameter is None or parameter.device == device:
        return module
    return copy.deepcopy(module).to(device)
