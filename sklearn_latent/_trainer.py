"""The training loop of every model, and what it keeps of each epoch.

:func:`train` runs a fit's epochs over a model's hooks: it draws the
batches, calls ``_train_step``, records ``history_``, stops a diverging fit
with an error that names the fix (:func:`check_finite`), snapshots the
weights and the optimisers' state after each epoch so that Ctrl-C keeps the
last whole one, and stops early on a held-out score (:class:`EarlyStopping`).
:func:`split_validation` draws the held-out rows and :func:`epoch_budget`
the number of epochs; :func:`run_updates` runs a pretraining stage, and
:func:`finish_fit` the labels once training is over.
"""

import copy
import inspect
import time
import warnings
from numbers import Real

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval

from ._data import as_tensor, take_rows
from ._networks import network_signature
from ._runtime import interruptions_deferred
from ._validation import FLOAT32_MAX

#: With ``max_iter=None``, training makes about this many updates (epochs are
#: rounded), so its cost stays flat as rows grow instead of growing with them ...
AUTO_UPDATES = 500
#: ... in at most this many epochs (small inputs).
AUTO_MAX_EPOCHS = 200


class TrainingDivergedError(ValueError):
    """Raised when a training loss becomes NaN or infinite during ``fit``."""


class FitInterruptedWarning(UserWarning):
    """Warns that ``fit`` was interrupted (Ctrl-C) and kept its last finished epoch."""


class EarlyStopping:
    """Stop when the held-out score has not gained ``tol`` in ``patience`` epochs.

    Parameters
    ----------
    patience : int
        Epochs without a gain before training stops (``n_iter_no_change``).
    tol : float
        The least gain over the best score that counts.

    Attributes
    ----------
    best : tuple or None
        ``(score, weights, optimiser state)`` of the best epoch so far.
    """

    def __init__(self, patience, tol):
        self.patience = patience
        self.tol = tol
        self.best = None
        self._epochs_without_gain = 0

    def update(self, score, snapshot):
        """Record an epoch's held-out score and ``(weights, optimiser state)``; True to stop."""
        if self.best is None or score > self.best[0] + self.tol:
            self.best, self._epochs_without_gain = (score, *snapshot), 0
            return False
        self._epochs_without_gain += 1
        return self._epochs_without_gain >= self.patience


def load_fitted_weights(model, fitted_modules):
    """Start the new networks from the fitted ones (``warm_start``).

    The new networks were built from the current parameters and data;
    continuing is only possible when they are the same networks
    (:func:`~sklearn_latent._networks.network_signature`).  Loading
    copies the weights, so the fitted networks stay untouched until the
    fit succeeds.
    """
    new_modules = dict(model._named_modules())
    # Compared by what they compute, layer by layer, not by their printed form,
    # which need not show every setting (e.g. a generator's output activation).
    changed = sorted(
        name
        for name in fitted_modules.keys() | new_modules.keys()
        if network_signature(fitted_modules.get(name)) != network_signature(new_modules.get(name))
    )
    if changed:
        raise ValueError(
            "warm_start=True continues the fitted networks, but the current parameters or "
            f"data call for different ones ({', '.join(changed)} changed). Restore the "
            "parameters of the previous fit, or set warm_start=False to train from scratch."
        )
    for name, module in new_modules.items():
        module.load_state_dict(fitted_modules[name].state_dict())


def split_validation(fitted, n_samples, random):
    """Indices of the training rows and of the rows held out for early stopping."""
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


def epoch_budget(fitted, n_batches):
    """Epochs to run: ``max_iter``, or with None enough for ``AUTO_UPDATES`` updates."""
    if fitted.max_iter is not None:
        return fitted.max_iter
    return int(np.clip(round(AUTO_UPDATES / n_batches), 1, AUTO_MAX_EPOCHS))


