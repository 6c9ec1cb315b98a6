"""scikit-learn's callbacks (>= 1.9): fit is a task; its stages and epochs, subtasks."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import GridSearchCV

from conftest import fast
from sklearn_latent import GMVAEClustering

callback = pytest.importorskip("sklearn.callback", reason="scikit-learn < 1.9 has no callbacks")


class Recorder:
    """A callback that keeps what each hook saw, and can ask to stop after some epochs."""

    def __init__(self, stop_after=None):
        self.stop_after = stop_after
        self.ended, self.begun, self.torn_down = [], [], 0

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        self.torn_down += 1

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None):
        self.begun.append(context.task_name)

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.ended.append((context.task_name, fitted_estimator))
        epochs = sum(name == "epoch" for name, _ in self.ended)
        return context.task_name == "epoch" and epochs == self.stop_after


def test_each_epoch_is_a_subtask_with_a_snapshot(estimator_class, blobs):
    X, _ = blobs
    recorder = Recorder()
    model = fast(estimator_class, n_clusters=3, max_iter=3, random_state=0)
    model.set_callbacks(recorder).fit(X)
    # The stages before training come first, each a task with no model to hand over.
    stages = [
        "euclidean geometry of the rows",
        "nearest neighbours",
        "layout and mixture",
        "initialisation",
    ]
    assert recorder.begun == ["fit", *stages, "epoch", "epoch", "epoch"]
    assert [name for name, _ in recorder.ended] == [*stages, "epoch", "epoch", "epoch", "fit"]
    assert all(fitted is None for _, fitted in recorder.ended[: len(stages)])
    assert recorder.torn_down == 1
    # The estimator handed over after epoch 1 is that epoch's model, kept while
    # training went on: the same as a fit of one epoch.
    after_one = recorder.ended[len(stages)][1]
    assert after_one.n_iter_ == 1 and len(after_one.history_) == 1
    one_epoch = fast(estimator_class, n_clusters=3, max_iter=1, random_state=0).fit(X)
    np.testing.assert_array_equal(after_one.transform(X), one_epoch.transform(X))
    np.testing.assert_array_equal(recorder.ended[-1][1].predict(X), model.labels_)
    assert not hasattr(model, "_callback_fit_ctx"), "the context is torn down with fit"


def test_a_callback_can_stop_training(blobs):
    X, _ = blobs
    model = fast(GMVAEClustering, n_clusters=3, max_iter=10, random_state=0)
    model.set_callbacks(Recorder(stop_after=2)).fit(X)
    assert model.n_iter_ == 2 and len(model.history_) == 2
    assert model.labels_.shape == (len(X),)


def test_a_failed_fit_tears_the_callbacks_down(blobs):
    X, _ = blobs
    recorder = Recorder()
    model = fast(GMVAEClustering, n_clusters=3, max_iter=2).set_callbacks(recorder)
    with pytest.raises(ValueError, match="NaN"):
        model.fit(np.where(X > 1, np.nan, X))
    assert recorder.torn_down == 1
    assert not hasattr(model, "_callback_fit_ctx")


def test_scoring_monitor_scores_every_epoch(blobs):
    pytest.importorskip("pandas")
    X, y = blobs
    monitor = callback.ScoringMonitor(scoring="adjusted_rand_score")
    model = fast(GMVAEClustering, n_clusters=3, max_iter=4, random_state=0)
    model.set_callbacks(monitor).fit(X, y)  # y is ignored by fit, used by the monitor
    log = monitor.get_logs().data_as_pandas
    epochs = log[log["task_name"] == "epoch"]
    assert len(epochs) == 4
    final = log.loc[log["task_name"] == "fit", "adjusted_rand_score"].item()
    assert final == pytest.approx(adjusted_rand_score(y, model.labels_))
    assert epochs["adjusted_rand_score"].iloc[-1] == pytest.approx(final)


def test_progress_bar_nests_in_grid_search(blobs, capsys):
    pytest.importorskip("rich")
    X, _ = blobs
    search = GridSearchCV(
        fast(GMVAEClustering, n_clusters=3, max_iter=2, random_state=0),
        {"latent_dim": [2, 3]},
        cv=2,
    )
    search.set_callbacks(callback.ProgressBar(max_propagation_depth=None)).fit(X)
    out = capsys.readouterr().out
    # One bar per sub-fit, under the search's candidate evaluations, as for
    # scikit-learn's own estimators; its ticks are the epochs.
    assert out.count("candidate-split-evaluation | GMVAEClustering - fit") == 4
    assert "refit-with-best-params | GMVAEClustering - fit" in out
