"""Inference on dask arrays and DataFrames: lazily, partition by partition, on the workers.

A model fitted on a sample labels rows far beyond one machine's memory where
the rows already live: ``predict``, ``predict_proba``, ``transform`` and
``score_samples`` given a dask collection return a dask collection of the
same partitions, each computed by the fitted model on a worker (dask-ml's
``ParallelPostFit`` pattern, without the wrapper).  The model travels to the
workers pickled, its weights on the CPU (``BaseLatentClustering.__getstate__``).
Columns are checked before anything is computed; everything else is checked
on each partition, as for a NumPy array.
"""

import functools
import sys

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._validation import check_X

#: The kinds of output, by method: one value per row (and its dtype), or named columns.
OUTPUTS = {
    "predict": ("values", np.int64),
    "score_samples": ("values", np.float32),
    "predict_proba": ("proba", np.float32),
    "transform": ("embedding", np.float32),
}


def is_dask_collection(X):
    """Whether ``X`` is a dask collection (without importing dask when nothing else has)."""
    dask = sys.modules.get("dask")
    return dask is not None and dask.is_dask_collection(X)


def accepts_dask(method):
    """Decorator: ``method(X)`` on a dask collection maps ``method`` over its partitions."""

    @functools.wraps(method)
    def dispatch(self, X, *args, **kwargs):
        if not is_dask_collection(X):
            return method(self, X, *args, **kwargs)
        return map_partitions(self, method.__name__, X)

    return dispatch


def map_partitions(model, method, X):
    """``model.<method>`` of each partition of the dask array or DataFrame ``X``, lazily.

    Parameters
    ----------
    model : BaseLatentClustering
        A fitted model.
    method : {"predict", "predict_proba", "transform", "score_samples"}
        The public inference method to apply.
    X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features)
        The rows.  An array's column chunks are joined first: each block holds
        whole rows.

    Returns
    -------
    result : dask.array.Array, or dask.dataframe.Series or DataFrame
        The method's output with the rows' partitions (and, for a DataFrame,
        their index), computed when asked.
    """
    check_is_fitted(model)
    kind, dtype = OUTPUTS[method]
    columns = None
    if kind == "proba":
        columns = [f"proba{k}" for k in range(model.n_clusters_)]
    elif kind == "embedding":
        columns = [str(name) for name in model.get_feature_names_out()]
    if hasattr(X, "map_partitions"):
        import pandas as pd

        # The columns (their number, and their names where fit saw names) before any work.
        check_X(model, X._meta, reset=False, ensure_min_samples=0)
        if columns is None:
            meta = pd.Series(np.empty(0, dtype), name=method)
        else:
            meta = pd.DataFrame(np.empty((0, len(columns)), dtype), columns=columns)
        return X.map_partitions(
            functools.partial(_frame_partition, model, method, columns), meta=meta
        )
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-D dask array of rows, got {X.ndim} dimension(s); reshape it to "
            "(n_samples, n_features)."
        )
    check_X(model, np.empty((0, X.shape[1]), np.float32), reset=False, ensure_min_samples=0)
    X = X.rechunk({1: -1})
    call = functools.partial(_array_partition, model, method, columns)
    if columns is None:
        return X.map_blocks(call, drop_axis=1, dtype=dtype, meta=np.empty((0,), dtype))
    return X.map_blocks(
        call, chunks=(X.chunks[0], (len(columns),)), dtype=dtype, meta=np.empty((0, 0), dtype)
    )


def _apply(model, method, columns, rows):
    dtype = OUTPUTS[method][1]
    if rows.shape[0] == 0:  # an empty partition: nothing for the networks to read
        return np.empty((0,) if columns is None else (0, len(columns)), dtype)
    # The dtype the lazy result declared (k-means labels, for one, come as int32).
    return np.asarray(getattr(model, method)(rows), dtype=dtype)


def _array_partition(model, method, columns, block):
    return _apply(model, method, columns, block)


def _frame_partition(model, method, columns, partition):
    import pandas as pd

    values = _apply(model, method, columns, partition)
    if columns is None:
        return pd.Series(values, index=partition.index, name=method)
    return pd.DataFrame(values, index=partition.index, columns=columns)
