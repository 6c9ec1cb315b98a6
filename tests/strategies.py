"""Hypothesis strategies for the property tests: inputs of every awkward kind.

Training data (arrays of every dtype, ragged lists, sparse matrices,
DataFrames with mixed columns, extreme and non-finite values), parameter
values of other types or that fail on any use, and NumPy scalars and
Fractions standing for Python numbers.  ``test_property_inputs.py`` holds the
properties these inputs are checked against.
"""

import fractions
import math
import numbers

import numpy as np
import pandas as pd
import scipy.sparse as sp
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sklearn_latent._validation import FLOAT32_MAX

estimator_params = st.fixed_dictionaries(
    {
        "n_clusters": st.sampled_from([2, 1, 3]),
        # The default batch (16 or 32) is larger than most generated inputs;
        # 2 and 3 cut even tiny inputs into several (uneven) batches.
        "batch_size": st.sampled_from([None, 2, 3]),
        "max_iter": st.sampled_from([1, 2]),
    }
).map(lambda params: {k: v for k, v in params.items() if v is not None})

SPECIAL_VALUES = [
    0.0,
    -0.0,
    1.0,
    1e-30,
    5e-324,  # subnormal float64, 0 in float32
    1e30,
    -1e30,
    3e38,  # just inside float32
    1e39,  # beyond float32: becomes inf when cast
    -1.7e308,
    math.nan,
    math.inf,
    -math.inf,
]

TEXT = ["a", "", "x1", "None"]  # no float() reading
NUMERIC_TEXT = ["1.5", "-3", "0", "1e+30", "nan", "inf"]
ROWS = st.one_of(st.integers(0, 6), st.sampled_from([9, 17, 33]))
COLUMNS = st.one_of(st.integers(1, 5), st.sampled_from([0, 9, 40]))


@st.composite
def float_matrix(draw, n_rows, n_columns):
    """Ordinary floats with optional special values, a constant column, duplicate rows."""
    values = draw(
        hnp.arrays(
            np.float64,
            (n_rows, n_columns),
            elements=st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False),
        )
    )
    if values.size:
        cells = st.tuples(st.integers(0, n_rows - 1), st.integers(0, n_columns - 1))
        for (i, j), value in draw(
            st.lists(st.tuples(cells, st.sampled_from(SPECIAL_VALUES)), max_size=3)
        ):
            values[i, j] = value
        if draw(st.booleans()):
            column = draw(st.integers(0, n_columns - 1))
            values[:, column] = draw(st.sampled_from([0.0, 1.0, -7.5, 1e30]))
        if n_rows > 1 and draw(st.booleans()):
            copies = draw(st.lists(st.integers(1, n_rows - 1), min_size=1, unique=True))
            values[copies] = values[0]
    return values


def _cast(values, dtype):
    with np.errstate(over="ignore", invalid="ignore"):
        return values.astype(dtype)


@st.composite
def typed_matrix(draw, n_rows, n_columns):
    """A 2-d ndarray of one of the dtypes users pass."""
    kind = draw(
        st.one_of(
            st.just("float64"),  # the common case, with its special values, half the time
            st.sampled_from(["float32", "float16", "int", "bool", "object", "str", "complex"]),
        )
    )
    shape = (n_rows, n_columns)
    if kind == "int":
        dtype = draw(st.sampled_from([np.int64, np.int32, np.int8, np.uint8, np.uint64]))
        return draw(hnp.arrays(dtype, shape))
    if kind == "bool":
        return draw(hnp.arrays(np.bool_, shape))
    values = draw(float_matrix(n_rows, n_columns))
    if kind in ("float64", "float32", "float16"):
        return _cast(values, kind)
    if kind == "complex":
        return values.astype(np.complex128)
    cells = values.astype(object)
    replacement = st.sampled_from(
        [None, 2, 2**80, True, np.float32(0.5), *TEXT, *NUMERIC_TEXT]
        if kind == "object"
        else TEXT + NUMERIC_TEXT
    )
    if values.size:
        cell = st.tuples(st.integers(0, n_rows - 1), st.integers(0, n_columns - 1))
        for index, value in draw(st.lists(st.tuples(cell, replacement), max_size=3)):
            cells[index] = value
    if kind == "str":
        return np.array([[str(v) for v in row] for row in cells], dtype=str).reshape(shape)
    return cells


