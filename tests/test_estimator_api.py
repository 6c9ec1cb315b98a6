"""Behaviour every estimator promises its users, beyond scikit-learn's checks."""

import inspect
import os
import pickle
import re
import subprocess
import sys

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conftest import fast
from sklearn_latent._params import SHARED_ENTRIES
from sklearn_latent.metrics import cluster_accuracy


def test_fit_predict_equals_labels(estimator_class, blobs):
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, random_state=0)
    labels = model.fit_predict(X)
    np.testing.assert_array_equal(labels, model.labels_)
    np.testing.assert_array_equal(model.predict(X), model.labels_)


def test_clusters_separated_blobs(estimator_class, blobs):
    X, y = blobs
    model = fast(estimator_class, n_clusters=3, random_state=0).fit(X)
    assert cluster_accuracy(y, model.labels_) > 0.95


def test_same_random_state_same_labels_and_global_rng_untouched(estimator_class, blobs):
    X, _ = blobs
    torch_state = torch.get_rng_state()
    numpy_state = np.random.get_state()
    first = fast(estimator_class, n_clusters=3, random_state=7).fit(X)
    second = fast(estimator_class, n_clusters=3, random_state=7).fit(X)
    np.testing.assert_array_equal(first.labels_, second.labels_)
    np.testing.assert_array_equal(first.transform(X), second.transform(X))
    assert torch.equal(torch_state, torch.get_rng_state())
    after = np.random.get_state()
    assert numpy_state[2:] == after[2:] and np.array_equal(numpy_state[1], after[1])


def test_random_state_none_leaves_global_rng_untouched(estimator_class, blobs):
    X, _ = blobs
    numpy_state = np.random.get_state()
    fast(estimator_class, n_clusters=3, max_iter=1).fit(X)
    np.testing.assert_array_equal(numpy_state[1], np.random.get_state()[1])


def test_outputs_shapes_and_probabilities(estimator_class, blobs):
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, random_state=0).fit(X)
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(proba.argmax(axis=1), model.predict(X))
    Z = model.transform(X)
    assert Z.shape == (len(X), len(model.get_feature_names_out()))
    if hasattr(model, "inverse_transform"):
        assert model.inverse_transform(Z).shape == X.shape
    assert model.score_samples(X).shape == (len(X),)
    assert np.isfinite(model.score(X))


def test_history_records_each_epoch(estimator_class, blobs):
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, max_iter=4, random_state=0).fit(X)
    assert model.n_iter_ == 4
    assert [record["epoch"] for record in model.history_] == [1, 2, 3, 4]
    assert all(record["seconds"] > 0 for record in model.history_)
    assert all(np.isfinite(v) for record in model.history_ for v in record.values())


def _generative(estimator_class):
    if not hasattr(estimator_class(), "sample"):
        pytest.skip("the model generates no rows")


def test_sample_like_gaussian_mixture(estimator_class, blobs):
    _generative(estimator_class)
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, random_state=0).fit(X)
    X_new, y_new = model.sample(90)
    assert X_new.shape == (90, X.shape[1]) and y_new.shape == (90,)
    assert np.all(np.diff(y_new) >= 0), "rows come grouped by cluster, as GaussianMixture.sample"
    assert set(np.unique(y_new)) <= {0, 1, 2}
    # An integer random_state makes sample() reproducible, as in GaussianMixture.
    np.testing.assert_array_equal(model.sample(90)[0], X_new)
    with pytest.raises(ValueError, match="n_samples"):
        model.sample(0)


def test_generated_rows_are_assigned_their_generating_cluster(estimator_class, blobs):
    _generative(estimator_class)
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, random_state=0).fit(X)
    X_new, y_new = model.sample(300)
    assert np.mean(model.predict(X_new) == y_new) > 0.9


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_round_trip_keeps_predictions(estimator_class, blobs, dump, tmp_path):
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, random_state=0).fit(X)
    if dump == "pickle":
        loaded = pickle.loads(pickle.dumps(model))
    else:
        joblib.dump(model, tmp_path / "model.joblib")
        loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    if model.device_.type == "cpu":
        np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    else:
        # Same weights; on a GPU, kernel choice may round the last bit differently.
        np.testing.assert_allclose(loaded.transform(X), model.transform(X), atol=1e-5)


def test_pickling_leaves_the_estimator_untouched(estimator_class, blobs):
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, max_iter=1).fit(X)
    before = dict(vars(model))
    pickle.dumps(model)
    assert all(vars(model)[name] is value for name, value in before.items())


def test_clone_is_unfitted_with_same_params(estimator_class):
    model = fast(estimator_class, n_clusters=4, random_state=3)
    assert clone(model).get_params() == model.get_params()


