"""The shared training loop: inputs it trains on, warm starts, interrupts, precision."""

import copy
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import MinMaxScaler

from conftest import fail_on_gpu_sync, fast
from sklearn_latent import (
    ClusterGANClustering,
    FitInterruptedWarning,
    TrainingDivergedError,
    _trainer,
)
from sklearn_latent import _clustergan as clustergan_module
from sklearn_latent import _data as data_module
from sklearn_latent._runtime import TrainingRandomness
from sklearn_latent.metrics import cluster_accuracy


@pytest.fixture(scope="module")
def sparse_blobs():
    """Three clusters in 12 columns, each non-zero on its own 4 columns only."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 50)
    X = np.zeros((150, 12), dtype=np.float32)
    for cluster in range(3):
        block = slice(4 * cluster, 4 * cluster + 4)
        X[y == cluster, block] = rng.uniform(0.5, 1.0, size=(50, 4))
    return sp.csr_matrix(X), y


def test_fits_sparse_input_and_predicts_like_dense(estimator_class, sparse_blobs):
    X_sparse, y = sparse_blobs
    model = fast(estimator_class, n_clusters=3, random_state=0).fit(X_sparse)
    assert cluster_accuracy(y, model.labels_) > 0.9
    dense = X_sparse.toarray()
    for method in ("predict", "transform", "score_samples"):
        np.testing.assert_allclose(
            getattr(model, method)(X_sparse), getattr(model, method)(dense), rtol=1e-5, atol=1e-6
        )


def test_memmap_input_trains_as_the_array_does(estimator_class, blobs, tmp_path):
    X, _ = blobs
    memmap = np.lib.format.open_memmap(
        tmp_path / "X.npy", mode="w+", dtype=np.float32, shape=X.shape
    )
    memmap[:] = X
    memmap.flush()
    read_only = np.load(tmp_path / "X.npy", mmap_mode="r")
    from_memmap = fast(estimator_class, n_clusters=3, max_iter=3, random_state=0).fit(read_only)
    from_array = fast(estimator_class, n_clusters=3, max_iter=3, random_state=0).fit(X)
    np.testing.assert_array_equal(from_memmap.labels_, from_array.labels_)
    np.testing.assert_array_equal(from_memmap.transform(X), from_array.transform(X))


def _blob_rows(n_rows, n_features=10, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=20, size=(4, n_features))
    blob = np.arange(n_rows) % 4
    return (centers[blob] + rng.normal(size=(n_rows, n_features))).astype(np.float32), blob


def test_large_input_neighbours_are_approximately_the_nearest(monkeypatch):
    """Above the exact-search limit, NN-descent finds nearly the exact neighbours, never the row."""
    monkeypatch.setattr(data_module, "EXACT_NEIGHBORS_MAX_ROWS", 60)
    X, blob = _blob_rows(800)
    rows = np.arange(0, 800, 2)  # e.g. the training rows, the rest held out
    before = np.random.get_state()[1].copy()
    threads = torch.get_num_threads()
    neighbors = data_module.nearest_neighbors(X, rows, n_neighbors=5, seed=0)
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # the global stream untouched
    assert torch.get_num_threads() == threads  # nor torch's thread count
    assert neighbors.shape == (800, 5)
    assert (neighbors[1::2] == -1).all()
    found = neighbors[rows]
    assert np.isin(found, rows).all()
    assert not (found == rows[:, None]).any()
    assert (blob[found] == blob[rows][:, None]).all()
    distances = ((X[rows, None, :] - X[None, rows, :]) ** 2).sum(axis=2)
    np.fill_diagonal(distances, np.inf)
    exact = rows[np.argsort(distances, axis=1)[:, :5]]
    recall = np.mean([np.isin(a, b).mean() for a, b in zip(found, exact, strict=True)])
    assert recall >= 0.9
    again = data_module.nearest_neighbors(X, rows, n_neighbors=5, seed=0)
    np.testing.assert_array_equal(again, neighbors)  # seeded: the same neighbours


@pytest.mark.parametrize("n_features", [40, 2 * data_module.PROJECTION_MIN_FEATURES])
def test_large_sparse_input_neighbours_are_found_by_angle(monkeypatch, n_features):
    """Sparse rows above the limit are searched by angle (metric="cosine"), wide ones by LSA."""
    monkeypatch.setattr(data_module, "EXACT_NEIGHBORS_MAX_ROWS", 60)
    X, blob = _blob_rows(400, n_features=n_features)
    X = np.abs(X) * (np.abs(X) > 10)  # non-negative and sparse, like term weights
    X *= np.random.default_rng(1).uniform(0.5, 5, size=(400, 1))  # lengths do not matter
    points = data_module.neighbor_space(sp.csr_matrix(X), np.arange(400), 0, "cosine")
    assert sp.issparse(points)
    searched, search = [], data_module._approximate_neighbors

    def recorded(rows, n_neighbors, seed):
        searched.append(rows)
        return search(rows, n_neighbors, seed)

    monkeypatch.setattr(data_module, "_approximate_neighbors", recorded)
    neighbors = data_module.nearest_neighbors(points, np.arange(400), n_neighbors=5, seed=0)
    assert (blob[neighbors] == blob[:, None]).mean() >= 0.95
    (rows,) = searched
    if n_features > data_module.PROJECTION_MIN_FEATURES:
        # Wide sparse rows are searched on their unit-length singular coordinates.
        assert isinstance(rows, np.ndarray) and rows.shape == (400, data_module.PROJECTION_DIM)
        np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1, rtol=1e-5)
    else:
        assert rows is points


def test_exact_neighbours_are_the_nearest_other_rows(blobs):
    X, _ = blobs
    neighbors = data_module.nearest_neighbors(X, np.arange(len(X)), n_neighbors=4, seed=0)
    distances = ((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(distances, np.inf)
    expected = np.sort(distances, axis=1)[:, :4]
    np.testing.assert_allclose(
        np.sort(np.take_along_axis(distances, neighbors, axis=1), axis=1), expected, rtol=1e-4
    )


def test_constant_wide_rows_project_quietly_to_finite_coordinates():
    X = np.ones((30, data_module.PROJECTION_MIN_FEATURES + 1), dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        points = data_module.neighbor_space(X, np.arange(30), seed=0)
    assert np.isfinite(points).all()


def test_narrow_inputs_are_compared_on_their_own_features(blobs):
    X, _ = blobs
    assert data_module.neighbor_space(X, np.arange(len(X)), seed=0) is X


@pytest.mark.parametrize("make_input", [np.asarray, sp.csr_matrix], ids=["dense", "csr"])
def test_wide_inputs_are_compared_on_their_top_singular_directions(make_input, monkeypatch):
    """Wide rows are projected (in chunks), and each keeps its blob's neighbours."""
    monkeypatch.setattr(data_module, "CHUNK_ROWS", 64)
    rng = np.random.default_rng(0)
    blob = np.repeat(np.arange(4), 50)
    centers = rng.normal(scale=3, size=(4, data_module.PROJECTION_MIN_FEATURES + 20))
    X = (centers[blob] + rng.normal(size=(200, centers.shape[1]))).astype(np.float32)
    rows = np.arange(0, 200, 2)
    points = data_module.neighbor_space(make_input(X), rows, seed=0)
    assert isinstance(points, np.ndarray) and points.dtype == np.float64
    assert points.shape == (200, data_module.PROJECTION_DIM)
    neighbors = data_module.nearest_neighbors(points, rows, n_neighbors=5, seed=0)
    assert (blob[neighbors[rows]] == blob[rows][:, None]).all()
    again = data_module.neighbor_space(make_input(X), rows, seed=0)
    np.testing.assert_array_equal(points, again)


