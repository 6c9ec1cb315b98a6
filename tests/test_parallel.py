"""Work in parallel: fits and predictions in threads, model selection on joblib and dask.

A fit shares its process with whatever else runs there: other threads that
fit, predict or draw from torch's global generator, and work done before it.
None of that may change its model, and it may change none of theirs.
"""

import math
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import joblib
import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.model_selection import GridSearchCV

from conftest import ESTIMATORS, FAST_PARAMS, fast
from sklearn_latent import (
    ClusterGANClustering,
    GMVAEClustering,
    InfoGANClustering,
    VaDEClustering,
)


class ThreadRecordingClusterGAN(ClusterGANClustering):
    """ClusterGAN that remembers how many torch threads its training ran on."""

    def _train_step(self, batch, optimizers, random):
        self.training_threads_ = torch.get_num_threads()
        return super()._train_step(batch, optimizers, random)


def training_threads(estimator, X, y=None):
    """A 'score' that reports the thread count seen inside ``fit``."""
    return estimator.training_threads_


def test_grid_search_workers_train_on_their_share_of_the_cores(blobs):
    X, _ = blobs
    search = GridSearchCV(
        ThreadRecordingClusterGAN(
            **{**FAST_PARAMS[ClusterGANClustering], "n_clusters": 3, "max_iter": 1}
        ),
        {"latent_dim": [1, 2]},
        scoring=training_threads,
        cv=2,
        n_jobs=2,
    ).fit(X)
    # Each of the two workers trains on its share of the cores, no more (the machine
    # oversubscribed) and no fewer (cores left idle); joblib leaves a count the user
    # set in OMP_NUM_THREADS as it is.
    share = int(os.environ.get("OMP_NUM_THREADS", max(1, joblib.cpu_count() // 2)))
    assert (search.cv_results_["mean_test_score"] == share).all()


GRID = {"max_iter": [1, 15], "latent_dim": [1, 2]}


def _search(X):
    # Reconstruction after 15 epochs beats 1 epoch by far, so the best
    # parameters do not hinge on the last bits of floating point.
    return GridSearchCV(
        fast(ClusterGANClustering, n_clusters=3, random_state=0), GRID, cv=2, n_jobs=2
    ).fit(X)


@pytest.fixture(scope="module")
def dask_cluster():
    """Two worker processes of one thread each, shared by the dask tests of this module."""
    distributed = pytest.importorskip("dask.distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_grid_search_on_a_dask_cluster_matches_the_local_search(blobs, dask_cluster):
    X, _ = blobs
    local = _search(X)
    with joblib.parallel_config(backend="dask"):
        on_dask = _search(X)
    assert on_dask.best_params_ == local.best_params_
    np.testing.assert_allclose(
        on_dask.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"], rtol=1e-4
    )


@pytest.mark.parametrize("estimator_class", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_predictions_on_dask_partitions_are_the_local_ones(estimator_class, blobs, dask_cluster):
    """predict, predict_proba, transform, score_samples of a dask array or DataFrame, on workers."""
    da = pytest.importorskip("dask.array")
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, _ = blobs
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    model = fast(estimator_class, n_clusters=3, max_iter=2, random_state=0).fit(frame)
    rows = da.from_array(X, chunks=(40, 2))  # blocks of part-rows are joined first
    partitions = dd.from_pandas(frame, npartitions=3)
    for method in ("predict", "predict_proba", "transform", "score_samples"):
        local = getattr(model, method)(frame)
        lazy = getattr(model, method)(rows)
        assert type(lazy).__module__.startswith("dask")  # nothing computed yet
        on_workers = dask_cluster.compute(lazy).result()
        if method == "predict":
            np.testing.assert_array_equal(on_workers, local)
        else:
            np.testing.assert_allclose(on_workers, local, rtol=1e-5, atol=1e-6)
        from_frame = dask_cluster.compute(getattr(model, method)(partitions)).result()
        np.testing.assert_array_equal(from_frame.index, frame.index)
        np.testing.assert_allclose(np.asarray(from_frame), local, rtol=1e-5, atol=1e-6)
    names = list(model.transform(partitions).columns)
    assert names == list(model.get_feature_names_out())


def test_dask_inputs_of_the_wrong_columns_fail_before_any_work(blobs):
    da = pytest.importorskip("dask.array")
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, _ = blobs
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    model = fast(ClusterGANClustering, n_clusters=3, max_iter=1, random_state=0).fit(frame)
    with pytest.raises(ValueError, match="features"):
        model.predict(da.from_array(X[:, :3], chunks=20))
    renamed = dd.from_pandas(frame.rename(columns={"f0": "other"}), npartitions=2)
    with pytest.raises(ValueError, match="feature names"):
        model.transform(renamed)
    # An empty partition is no error: it has no labels.
    partitions = dd.from_pandas(frame, npartitions=2)
    second_half = partitions.map_partitions(lambda part: part[part.index >= 75])  # one empty
    assert second_half.map_partitions(len).compute().tolist()[0] == 0
    np.testing.assert_array_equal(model.predict(second_half).compute(), model.predict(frame[75:]))
    # The lazy result's dtype is the computed one, whatever assigns the labels.
    kmeans = fast(ClusterGANClustering, n_clusters=3, max_iter=1, cluster_assignment="kmeans")
    lazy = kmeans.fit(X).predict(da.from_array(X, chunks=50))
    assert lazy.dtype == lazy.compute().dtype == np.int64


# ------------------------------------------------------- threads and process state


def _small(estimator_class, **params):
    return fast(estimator_class, n_clusters=3, max_iter=2, hidden_units=(8, 8), **params)


def _answers(model, X):
    return model.labels_, model.predict(X), model.transform(X)


def _assert_same_answers(got, expected):
    for got_part, expected_part in zip(got, expected, strict=True):
        np.testing.assert_array_equal(got_part, expected_part)


def _global_streams():
    """This thread's view of the global torch and NumPy random states."""
    numpy_state = np.random.get_state()
    return torch.get_rng_state(), numpy_state[1].copy(), numpy_state[2:]


def _assert_same_streams(before, after):
    assert torch.equal(before[0], after[0]), "the global torch generator moved"
    assert np.array_equal(before[1], after[1]) and before[2] == after[2], "np.random moved"


def _in_threads(*tasks):
    """Run the callables at once, each in its own thread; their results, in order."""
    with ThreadPoolExecutor(len(tasks)) as pool:
        futures = [pool.submit(task) for task in tasks]
        return [future.result() for future in futures]


def test_fits_and_predictions_in_threads_answer_as_alone_and_leave_global_streams(blobs):
    X, _ = blobs
    fitting = {cls: _small(cls, random_state=3) for cls in (ClusterGANClustering, VaDEClustering)}
    alone = {cls: _answers(model.fit(X), X) for cls, model in fitting.items()}
    predicting = [
        _small(cls, random_state=0).fit(X) for cls in (GMVAEClustering, InfoGANClustering)
    ]
    predicted = [(model.predict(X), model.transform(X)) for model in predicting]

    def fit(cls):
        before = _global_streams()
        answers = _answers(_small(cls, random_state=3).fit(X), X)
        _assert_same_streams(before, _global_streams())
        return answers

    def predict(model):
        before = _global_streams()
        answers = [(model.predict(X), model.transform(X)) for _ in range(10)]
        _assert_same_streams(before, _global_streams())
        return answers

    results = _in_threads(
        *(lambda cls=cls: fit(cls) for cls in fitting),
        *(lambda model=model: predict(model) for model in predicting),
    )
    for cls, answers in zip(fitting, results, strict=False):
        _assert_same_answers(answers, alone[cls])
    for answers, expected in zip(results[len(fitting) :], predicted, strict=True):
        for answer in answers:
            _assert_same_answers(answer, expected)


def _expected_linear(generator, width):
    """The weights ``torch.nn.Linear(width, width)`` draws, from ``generator`` (its init order)."""
    weight = torch.nn.init.kaiming_uniform_(
        torch.empty(width, width), a=math.sqrt(5), generator=generator
    )
    bias = torch.nn.init.uniform_(torch.empty(width), -(width**-0.5), width**-0.5, generator)
    return weight, bias


def test_fits_beside_a_thread_drawing_from_the_global_generator(blobs):
    """The other thread's stream is neither reseeded nor rewound, and the fits do not see it."""
    X, _ = blobs
    fitting = {cls: _small(cls, random_state=3) for cls in (ClusterGANClustering, VaDEClustering)}
    alone = {cls: _answers(model.fit(X), X) for cls, model in fitting.items()}
    fits_done = []

    def build_layers():
        """Build layers from the global generator while the fits run; count the wrong ones."""
        torch.manual_seed(0)
        layers = []
        # Bounded, so the loop does not starve the fits: they build their
        # networks first thing, long before the last of these layers.
        while len(fits_done) < len(fitting) and len(layers) < 3000:
            layers.append(torch.nn.Linear(16, 16))
        reference = torch.Generator().manual_seed(0)
        wrong = 0
        for layer in layers:
            weight, bias = _expected_linear(reference, 16)
            wrong += not (torch.equal(layer.weight, weight) and torch.equal(layer.bias, bias))
        return len(layers), wrong

    def fit(cls):
        try:
            return _answers(_small(cls, random_state=3).fit(X), X)
        finally:
            fits_done.append(cls)

    saved = torch.get_rng_state()
    try:
        (built, wrong), *results = _in_threads(build_layers, *(lambda c=c: fit(c) for c in fitting))
    finally:
        torch.set_rng_state(saved)
    assert built > 0 and wrong == 0, f"{wrong} of {built} layers drew from a moved global stream"
    for cls, answers in zip(fitting, results, strict=True):
        _assert_same_answers(answers, alone[cls])


@contextmanager
def _busy_process():
    """Another process keeping one core busy, running before the block starts."""
    spinner = subprocess.Popen(
        [sys.executable, "-c", "print('spinning', flush=True)\nwhile True: pass"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        spinner.stdout.readline()
        yield
    finally:
        spinner.kill()
        spinner.wait()
        spinner.stdout.close()


def test_the_same_fit_after_other_work_and_under_load_gives_the_same_model(blobs):
    """Nothing a process did before a fit, nor the machine's load, changes the fitted model."""
    X = blobs[0][:48]

    def fit_on_two_threads(**extra):
        # Two threads beside a busy process spin-wait on each other: the
        # smallest fit (no neighbour search, no layout, two steps) keeps that short.
        model = ThreadRecordingClusterGAN(
            **{**FAST_PARAMS[ClusterGANClustering], "hidden_units": (8, 8), "max_iter": 1},
            n_clusters=3,
            cluster_init=None,
            consistency_weight=0.0,
            random_state=0,
        )
        previous = torch.get_num_threads()
        torch.set_num_threads(2)
        try:
            return model.fit(X)
        finally:
            torch.set_num_threads(previous)

    first = fit_on_two_threads()
    # Other work in the process: a larger fit of another width, torch's global
    # generator drawn from and reseeded, a torch model run, k-means.
    wide = np.random.default_rng(1).normal(size=(300, 7)).astype(np.float32)
    _small(VaDEClustering, random_state=1).fit(wide)
    torch.manual_seed(123)
    torch.nn.Linear(50, 50)(torch.randn(8, 50))
    KMeans(3, n_init=1, random_state=0).fit(wide)
    with _busy_process():
        second = fit_on_two_threads()
    assert first.training_threads_ == second.training_threads_ == 2
    _assert_same_answers(_answers(second, X), _answers(first, X))


def _copy_at_offset(array, offset):
    """A copy of ``array`` whose data starts ``offset`` bytes past a 64-byte boundary."""
    buffer = np.empty(array.nbytes + 128, np.uint8)
    start = (-buffer.ctypes.data) % 64 + offset
    copy = np.frombuffer(buffer, array.dtype, array.size, start).reshape(array.shape)
    copy[...] = array
    return copy


def test_where_the_input_lies_in_memory_does_not_change_the_model(estimator_class):
    """The same rows at another address give the same model and the same answers.

    How far an array lies from a 64-byte boundary depends on what the process
    allocated and freed before (glibc moves its mmap threshold after large
    frees), and vectorised kernels may add up differently on unaligned data:
    a fit must not hand its caller's memory to them as it is.
    """
    X = np.random.default_rng(0).normal(size=(96, 37)).astype(np.float32)
    answers = []
    for offset in (0, 4, 16, 36):
        model = _small(estimator_class, random_state=0).fit(_copy_at_offset(X, offset))
        answers.append(_answers(model, _copy_at_offset(X, offset)))
    for other in answers[1:]:
        _assert_same_answers(other, answers[0])