def train(model, X, row_source, train_rows, validation_rows, optimizers, random):
    """Run the epochs of a fit: batches, steps, history, checks, snapshots, early stopping.

    Parameters
    ----------
    model : BaseLatentClustering
        The model being fitted; its hooks ``_begin_epoch``, ``_train_step``
        and ``_validation_score`` run here, and ``history_``, ``n_iter_`` and
        ``_optimizer_state_`` are written here.
    X : ndarray or sparse matrix
        The training data.
    row_source : DeviceRows or HostRows
        Where batches come from (:func:`~sklearn_latent._data.make_row_source`).
    train_rows, validation_rows : ndarray of int, or None
        The rows trained on, and those held out for early stopping (None: no
        early stopping).
    optimizers : object
        What ``model._make_optimizers()`` returned.
    random : TrainingRandomness
        The fit's random streams.
    """
    fitted = model._fitted_params
    n_samples = train_rows.shape[0]
    # Balanced batches (sizes differ by at most one row) of at least two
    # rows: batch normalisation cannot train on a single row.
    n_batches = max(1, min(-(-n_samples // fitted.batch_size), n_samples // 2))
    first_epoch = model.n_iter_
    progress = model._fit_progress
    epochs = progress.epochs(first_epoch, epoch_budget(fitted, n_batches))
    # (epochs done, their weights, the optimisers' state), replaced in one
    # assignment per epoch, so an interruption anywhere leaves a whole epoch
    # to keep; early stopping likewise keeps the best held-out epoch's.
    finished = (first_epoch, snapshot_weights(model._modules()), optimizer_state(optimizers))
    early_stopping = (
        None if validation_rows is None else EarlyStopping(fitted.n_iter_no_change, fitted.tol)
    )
    try:
        for epoch in epochs:
            progress.begin_epoch()
            start = time.perf_counter()
            model._begin_epoch(X, train_rows, random)
            for module in model._modules():
                module.train()
            order = train_rows[random.numpy.permutation(n_samples)]
            totals, counts = {}, {}
            for batch in row_source.batches(order, n_batches, random):
                # A step may report only some losses (e.g. no generator update
                # on a critic-only step): average each over the steps that had it.
                for name, value in model._train_step(batch, optimizers, random).items():
                    totals[name] = totals.get(name, 0.0) + value
                    counts[name] = counts.get(name, 0) + 1
            # One host synchronisation per epoch, not per batch.
            record = {name: float(total) / counts[name] for name, total in totals.items()}
            if validation_rows is not None:
                record["validation_score"] = model._validation_score(X, validation_rows)
            check_finite(model, record, epoch)
            record["seconds"] = time.perf_counter() - start
            finished = (epoch + 1, snapshot_weights(model._modules()), optimizer_state(optimizers))
            model.history_.append({"epoch": epoch + 1, **record})
            model.n_iter_ = epoch + 1
            if progress.end_epoch(record):
                break  # a callback (sklearn.callback) asked to stop
            if early_stopping is not None and early_stopping.update(
                record["validation_score"], finished[1:]
            ):
                break
    except KeyboardInterrupt:
        n_finished, weights, _ = finished
        if n_finished == first_epoch:
            raise  # no epoch finished: fit restores the previous model
        with interruptions_deferred():
            warnings.warn(
                f"{type(model).__name__}.fit was interrupted in epoch {n_finished + 1}; the "
                f"model is kept as of epoch {n_finished}, the last one that finished.",
                FitInterruptedWarning,
                stacklevel=5,  # the caller of fit, past fit's with_callbacks wrapper
            )
            load_weights(model._modules(), weights)
            model.n_iter_ = n_finished
            model.history_[:] = [r for r in model.history_ if r["epoch"] <= n_finished]
    finally:
        progress.close()
    kept = finished
    if early_stopping is not None and early_stopping.best is not None:
        # Early stopping keeps the epoch with the best held-out score.
        kept = early_stopping.best
        with interruptions_deferred():
            load_weights(model._modules(), kept[1])
    # What a warm start continues from, on the CPU so that the model pickles
    # anywhere: the optimisers as they were when the kept weights were.
    model._optimizer_state_ = to_device(kept[2], torch.device("cpu"))


def run_updates(model, X, train_rows, parameters, loss_of_batch, n_updates, random):
    """``n_updates`` Adam steps on random batches of the training rows: a pretraining stage.

    For what a model trains before the loop (e.g. an autoencoder, in its
    ``_initialize``): one batch of ``batch_size`` rows is drawn and made
    dense at a time, so a sparse or memory-mapped ``X`` is never copied
    whole.  Adam runs at ``learning_rate`` with ``betas`` over ``parameters``.

    Parameters
    ----------
    model : BaseLatentClustering
        The model being fitted, its networks on the training device.
    X : ndarray or sparse matrix
        The training data.
    train_rows : ndarray of int
        The rows to draw batches from.
    parameters : list of torch.nn.Parameter
        What the stage trains.
    loss_of_batch : callable
        A tensor of rows in, the 0-d loss to minimise out (run under the
        model's autocast).
    n_updates : int
        Number of steps; 0 does nothing.
    random : TrainingRandomness
        The fit's random streams (the batches draw from its NumPy stream).
    """
    if n_updates == 0:
        return
    fitted = model._fitted_params
    optimizer = model._adam(parameters, fitted.learning_rate)
    batch_size = min(fitted.batch_size, train_rows.shape[0])
    for module in model._modules():
        module.train()
    for _ in range(n_updates):
        picked = np.sort(random.numpy.choice(train_rows, batch_size, replace=False))
        batch = as_tensor(take_rows(X, picked), model.device_)
        with model._autocast():
            loss = loss_of_batch(batch)
        model._update(optimizer, loss)


def warn_empty_clusters(model):
    """Say so when training left clusters without a row: the user asked for more."""
    n_clusters = model._fitted_params.n_clusters
    empty = np.flatnonzero(np.bincount(model.labels_, minlength=n_clusters) == 0)
    if not empty.size:
        return
    shown = ", ".join(map(str, empty[:10])) + (", ..." if empty.size > 10 else "")
    warnings.warn(
        f"{type(model).__name__} found {n_clusters - empty.size} non-empty clusters of the "
        f"n_clusters={n_clusters} asked for: no training row falls in cluster(s) {shown}. "
        "The data may hold fewer clusters; lower n_clusters, or train longer (max_iter).",
        ConvergenceWarning,
        stacklevel=4,  # the caller of fit, past fit's with_callbacks wrapper
    )


def finish_fit(model, X):
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
            model._fit_assignment(X)
            done.add("assignment")
        if "labels" not in done:
            model.labels_ = model._assign(X, method="fit")
            done.add("labels")
        if "callbacks" not in done:
            done.add("callbacks")  # once only, even if interrupted: a callback may record
            model._fit_progress.end_fit()

    try:
        complete()
    except KeyboardInterrupt:
        with interruptions_deferred():
            warnings.warn(
                f"{type(model).__name__}.fit was interrupted after its last epoch (epoch "
                f"{model.n_iter_}) finished; the model is kept as of that epoch, and its "
                "labels_ were completed before fit returned.",
                FitInterruptedWarning,
                stacklevel=4,  # the caller of fit, past fit's with_callbacks wrapper
            )
            complete()


def check_finite(model, record, epoch):
    """Raise ``TrainingDivergedError`` if an epoch left losses or weights not finite.

    The weights too: the epoch's last step can turn them NaN after its
    loss was computed, and the labels would then fail as an overflow of
    the training data, with the wrong advice.
    """
    bad = [name for name, value in record.items() if not np.isfinite(value)]
    if bad:
        problem = f"the loss {', '.join(bad)} became {record[bad[0]]}"
    elif not weights_finite(model._modules()):
        parameters = [p for m in model._modules() for p in m.parameters()]
        kind = "nan" if any(bool(p.isnan().any()) for p in parameters) else "inf"
        problem = f"the network weights became {kind}"
    else:
        return
    problem = f"{type(model).__name__}: {problem} in epoch {epoch + 1}."
    fitted = model._fitted_params
    learning_rates = " or ".join(
        name for name in model._learning_rate_parameters if getattr(fitted, name) is not None
    )
    raised = raised_loss_settings(model)
    if raised:
        settings = ", ".join(
            f"{name}={value:.3g} (default {default:.3g})"
            if isinstance(default, Real)
            else f"{name}={value:.3g} (default {default!r})"
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


def raised_loss_settings(model):
    """The real parameters of the objective (weights, scales) set far above their defaults.

    Those whose constraint bounds them by float32's maximum, the learning
    rates aside, at more than ten times the larger of their default and
    10: a loss weighed on that scale can overflow float32 whatever the
    learning rate.  A dict of name to (value, default).
    """
    fitted = vars(model._fitted_params)
    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(type(model).__init__).parameters.items()
    }
    raised = {}
    for name, constraints in model._parameter_constraints.items():
        bounded = any(
            isinstance(c, Interval) and c.type is Real and c.right == FLOAT32_MAX
            for c in constraints
        )
        value, default = fitted[name], defaults.get(name)
        if not bounded or name in model._learning_rate_parameters or not isinstance(value, Real):
            continue
        # A default such as "auto" resolves to a weight of at most 10.
        if value > 10 * max(default if isinstance(default, Real) else 0, 10):
            raised[name] = (value, default)
    return raised


def weights_finite(modules):
    """Whether every weight is finite, with one host synchronisation."""
    checks = [p.isfinite().all() for m in modules for p in m.parameters()]
    return bool(torch.stack(checks).all()) if checks else True


def snapshot_weights(modules):
    """A copy of every module's weights (and buffers), on the training device."""
    return [
        {name: value.detach().clone() for name, value in module.state_dict().items()}
        for module in modules
    ]


def load_weights(modules, weights):
    """Load what :func:`snapshot_weights` returned into ``modules``."""
    for module, state in zip(modules, weights, strict=True):
        module.load_state_dict(state)


def optimizer_state(optimizers):
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


def load_optimizer_state(optimizers, state):
    """Continue ``optimizers`` from ``state`` (of :func:`optimizer_state`), at their own settings.

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


def to_device(value, device):
    """``value`` with every tensor in it (nested in dicts, lists, tuples) on ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {key: to_device(item, device) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_device(item, device) for item in value)
    return value