def test_pipeline_and_grid_search_without_labels(estimator_class, blobs):
    X, _ = blobs
    pipeline = make_pipeline(StandardScaler(), fast(estimator_class, random_state=0))
    step = pipeline.steps[-1][0]
    search = GridSearchCV(pipeline, {f"{step}__n_clusters": [2, 3]}, cv=2, n_jobs=2)
    search.fit(X)
    assert search.best_params_[f"{step}__n_clusters"] in (2, 3)
    assert search.predict(X).shape == (len(X),)


def test_dataframe_feature_names_and_pandas_output(estimator_class, blobs):
    pd = pytest.importorskip("pandas")
    X, _ = blobs
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    model = fast(estimator_class, n_clusters=3, random_state=0).set_output(transform="pandas")
    Z = model.fit(frame).transform(frame)
    np.testing.assert_array_equal(model.feature_names_in_, frame.columns)
    assert list(Z.columns) == list(model.get_feature_names_out())


def test_verbose_bar_shows_the_main_loss_in_80_columns(estimator_class, blobs, capsys):
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, max_iter=2, verbose=1, random_state=0).fit(X)
    err = capsys.readouterr().err
    # tqdm redraws the line with carriage returns: each drawing is one screen line.
    drawings = [line for line in err.replace("\r", "\n").splitlines() if line.strip()]
    last = drawings[-1]
    name = estimator_class.__name__.removesuffix("Clustering")
    value = model.history_[-1][model._progress_loss]
    assert last.startswith(f"{name}: 100%") and "2/2" in last
    assert f"{model._progress_loss}={value:.3g}" in last
    assert "seconds" not in err, "tqdm shows the time; the epochs' seconds stay in history_"
    assert max(len(line) for line in drawings) <= 80
    # The stages before the epochs show too, each as it begins, so no wait is silent.
    for stage in ("geometry of the rows", "nearest neighbours", "layout and mixture"):
        assert f"{name}: " in err and stage in err, stage
    assert f"{name}: initialisation [" in err


def test_feature_names_out_name_each_column(estimator_class, blobs):
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, random_state=0)
    with pytest.raises(NotFittedError):
        model.get_feature_names_out()
    names = list(model.fit(X).get_feature_names_out())
    Z = model.transform(X)
    assert len(names) == Z.shape[1] == len(set(names))
    # One order for every model: the cluster probabilities, where the embedding
    # holds them, then the continuous coordinates, numbered under one prefix.
    n_proba = sum(name.startswith("proba") for name in names)
    assert n_proba in (0, 3)
    assert names[:n_proba] == [f"proba{k}" for k in range(n_proba)]
    if n_proba:
        np.testing.assert_allclose(Z[:, :3], model.predict_proba(X), rtol=1e-5)
    continuous = names[n_proba:]
    prefix = continuous[0].rstrip("0123456789")
    assert prefix and continuous == [f"{prefix}{i}" for i in range(len(continuous))]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_fit_loads_and_predicts_on_cpu(estimator_class, blobs, tmp_path):
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, device="cuda", random_state=0).fit(X)
    assert model.device_.type == "cuda"
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "labels.npy", model.predict(X))
    # A fresh interpreter that sees no GPU, like a CPU-only machine.
    script = (
        "import joblib, numpy as np, torch; assert not torch.cuda.is_available();"
        f"m = joblib.load({str(path)!r}); X = np.load({str(tmp_path / 'X.npy')!r});"
        f"assert (m.predict(X) == np.load({str(tmp_path / 'labels.npy')!r})).mean() > 0.99;"
        "assert m.device_.type == 'cpu'"
    )
    subprocess.run(
        [sys.executable, "-c", script],
        check=True,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
    )


def test_early_stopping_on_held_out_score(estimator_class, blobs):
    X, _ = blobs
    model = fast(
        estimator_class, n_clusters=3, max_iter=200, n_iter_no_change=2, tol=1e3, random_state=0
    ).fit(X)
    # An unreachable tol: the first epoch is the best, two more without gain stop training.
    assert model.n_iter_ == 3
    assert all("validation_score" in record for record in model.history_)
    assert model.labels_.shape == (len(X),)


def test_early_stopping_needs_enough_rows(estimator_class, blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="validation_fraction"):
        fast(estimator_class, n_clusters=3, n_iter_no_change=2, validation_fraction=0.001).fit(X)


def test_docstring_describes_every_parameter_once(estimator_class):
    doc = estimator_class.__doc__
    assert "(shared)" not in doc  # every shared entry was filled in
    for name in estimator_class().get_params():
        entries = re.findall(rf"^    {name} : ", doc, flags=re.MULTILINE)
        assert len(entries) == 1, (
            f"{estimator_class.__name__} documents {name} {len(entries)} times"
        )


def test_shared_parameters_read_the_same_in_every_model(estimator_class):
    """A parameter the models share is described in one set of words, the shared entry."""
    doc = inspect.cleandoc(estimator_class.__doc__)
    shared = [name for name in estimator_class().get_params() if name in SHARED_ENTRIES]
    assert len(shared) >= 20
    for name in shared:
        assert SHARED_ENTRIES[name] in doc, f"{estimator_class.__name__} rewords {name}"