@st.composite
def array_like(draw):
    """A matrix in one of the containers scikit-learn accepts (and some it does not)."""
    n_rows, n_columns = draw(ROWS), draw(COLUMNS)
    matrix = draw(typed_matrix(n_rows, n_columns))
    container = draw(
        st.one_of(
            st.just("ndarray"),
            st.sampled_from(
                [
                    "list",
                    "fortran",
                    "read-only",
                    "strided",
                    "frame",
                    "csr",
                    "coo",
                    "ragged",
                    "1d",
                    "3d",
                ]
            ),
        )
    )
    event(f"container: {container}, dtype: {matrix.dtype.kind}")
    if container == "list":
        return matrix.tolist()
    if container == "fortran":
        return np.asfortranarray(matrix)
    if container == "read-only":
        matrix.setflags(write=False)
        return matrix
    if container == "strided":
        return np.repeat(matrix, 2, axis=1)[:, ::2]
    if container == "frame":
        return pd.DataFrame(matrix, columns=[f"x{j}" for j in range(n_columns)])
    if container in ("csr", "coo") and matrix.dtype.kind in "fiub" and matrix.dtype != np.float16:
        return sp.csr_matrix(matrix) if container == "csr" else sp.coo_matrix(matrix)
    if container == "ragged" and n_rows >= 2 and n_columns >= 1:
        rows = matrix.tolist()
        rows[draw(st.integers(0, n_rows - 1))].pop()
        return rows
    if container == "1d":
        return matrix.ravel()
    if container == "3d":
        return matrix.reshape(n_rows, n_columns, 1)
    return matrix


@st.composite
def frame_column(draw, n_rows):
    """One DataFrame column of any dtype pandas users have."""
    kind = draw(
        st.sampled_from(
            [
                "float64",
                "float32",
                "int64",
                "bool",
                "object",
                "category",
                "category-numeric",
                "string",
                "Int64",
                "Float64",
                "boolean",
                "datetime",
            ]
        )
    )
    event(f"frame column: {kind}")
    size = {"min_size": n_rows, "max_size": n_rows}
    ints = st.integers(-1000, 1000)
    if kind in ("float64", "float32"):
        return _cast(draw(float_matrix(n_rows, 1))[:, 0], kind)
    if kind == "int64":
        return np.array(draw(st.lists(ints, **size)), dtype=np.int64)
    if kind == "bool":
        return np.array(draw(st.lists(st.booleans(), **size)), dtype=bool)
    if kind == "object":
        cell = st.one_of(
            st.floats(-10, 10), ints, st.sampled_from([None, math.nan, *TEXT, *NUMERIC_TEXT])
        )
        return pd.Series(draw(st.lists(cell, **size)), dtype=object)
    if kind == "category":
        return pd.Categorical(draw(st.lists(st.sampled_from(["a", "b", "1.5", "2"]), **size)))
    if kind == "category-numeric":
        return pd.Categorical(draw(st.lists(st.sampled_from([0.5, 1.0, 2.0]), **size)))
    if kind == "string":
        cell = st.sampled_from([None, *TEXT, *NUMERIC_TEXT])
        return pd.array(draw(st.lists(cell, **size)), dtype="string")
    if kind == "Int64":
        return pd.array(draw(st.lists(st.one_of(ints, st.none()), **size)), dtype="Int64")
    if kind == "Float64":
        cell = st.one_of(st.floats(-10, 10), st.none())
        return pd.array(draw(st.lists(cell, **size)), dtype="Float64")
    if kind == "boolean":
        cell = st.one_of(st.booleans(), st.none())
        return pd.array(draw(st.lists(cell, **size)), dtype="boolean")
    seconds = draw(st.lists(st.integers(0, 2**31), **size))
    return pd.to_datetime(pd.Series(seconds, dtype=np.int64), unit="s")


@st.composite
def mixed_frame(draw):
    """A DataFrame whose columns have different dtypes."""
    n_rows, n_columns = draw(ROWS), draw(st.one_of(st.integers(1, 4), st.sampled_from([0, 9])))
    columns = {f"c{j}": draw(frame_column(n_rows)) for j in range(n_columns)}
    frame = pd.DataFrame(columns, index=range(n_rows))
    names = draw(st.sampled_from(["str", "int", "mixed"]))
    if names == "int":
        frame.columns = range(n_columns)
    elif names == "mixed" and n_columns >= 2:
        frame.columns = [j if j % 2 else f"c{j}" for j in range(n_columns)]
    return frame


inputs = st.one_of(array_like(), mixed_frame())

#: Three well-separated groups of 8 rows: clean data every model fits.
GOOD_X = np.random.default_rng(0).normal(size=(24, 3)).astype(np.float32)
GOOD_X[:8] += 4.0
GOOD_X[8:16] -= 4.0


@st.composite
def same_width_matrix(draw):
    """Float rows as wide as GOOD_X: a warm start can continue on them, and training runs."""
    return draw(float_matrix(draw(st.integers(3, 33)), GOOD_X.shape[1]))