def test_warm_start_continues_training(estimator_class, blobs):
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, max_iter=3, warm_start=True, random_state=0)
    fitted = [p.detach().clone() for m in model.fit(X)._modules() for p in m.parameters()]
    # With a negligible step size the continued fit must end where the first
    # ended: re-initialised networks would be far away.
    model.set_params(learning_rate=1e-12).fit(X)
    for before, after in zip(
        fitted, [p for m in model._modules() for p in m.parameters()], strict=True
    ):
        torch.testing.assert_close(after, before, rtol=0, atol=1e-6)
    assert model.n_iter_ == 6
    assert [record["epoch"] for record in model.history_] == [1, 2, 3, 4, 5, 6]
    model.set_params(warm_start=False).fit(X)
    assert model.n_iter_ == 3 and len(model.history_) == 3


def _optimizers_of(state):
    """The optimisers' states in a ``_optimizer_state`` record, by name."""
    return (
        {"": state}
        if "param_groups" in state
        else {name: value for name, value in state.items() if isinstance(value, dict)}
    )


def test_warm_start_continues_adams_moments_at_the_new_learning_rate(estimator_class, blobs):
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, max_iter=2, warm_start=True, random_state=0)
    saved = copy.deepcopy(model.fit(X)._optimizer_state_)
    optimizers = _optimizers_of(saved)
    assert optimizers and all(
        tensor.device.type == "cpu"
        for optimizer in optimizers.values()
        for moments in optimizer["state"].values()
        for tensor in moments.values()
    )
    seen = []
    train_step = model._train_step

    def first_step(batch, optimizers, random):
        if not seen:
            seen.append(_trainer.optimizer_state(optimizers))
        return train_step(batch, optimizers, random)

    model._train_step = first_step
    model.set_params(learning_rate=1e-4).fit(X)
    del model._train_step
    continued = _optimizers_of(seen[0])
    assert continued.keys() == optimizers.keys()
    for name, optimizer in optimizers.items():
        assert continued[name]["state"].keys() == optimizer["state"].keys() != set()
        for index, moments in optimizer["state"].items():
            for key, tensor in moments.items():
                # The fitted record keeps its copy on the CPU; the live one is on the device.
                torch.testing.assert_close(continued[name]["state"][index][key].cpu(), tensor)
        assert {group["lr"] for group in continued[name]["param_groups"]} == {1e-4}
    if "critic_steps" in saved:  # the GANs' n_critic rhythm goes on
        assert seen[0]["critic_steps"] == saved["critic_steps"] > 0
    # A continued fit that fails restores the fitted model's record as it was:
    # the new optimisers got copies of it, which their steps update in place.
    frozen = copy.deepcopy(model._optimizer_state_)
    _interrupt_at_step(model, 2)
    with pytest.raises(_Interrupt):
        model.fit(X)
    for name, optimizer in _optimizers_of(frozen).items():
        kept = _optimizers_of(model._optimizer_state_)[name]
        for index, moments in optimizer["state"].items():
            for key, tensor in moments.items():
                torch.testing.assert_close(kept["state"][index][key], tensor, rtol=0, atol=0)


