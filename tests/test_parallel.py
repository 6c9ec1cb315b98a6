"""Model selection in parallel: joblib's default backend and a dask.distributed cluster."""

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV

from conftest import FAST_PARAMS, fast
from sklearn_latent import ClusterGANClustering


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
    share = max(1, joblib.cpu_count() // 2)
    assert (search.cv_results_["mean_test_score"] <= share).all()


GRID = {"max_iter": [1, 15], "latent_dim": [1, 2]}


def _search(X):
    # Reconstruction after 15 epochs beats 1 epoch by far, so the best
    # parameters do not hinge on the last bits of floating point.
    return GridSearchCV(
        fast(ClusterGANClustering, n_clusters=3, random_state=0), GRID, cv=2, n_jobs=2
    ).fit(X)


def test_grid_search_on_a_dask_cluster_matches_the_local_search(blobs):
    distributed = pytest.importorskip("dask.distributed")
    X, _ = blobs
    local = _search(X)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
        joblib.parallel_config(backend="dask"),
    ):
        on_dask = _search(X)
    assert on_dask.best_params_ == local.best_params_
    np.testing.assert_allclose(
        on_dask.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"], rtol=1e-4
    )
