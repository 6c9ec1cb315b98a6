"""The template every sklearn-latent estimator is built on.

:class:`BaseLatentClustering` owns the life cycle -- ``fit``, ``predict``,
``predict_proba``, ``transform``, ``score``, ``sample``, pickling -- and the
list of hooks a model fills in.  The jobs it hands to components of their own:

- :mod:`~sklearn_latent._validation`: parameters, data and partial labels;
- :mod:`~sklearn_latent._runtime`: the device, the fit's random streams
  (no global torch or NumPy state), mixed precision, Ctrl-C;
- :mod:`~sklearn_latent._recipe`: the shared training recipe (neighbours,
  the manifold start, ``n_clusters="auto"``, the terms on the posterior),
  which declares its own parameters;
- :mod:`~sklearn_latent._trainer`: the epochs, the validation split, early
  stopping, the divergence check and the snapshots Ctrl-C keeps;
- :mod:`~sklearn_latent._inference`: batched inference and its finite check;
- :mod:`~sklearn_latent._params`: the shared parameters' constraints and
  docstring entries.

A model subclass supplies its networks and losses through the hooks (the
shape of :class:`sklearn.mixture._base.BaseMixture`), and declares in its
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
    a warm start.  ``known_clusters`` is None or one cluster per row of ``X``
    (-1 for none): the manifold start's anchors (renamed to the classes of
    any partial labels), or else the partial labels,
    so a model can start its cluster parameters where those terms pull them;
``_begin_epoch(X, train_rows, random)`` (optional)
    work done once per epoch before its steps, e.g. refreshing a target
    distribution over the training rows (DEC), which the steps then read by
    the batch's ``indices``; inference here (``self._run_batched``) leaves the
    networks in evaluation mode, and the loop puts them back in training mode;
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
``self._fitted_params`` (a :class:`~sklearn_latent._validation.FittedParams`),
as the plain Python values they stand for (``np.uint8(32)`` as 32,
``Fraction(1, 1000)`` as 0.001), and every hook, in training and in
inference, reads that record, never ``self.<parameter>``: training
computes with Python numbers, and a fitted model answers from what it
learned, whatever ``set_params`` did since.  (The one exception is
``random_state``, which ``fit`` draws its seed from as given, so that a
``RandomState`` instance advances as scikit-learn's estimators do.)
Every public inference method returns through
:meth:`BaseLatentClustering._infer` (or ``_finite``), which refuses NaN and
infinite outputs with a ``ValueError`` naming the fix
(:func:`~sklearn_latent._inference.finite_or_raise`).

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
from abc import ABCMeta, abstractmethod

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from ._data import make_row_source
from ._inference import finite_or_raise, generate_batched, inference_mode, run_batched
from ._params import SEQUENCE_CONSTRAINTS, SHARED_PARAMETER_CONSTRAINTS
from ._partitions import accepts_dask
from ._progress import CallbackSupportMixin, FitProgress, init_callback_context, with_callbacks
from ._recipe import RECIPE_PARAMETER_CONSTRAINTS, prepare, recipe_loss
from ._runtime import (
    TrainingRandomness,
    autocast,
    available_device,
    drawing_from,
    portable_state,
    resolve_device,
    seed_from_random_state,
)
from ._trainer import (
    finish_fit,
    load_fitted_weights,
    load_optimizer_state,
    split_validation,
    train,
    warn_empty_clusters,
)
from ._validation import (
    FittedParams,
    check_cluster_posterior_trained,
    check_data_shape,
    check_embeddings,
    check_n_samples,
    check_params,
    check_partial_labels,
    check_training_data,
    check_X,
)


class BaseLatentClustering(
    CallbackSupportMixin,
    TransformerMixin,
    ClusterMixin,
    BaseEstimator,
    metaclass=ABCMeta,
):
    """Template for deep latent-variable clustering estimators.

    Not for direct use: subclasses declare every parameter in their own
    ``__init__`` signature, pass them to ``super().__init__`` to be stored
    (``super().__init__(**model_parameters(locals()))``), and implement the
    model hooks listed in the module docstring.
    """

    _parameter_constraints = {**SHARED_PARAMETER_CONSTRAINTS, **RECIPE_PARAMETER_CONSTRAINTS}
    _sequence_constraints = SEQUENCE_CONSTRAINTS

    def __init__(self, **params):
        # Stored untouched, as scikit-learn's estimators do; each model declares
        # them, with its defaults, in its own signature (get_params reads it) and
        # passes them here (``_params.model_parameters``).
        for name, value in params.items():
            setattr(self, name, value)

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _build(self, n_features, unit_interval):
        """Create the networks as fitted attributes (on the CPU)."""

    def _make_optimizers(self):
        """One Adam over every network; adversarial models make one per player."""
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
        """Data rows for a tensor batch of embeddings; undefined: no ``inverse_transform``."""
        raise NotImplementedError

    def _generate(self, clusters, random):
        """Rows for a tensor batch of cluster indices; undefined: no ``sample``."""
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
            posterior weighted by ``label_weight``; the manifold start's
            clusters (``cluster_init``) are renamed to the classes the
            labelled rows in them hold, and anchor the unlabelled rows.  None
            (or all -1) fits without labels.

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
        # fails the fit (the trainer's train and finish_fit keep the trained model).
        # The callback context comes first so that a restore keeps it for teardown.
        init_callback_context(self, self.max_iter)
        previous_state = dict(vars(self))
        try:
            self._fitted_params = FittedParams(**copy.deepcopy(check_params(self)))
            warm_start = self._fitted_params.warm_start and hasattr(self, "n_iter_")
            X = check_training_data(self, X, warm_start)
            labels = check_partial_labels(self._fitted_params, y, X.shape[0])
            self._check_data_against_params(X)
            check_cluster_posterior_trained(self, X, labels)
            self._fit_progress = FitProgress(self, X, y)
            self._fit_progress.begin_fit()
            self._fit(X, labels, warm_start)
            finish_fit(self, X)
            warn_empty_clusters(self)
        except BaseException:
            vars(self).clear()
            vars(self).update(previous_state)
            raise
        finally:
            vars(self).pop("_fit_progress", None)
        return self

    #: The parameters that are Adam learning rates (None: not set, another one applies).
    _learning_rate_parameters = ("learning_rate",)

    def _fit(self, X, labels, warm_start):
        fitted = self._fitted_params
        device = resolve_device(fitted.device)
        seed = seed_from_random_state(self.random_state, self.n_iter_ if warm_start else None)
        random = TrainingRandomness(seed, device)
        fitted_modules = dict(self._named_modules())
        # The recipe comes before the networks: a model may choose its likelihood
        # by the geometry, and n_clusters="auto" sizes them.  (The validation
        # split draws from the NumPy stream, the recipe from the seed, the
        # networks from their own stream: their order is free.)
        train_rows, validation_rows = split_validation(fitted, X.shape[0], random)
        recipe = prepare(
            fitted,
            X,
            train_rows,
            labels,
            seed,
            warm_start,
            getattr(self, "n_clusters_", None),
            stage=self._fit_progress.stage,
        )
        recipe.record_on(self, fitted)
        # Torch initialises weights from its process-wide generator, which other
        # threads share: the networks draw from the fit's own instead (built on
        # the CPU, so from a CPU generator), and the global stream is never read.
        with drawing_from(random.initialization):
            self._build(X.shape[1], unit_interval=bool(X.min() >= 0.0 and X.max() <= 1.0))
        if warm_start:
            load_fitted_weights(self, fitted_modules)
            self.history_ = list(self.history_)  # a failed fit must not extend the old record
        else:
            self.history_ = []
            self.n_iter_ = 0
        for module in self._modules():
            module.to(device)
        self.device_ = device
        if not warm_start:
            known_clusters = labels if recipe.anchors is None else recipe.anchors
            with self._fit_progress.stage("initialisation"):
                self._initialize(X, train_rows, known_clusters, random)
        optimizers = self._make_optimizers()
        if warm_start and getattr(self, "_optimizer_state_", None) is not None:
            # The same networks (checked above): Adam continues with its moments.
            load_optimizer_state(optimizers, self._optimizer_state_)
        if not warm_start:
            # The balance term's target; a warm start keeps that of the fit it continues.
            self._cluster_shares_ = recipe.cluster_shares(fitted.n_clusters)
        row_source = make_row_source(
            X,
            recipe.neighbors,
            recipe.labeled,
            device,
            recipe.anchors,
            getattr(self, "_cluster_shares_", None),
        )
        train(self, X, row_source, train_rows, validation_rows, optimizers, random)

    def _fit_assignment(self, X):
        """Fit whatever maps the trained model to labels; nothing by default."""

    def _initialize(self, X, train_rows, known_clusters, random):
        """Prepare the new networks from the training rows (networks on the device); nothing."""

    def _begin_epoch(self, X, train_rows, random):
        """Work done once per epoch before its steps (networks in evaluation mode); nothing."""

    def _validation_score(self, X, rows):
        """The held-out number early stopping maximises: the mean of ``_score_samples``."""
        return float(np.mean(self._run_batched(self._score_samples, X, rows), dtype=np.float64))

    def _cluster_weights(self):
        """The cluster prior ``sample`` draws counts from: uniform, unless the model learns it."""
        n_clusters = self._fitted_params.n_clusters
        return np.full(n_clusters, 1 / n_clusters)

    def _cluster_posterior_weights(self):
        """Weights of the terms training ``_cluster_proba``'s network; None: the objective does."""
        return None

    def _recipe_loss(self, batch, proba, neighbor_proba=None):
        """The recipe's loss on ``proba``, the posterior of ``batch.rows``, and its record.

        ``neighbor_proba()`` gives that of ``batch.neighbors`` (default: ``_cluster_proba``).
        """
        return recipe_loss(
            self._fitted_params,
            batch,
            proba,
            neighbor_proba or (lambda: self._cluster_proba(batch.neighbors)),
            self._cluster_proba,
        )

    def _autocast(self):
        """Mixed precision for a train step's forward pass, per ``precision``."""
        return autocast(self.device_, self._fitted_params.precision)

    # ------------------------------------------------------------- inference
    @accepts_dask
    def predict(self, X):
        """Cluster index of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to assign.  A dask array or DataFrame gives a dask result,
            computed partition by partition on its workers.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index of the most probable cluster for each row.
        """
        return self._assign(self._validate_input(X))

    def _assign(self, X, method="predict"):
        """Cluster labels for validated rows: the most probable cluster."""
        return self._infer(method, self._cluster_proba, X).argmax(axis=1)

    @accepts_dask
    def predict_proba(self, X):
        """Probability of each cluster for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to assign (a dask collection: as in :meth:`predict`).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_clusters)
            Cluster membership probabilities; each row sums to 1.
        """
        return self._infer("predict_proba", self._cluster_proba, self._validate_input(X))

    @accepts_dask
    def transform(self, X):
        """Embed rows in the model's latent space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to embed (a dask collection: as in :meth:`predict`).

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
        Z = check_embeddings(X, width=len(self._feature_names_out()))
        return self._infer("inverse_transform", self._decode, Z)

    @accepts_dask
    def score_samples(self, X):
        """Per-row score; higher means the model explains the row better.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score (a dask collection: as in :meth:`predict`).

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
        check_n_samples(n_samples)
        fitted = self._fitted_params
        random = TrainingRandomness(seed_from_random_state(fitted.random_state), self.device_)
        counts = random.numpy.multinomial(n_samples, self._cluster_weights())
        y = np.repeat(np.arange(fitted.n_clusters), counts)
        X = generate_batched(self._generate, y, self.device_, self._modules(), random)
        return self._finite(X, "sample"), y

    def _validate_input(self, X):
        check_is_fitted(self)
        return check_X(self, X, reset=False)

    def _infer(self, method, function, X):
        """A tensor hook over validated rows, for the public ``method``: finite, or an error."""
        return self._finite(self._run_batched(function, X), method, X)

    def _finite(self, values, method, X=None):
        """``values`` if all are finite, else a ValueError naming ``method`` and the fix."""
        return finite_or_raise(values, f"{type(self).__name__}.{method}", X)

    def _run_batched(self, function, X, rows=None):
        """Apply a tensor hook to ``X`` (or its ``rows``) in bounded chunks, returning NumPy."""
        return run_batched(function, X, self.device_, self._modules(), rows)

    def _inference(self):
        return inference_mode(self._modules())

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
        check_data_shape(self._fitted_params, X)

    # ------------------------------------------------------------- pickling
    def __getstate__(self):
        # Weights stored on the CPU, so a model fitted on a GPU loads anywhere.
        return portable_state(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(state)
        if "device_" in state:
            # Run where the fitted ``device`` parameter points if that exists here.
            self.device_ = available_device(self._fitted_params.device)
            for module in self._modules():
                module.to(self.device_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Everything is computed in float32, the native precision of the nets.
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.input_tags.sparse = True  # CSR stays sparse; batches are densified one at a time
        tags.non_deterministic = False
        return tags