def test_warm_start_refuses_changed_networks_and_keeps_the_fit(estimator_class, blobs):
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, max_iter=2, warm_start=True, random_state=0)
    labels = model.fit(X).predict(X)
    with pytest.raises(ValueError, match="warm_start=False"):
        model.set_params(n_clusters=4).fit(X)
    with pytest.raises(ValueError, match="warm_start=False"):
        model.set_params(n_clusters=3).fit(X[:, :3])
    np.testing.assert_array_equal(model.predict(X), labels)
    assert model.n_iter_ == 2


def test_warm_start_refuses_another_output_distribution(estimator_class, blobs):
    """Rows now in [0, 1] flip "auto" to a sigmoid generator / Bernoulli decoder: refused."""
    if not {"output_activation", "likelihood"} & set(estimator_class().get_params()):
        pytest.skip("the model's output layer does not depend on the data's range")
    X, _ = blobs  # not in [0, 1]: a linear generator output, a Gaussian decoder
    model = fast(estimator_class, n_clusters=3, max_iter=1, warm_start=True, random_state=0)
    Z = model.fit(X).transform(X)
    unit = MinMaxScaler().fit_transform(X)
    with pytest.raises(ValueError, match=r"(generator_|decoder_scale_) changed.*warm_start=False"):
        model.fit(unit)
    if "output_activation" in model.get_params():
        with pytest.raises(ValueError, match=r"\(generator_ changed\)"):
            model.set_params(output_activation="sigmoid").fit(X)
        model.set_params(output_activation="linear").fit(X)  # what "auto" chose: it continues
        assert model.n_iter_ == 2
    else:
        with pytest.raises(ValueError, match=r"\(decoder_, decoder_scale_ changed\)"):
            model.set_params(likelihood="bernoulli").fit(unit)
        np.testing.assert_array_equal(model.transform(X), Z)


