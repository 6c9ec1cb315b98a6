"""Shared fixtures: small, fast versions of every estimator."""

import pytest
import torch
from sklearn.datasets import make_blobs
from threadpoolctl import threadpool_limits

from sklearn_latent import (
    ClusterGANClustering,
    DECClustering,
    GMVAEClustering,
    InfoGANClustering,
    VaDEClustering,
)

# The test networks are tiny: one thread runs them fastest, and on a busy 2-core
# machine two threads' spin-waiting made a test fit 15-20 times slower (measured).
torch.set_num_threads(1)
# NumPy's and SciPy's BLAS likewise: the README runs the suite in one process per
# core (pytest -n auto), and with each process's BLAS on every core the suite took
# 654 s on 2 cores, against 508 s with one thread each (OMP_NUM_THREADS=1, measured).
threadpool_limits(1)

# Tiny networks and few epochs: enough for the behaviour under test, fast on 2 CPU cores.
FAST_PARAMS = {
    ClusterGANClustering: {
        "latent_dim": 2,
        "hidden_units": (32, 32),
        "max_iter": 20,
        "batch_size": 32,
        "learning_rate": 2e-3,
    },
    # GMVAE learns its mixture prior more slowly than the others learn theirs: it
    # gets twice the epochs and a larger step.  (At 16 rows a batch and 2e-3 it
    # took a third of the suite's time.)  The 40 epochs stay: check_clustering
    # with n_clusters="auto" runs a quarter of them on 50 rows.
    GMVAEClustering: {
        "latent_dim": 4,
        "mixture_latent_dim": 4,
        "hidden_units": (32, 32),
        "max_iter": 40,
        "batch_size": 32,
        "learning_rate": 5e-3,
    },
    InfoGANClustering: {
        "latent_dim": 2,
        "n_continuous": 1,
        "hidden_units": (32, 32),
        "max_iter": 20,
        "batch_size": 32,
        "learning_rate": 2e-3,
    },
    VaDEClustering: {
        "latent_dim": 2,
        "pretrain_updates": 20,
        "hidden_units": (32, 32),
        "max_iter": 20,
        "batch_size": 32,
        "learning_rate": 2e-3,
    },
    DECClustering: {
        "latent_dim": 2,
        "pretrain_updates": 20,
        "hidden_units": (32, 32),
        "max_iter": 20,
        "batch_size": 32,
        "learning_rate": 2e-3,
    },
}


def fail_on_gpu_sync(model):
    """Make every train step of ``model`` raise if it waits for the GPU (CUDA sync-debug mode)."""
    train_step = model._train_step

    def checked(*args):
        torch.cuda.set_sync_debug_mode("error")
        try:
            return train_step(*args)
        finally:
            torch.cuda.set_sync_debug_mode("default")

    model._train_step = checked
    return model


def fast(estimator_class, **params):
    """A small, quick instance of ``estimator_class`` with ``params`` on top."""
    return estimator_class(**{**FAST_PARAMS[estimator_class], **params})


ESTIMATORS = list(FAST_PARAMS)

# Both sparse checks end by reading ``tags.classifier_tags.multi_class`` of
# any estimator with predict_proba, which a clusterer has not (None): they
# crash after our fit and predict on sparse input have passed.  Sparse input
# is tested in test_training_loop.py instead.
SKLEARN_CHECK_BUGS = dict.fromkeys(
    ("check_estimator_sparse_array", "check_estimator_sparse_matrix"),
    "scikit-learn's sparse check assumes predict_proba means a classifier",
)


@pytest.fixture(params=ESTIMATORS, ids=lambda cls: cls.__name__)
def estimator_class(request):
    return request.param


@pytest.fixture(scope="session")
def blobs():
    """Three well-separated blobs in 4 dimensions, with their labels."""
    X, y = make_blobs(n_samples=150, centers=3, n_features=4, cluster_std=0.6, random_state=0)
    return X.astype("float32"), y