class Poison:
    """A parameter value whose every use fails: inference must never read it."""

    def __repr__(self):
        return "Poison()"

    def __getattr__(self, name):
        raise AttributeError(f"an inference method read a parameter set after fit ({name})")

    def _used(self, *args):
        raise AssertionError("an inference method read a parameter set after fit")

    __bool__ = __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __hash__ = _used
    __index__ = __int__ = __float__ = __len__ = __iter__ = __getitem__ = __call__ = _used
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = _used
    __rtruediv__ = __neg__ = __format__ = __str__ = _used


#: Values another parameter could take, valid for some and of the wrong type for others.
OTHER_VALUES = [
    *(0, 1, 2, 5, 7, -1, 0.5, 5.0, 1e-3, True, False, None, np.int64(4)),
    *("kmeans", "encoder", "bernoulli", "gaussian", "sigmoid", "unit", "linear", "wgan-gp"),
    *("cpu", "meta", "cuda:3", "bfloat16", "one-to-one", (4, 4), (1, 8, 8), (0.1, 0.2)),
    [("c0", "c0_hat")],
]


@st.composite
def changed_params(draw, names):
    """Some of the parameters ``names``, each set to another value or a Poison."""
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
    values = st.one_of(st.sampled_from(OTHER_VALUES), st.builds(Poison))
    return {name: draw(values) for name in chosen}


@st.composite
def extreme_rows(draw, base, n_rows=None):
    """Rows of ``base`` with outliers of extreme but finite magnitude, up to float32's maximum."""
    if n_rows is None:
        n_rows = draw(st.integers(1, 12))
    X = base[draw(st.lists(st.integers(0, len(base) - 1), min_size=n_rows, max_size=n_rows))]
    X = X.astype(np.float64)
    magnitude = st.one_of(
        st.sampled_from([1e4, 1e10, 1e17, 1e19, 2e19, 1e30, 1e38, FLOAT32_MAX]),
        st.floats(1.0, FLOAT32_MAX, width=32),
    )
    sign = st.sampled_from([1.0, -1.0])
    kind = draw(st.sampled_from(["cells", "row", "scaled"]))
    event(f"extreme: {kind}")
    if kind == "cells":
        cells = st.tuples(st.integers(0, n_rows - 1), st.integers(0, X.shape[1] - 1))
        for i, j in draw(st.lists(cells, min_size=1, max_size=4)):
            X[i, j] = draw(sign) * draw(magnitude)
    elif kind == "row":
        X[draw(st.integers(0, n_rows - 1))] *= draw(magnitude)
    else:
        X *= draw(magnitude)
    # Each value stays finite in float32 (X * 3e38 may not).
    return np.clip(X, -FLOAT32_MAX, FLOAT32_MAX).astype(np.float32)


#: Values of the integer parameters that tiny fits can take, some large enough
#: that uint8 arithmetic on them overflows (batch_size 200 against 24 rows).
INTEGER_VALUES = {
    "n_clusters": [2, 3],
    "batch_size": [2, 3, 200],
    "max_iter": [1, 2],
    "n_neighbors": [1, 5, 255],
    "latent_dim": [1, 2],
    "mixture_latent_dim": [1, 2],
    "n_mc_samples": [1, 2],
    "n_continuous": [0, 1],
    "n_critic": [1, 2],
    "pretrain_updates": [0, 5],
    "n_iter_no_change": [1],
    "random_state": [0, 7],
    "verbose": [0],
}

INTEGER_TYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
REAL_TYPES = [np.float16, np.float32, np.float64, np.longdouble, fractions.Fraction]


@st.composite
def typed_number(draw, name, default):
    """A value parameter ``name`` takes, as a NumPy scalar or Fraction; and its Python value."""
    if name in INTEGER_VALUES:
        value = draw(st.sampled_from(INTEGER_VALUES[name]))
        kind = draw(st.sampled_from([t for t in INTEGER_TYPES if np.iinfo(t).max >= value]))
        return kind(value), value
    if isinstance(default, (tuple, list)):  # hidden_units, betas: element by element
        pairs = [draw(typed_number(f"{name}[{i}]", v)) for i, v in enumerate(default)]
        return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
    if isinstance(default, numbers.Integral):  # a layer width
        kind = draw(st.sampled_from(INTEGER_TYPES))
        return kind(default), int(default)
    default = 1e-3 if default is None else default  # generator_learning_rate
    default = 1.0 if isinstance(default, str) else default  # a weight's "auto"
    value = draw(st.sampled_from([default, 0.5 * default]))
    kind = draw(st.sampled_from(REAL_TYPES))
    typed = kind(value)
    return typed, float(typed)