class _Interrupt(KeyboardInterrupt):
    pass


def _interrupt_call(model, method, call):
    """Make the ``call``-th call (counting from 1) of ``model``'s ``method`` raise Ctrl-C."""
    original, calls = getattr(model, method), []

    def interrupted(*args, **kwargs):
        calls.append(None)
        if len(calls) == call:
            raise _Interrupt
        return original(*args, **kwargs)

    setattr(model, method, interrupted)


def _interrupt_at_step(model, step):
    """Make ``model``'s ``step``-th train step (counting from 1) raise Ctrl-C."""
    _interrupt_call(model, "_train_step", step)


def test_ctrl_c_keeps_the_last_finished_epoch(estimator_class, blobs):
    X, _ = blobs
    params = {"n_clusters": 3, "batch_size": 50, "random_state": 0}  # 3 steps an epoch
    model = fast(estimator_class, max_iter=10, **params)
    _interrupt_at_step(model, 8)  # in epoch 3
    with pytest.warns(FitInterruptedWarning, match="kept as of epoch 2"):
        model.fit(X)
    del model._train_step
    assert model.n_iter_ == 2 and len(model.history_) == 2
    two_epochs = fast(estimator_class, max_iter=2, **params).fit(X)
    np.testing.assert_array_equal(model.labels_, two_epochs.labels_)
    np.testing.assert_array_equal(model.transform(X), two_epochs.transform(X))


@pytest.mark.parametrize("stage", ["_fit_assignment", "_assign"])
def test_ctrl_c_after_the_last_epoch_keeps_the_trained_model(estimator_class, stage, blobs):
    """Every epoch finished: labels_ are completed, and the model is the uninterrupted one."""
    X, _ = blobs
    params = {"n_clusters": 3, "max_iter": 2, "random_state": 0}
    model = fast(estimator_class, **params)
    _interrupt_call(model, stage, 1)
    with pytest.warns(FitInterruptedWarning, match="after its last epoch"):
        model.fit(X)
    delattr(model, stage)
    expected = fast(estimator_class, **params).fit(X)
    assert model.n_iter_ == 2 and [r["epoch"] for r in model.history_] == [1, 2]
    np.testing.assert_array_equal(model.labels_, expected.labels_)
    np.testing.assert_array_equal(model.transform(X), expected.transform(X))


def test_ctrl_c_in_clustergans_kmeans_completes_it(blobs, monkeypatch):
    X, _ = blobs
    params = {"n_clusters": 3, "max_iter": 2, "cluster_assignment": "kmeans", "random_state": 0}
    expected = fast(ClusterGANClustering, **params).fit(X)
    calls = []

    class InterruptedKMeans(KMeans):
        def fit(self, X, y=None, sample_weight=None):
            calls.append(None)
            if len(calls) == 1:
                raise _Interrupt
            return super().fit(X, y, sample_weight)

    monkeypatch.setattr(clustergan_module, "KMeans", InterruptedKMeans)
    with pytest.warns(FitInterruptedWarning, match="after its last epoch"):
        model = fast(ClusterGANClustering, **params).fit(X)
    assert len(calls) == 2
    np.testing.assert_array_equal(model.labels_, expected.labels_)
    np.testing.assert_array_equal(model.predict(X), expected.predict(X))


