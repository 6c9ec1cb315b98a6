"""What a fit shows and reports as it trains: the ``verbose`` bar and scikit-learn's callbacks.

scikit-learn 1.9 added an experimental callback API, :mod:`sklearn.callback`.
Where it exists the estimators take ``set_callbacks(ProgressBar())`` or a
``ScoringMonitor``, as scikit-learn's own iterative estimators do: ``fit`` is
the root task, and each stage before training (neighbours, layout,
initialisation) and each epoch one of its subtasks, so inside ``GridSearchCV``
they nest under the search's fits.  With an older scikit-learn the
mixin below is empty, ``fit`` has no callbacks, and ``verbose`` works as ever.
"""

import copy
import functools
from contextlib import contextmanager
from numbers import Integral

from tqdm.auto import tqdm

try:
    from sklearn.callback import CallbackSupportMixin, with_callbacks
except ImportError:  # scikit-learn < 1.9 has no callback API

    class CallbackSupportMixin:
        """Stands in for ``sklearn.callback.CallbackSupportMixin`` before scikit-learn 1.9."""

    def with_callbacks(method):
        """Stands in for ``sklearn.callback.with_callbacks``: no callbacks, nothing to tear down.

        A wrapper all the same, so that a warning's ``stacklevel`` counts the
        same frames with any scikit-learn.
        """

        @functools.wraps(method)
        def wrapper(*args, **kwargs):
            return method(*args, **kwargs)

        return wrapper


#: tqdm's bar without the rate (``remaining`` says as much) so that the class
#: name, the bar and the main loss fit an 80-column terminal.
_BAR_FORMAT = (
    "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]"
)


#: The most stages a fit runs before its epochs (the geometry, the number of
#: clusters, the neighbours, the layout and mixture, the initialisation); each is
#: a subtask of the fit, as each epoch is.
MAX_STAGES = 5


def init_callback_context(estimator, n_epochs):
    """Open the fit's callback context (scikit-learn >= 1.9): subtasks for its stages and epochs.

    Called first thing in ``fit``, before the parameters are checked: it sets
    up the callbacks, which ``with_callbacks`` tears down however ``fit``
    ends.  ``n_epochs`` is ``max_iter`` as given; when it is not a number
    (None, the default, or a value ``fit`` is about to refuse) the number of
    subtasks is not known in advance.
    """
    if hasattr(estimator, "_init_callback_context"):
        known = isinstance(n_epochs, Integral) and not isinstance(n_epochs, bool)
        estimator._init_callback_context(max_subtasks=n_epochs + MAX_STAGES if known else None)


class FitProgress:
    """The hooks one ``fit`` calls: callbacks for the fit and each epoch, and the bar.

    Parameters
    ----------
    estimator : BaseLatentClustering
        The estimator being fitted.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        The validated training rows, passed to the callbacks (a
        ``ScoringMonitor`` scores on them).
    y : array-like or None
        ``y`` as passed to ``fit``, passed to the callbacks (a
        ``ScoringMonitor`` compares labels with it).
    """

    def __init__(self, estimator, X, y):
        self.estimator = estimator
        self.X, self.y = X, y
        # Set by scikit-learn's _init_callback_context, removed when fit returns.
        self._context = getattr(estimator, "_callback_fit_ctx", None)
        self._epoch_context = None
        self._bar = None

    def _call(self, context, hook, **snapshot):
        return getattr(context, hook)(estimator=self.estimator, X=self.X, y=self.y, **snapshot)

    def begin_fit(self):
        if self._context is not None:
            self._call(self._context, "call_on_fit_task_begin")

    def end_fit(self):
        if self._context is not None:
            self._call(self._context, "call_on_fit_task_end", reconstruction_attributes={})

    @contextmanager
    def stage(self, name):
        """A stage of ``fit`` before the epochs (neighbours, layout, pretraining).

        With ``verbose`` its line appears when the stage begins and shows its
        time when it ends, so a long search or layout is never a silent wait;
        for the callbacks it is a subtask of the fit, named ``name``, with no
        fitted model to hand over (a ``ScoringMonitor`` scores only epochs).
        """
        context = None
        if self._context is not None:
            context = self._context.subcontext(task_name=name)
            self._call(context, "call_on_fit_task_begin")
        line = None
        if self.estimator.verbose:
            line = tqdm(
                total=None,
                desc=f"{type(self.estimator).__name__.removesuffix('Clustering')}: {name}",
                bar_format="{desc} [{elapsed}]",
            )
        try:
            yield
        finally:
            if line is not None:
                line.close()
            if context is not None:
                context.call_on_fit_task_end(estimator=self.estimator, X=self.X, y=self.y)

    def epochs(self, first_epoch, n_epochs):
        """The epoch numbers to run, as a progress bar when ``verbose``."""
        self._bar = tqdm(
            range(first_epoch, first_epoch + n_epochs),
            desc=type(self.estimator).__name__.removesuffix("Clustering"),
            unit="epoch",
            bar_format=_BAR_FORMAT,
            disable=not self.estimator.verbose,
        )
        return self._bar

    def begin_epoch(self):
        if self._context is not None:
            self._epoch_context = self._context.subcontext(task_name="epoch")
            self._call(self._epoch_context, "call_on_fit_task_begin")

    def end_epoch(self, record):
        """Show the epoch's main loss and tell the callbacks; True if one asks to stop."""
        name = self.estimator._progress_loss
        if name in record:  # the other losses stay in history_: the bar must fit 80 columns
            self._bar.set_postfix_str(f"{name}={record[name]:.3g}", refresh=False)
        if self._epoch_context is None:
            return False
        context, self._epoch_context = self._epoch_context, None
        # The snapshot is built only if a callback asks for a fitted estimator.
        return self._call(
            context, "call_on_fit_task_end", reconstruction_attributes=self._fitted_attributes
        )

    def close(self):
        if self._epoch_context is not None:
            # An epoch cut short (Ctrl-C, divergence) still ends, with nothing to report,
            # so that every task a callback saw begin also ends.
            self._epoch_context.call_on_fit_task_end(estimator=self.estimator)
            self._epoch_context = None
        if self._bar is not None:
            self._bar.close()

    def _fitted_attributes(self):
        """The fitted state as of this epoch, ready to predict (a callback's ``fitted_estimator``).

        The networks are copies, so a callback may keep the estimator while
        training goes on; ``_fit_assignment`` runs on them as ``fit`` would
        if it stopped here (k-means for ``cluster_assignment="kmeans"``).
        """
        snapshot = copy.copy(self.estimator)
        for name, module in self.estimator._named_modules():
            setattr(snapshot, name, copy.deepcopy(module))
        snapshot.history_ = list(self.estimator.history_)
        snapshot._fit_assignment(self.X)
        return {name: value for name, value in vars(snapshot).items() if name.endswith("_")}