def test_ctrl_c_in_the_first_epoch_leaves_the_fitted_model(estimator_class, blobs):
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, max_iter=2, random_state=0).fit(X)
    labels, Z = model.predict(X), model.transform(X)
    _interrupt_at_step(model, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(_Interrupt):
            model.fit(X[:, ::-1])
    np.testing.assert_array_equal(model.predict(X), labels)
    np.testing.assert_array_equal(model.transform(X), Z)


def test_ctrl_c_in_the_first_epoch_of_a_warm_start_keeps_the_weights(estimator_class, blobs):
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, max_iter=2, warm_start=True, random_state=0)
    Z = model.fit(X).transform(X)
    _interrupt_at_step(model, 1)
    with pytest.raises(_Interrupt):
        model.fit(X)
    np.testing.assert_array_equal(model.transform(X), Z)
    assert model.n_iter_ == 2


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=needs_cuda)])
def test_bfloat16_precision_trains_under_autocast(estimator_class, blobs, device):
    X, y = blobs
    model = fast(estimator_class, n_clusters=3, precision="bfloat16", device=device, random_state=0)
    make_optimizers, training_dtypes = model._make_optimizers, set()

    def record_dtype(layer, inputs, output):
        if layer.training:
            training_dtypes.add(output.dtype)

    def hooked():  # runs once the networks are built
        for module in model._modules():
            for layer in module.modules():
                if isinstance(layer, torch.nn.Linear):
                    layer.register_forward_hook(record_dtype)
        return make_optimizers()

    model._make_optimizers = hooked
    model.fit(X)
    assert training_dtypes == {torch.bfloat16}
    assert all(np.isfinite(v) for record in model.history_ for v in record.values())
    assert cluster_accuracy(y, model.labels_) > 0.9
    assert model.transform(X).dtype == np.float32


@needs_cuda
def test_cuda_training_steps_never_wait_for_the_gpu(estimator_class, blobs):
    """No host synchronisation inside a step: the loop syncs once per epoch."""
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, max_iter=2, device="cuda", random_state=0)
    fail_on_gpu_sync(model).fit(X)
    assert model.n_iter_ == 2


@needs_cuda
def test_cuda_batches_are_cut_on_the_device_without_sync(blobs):
    X, _ = blobs
    device = torch.device("cuda")
    neighbors = data_module.nearest_neighbors(X, np.arange(len(X)), 5, seed=0)
    source = data_module.make_row_source(X, neighbors, None, device)
    random = TrainingRandomness(0, device)
    order = np.random.default_rng(0).permutation(len(X))
    torch.cuda.set_sync_debug_mode("error")
    try:
        batches = list(source.batches(order, 5, random))
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert all(b.rows.is_cuda and b.neighbors.is_cuda for b in batches)
    assert sum(b.rows.shape[0] for b in batches) == len(X)


def test_failed_warm_start_keeps_the_fitted_model(estimator_class, blobs):
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, max_iter=2, warm_start=True, random_state=0)
    Z = model.fit(X).transform(X)
    with pytest.raises(TrainingDivergedError):
        model.set_params(learning_rate=1e12).fit(X * 1e6)
    np.testing.assert_array_equal(model.transform(X), Z)
    assert model.n_iter_ == 2 and len(model.history_) == 2


def test_a_fit_with_empty_clusters_names_them(estimator_class, blobs):
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, max_iter=2, random_state=0)
    # Whatever the model learned, it puts every row in cluster 1: clusters 0 and 2 are empty.
    model._assign = lambda X, method="predict": np.ones(X.shape[0], dtype=np.int64)
    with pytest.warns(ConvergenceWarning, match=r"1 non-empty clusters of the n_clusters=3.*0, 2"):
        model.fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        fast(estimator_class, n_clusters=3, random_state=0).fit(X)  # three blobs, three clusters
