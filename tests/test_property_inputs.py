"""Property-based tests: every estimator meets generated inputs without surprises.

Hypothesis generates training data of every awkward kind -- 0 rows to more
columns than rows, float16/int/bool/object/string/complex arrays, NaN, inf,
1e30 and values beyond float32, constant columns, duplicate rows, fewer rows
than ``batch_size``, lists of lists (ragged ones too), sparse matrices,
DataFrames with mixed column dtypes -- and checks, for each estimator:

* it either fits and predicts, or raises a ``ValueError``/``TypeError`` whose
  message names a problem the input really has: never a raw torch error, a
  hang or a crash, and never a silent fit of data that must be refused;
* clean data (finite, numeric, enough rows) always fits, and a fitted model's
  labels and embeddings are valid;
* the input object is never modified;
* a fit that fails leaves an already fitted estimator exactly as it was.

The runs are derandomized, so CI sees the same examples every time.  Set
``SKLEARN_LATENT_HYPOTHESIS_EXAMPLES`` to run more examples locally.
"""

import contextlib
import copy
import math
import os
import re
import signal
import traceback
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from conftest import ESTIMATORS, FAST_PARAMS
from sklearn_latent import TrainingDivergedError

settings.register_profile(
    "sklearn-latent-inputs",
    max_examples=int(os.environ.get("SKLEARN_LATENT_HYPOTHESIS_EXAMPLES", 200)),
    deadline=None,  # an example is a (tiny) training run: its time varies with the machine
    derandomize=True,  # the same examples on every run, for CI
    database=None,  # nothing written to .hypothesis/ in the checkout
    print_blob=True,
    # No "explain" phase: it traces every line of torch, which makes a failing run crawl.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROPERTY_SETTINGS = settings.get_profile("sklearn-latent-inputs")

#: Seconds one example may run before it counts as a hang.
EXAMPLE_TIME_LIMIT = 60
FLOAT32_MAX = float(np.finfo(np.float32).max)
#: Magnitudes from which training may legitimately diverge (TrainingDivergedError).
HUGE = 1e6
TORCH_DIR = str(Path(torch.__file__).resolve().parent)
#: Phrases of torch's own error messages, meaningless to a scikit-learn user.
TORCH_PHRASES = re.compile(
    r"mat1 and mat2|expected scalar type|CUDA|[Tt]ensor|torch|per channel|"
    r"Sizes of .* must match|shape '\[|size of tensor|out of bounds for|"
    r"index -?\d+ is out of|grad|autograd|Expected .* got input size|MPS"
)

# Casting 1e39 to float32 and summing +inf with -inf are the inputs' doing, not
# the library's; and predicting a DataFrame with a model fitted on an array is allowed.
pytestmark = [
    pytest.mark.filterwarnings(
        r"ignore:overflow encountered in cast:RuntimeWarning:(?!sklearn_latent)"
    ),
    pytest.mark.filterwarnings(
        r"ignore:invalid value encountered in reduce:RuntimeWarning:(?!sklearn_latent)"
    ),
    pytest.mark.filterwarnings(r"ignore:X has feature names, but \w+ was fitted without"),
]

# -------------------------------------------------------------- estimators


def tiny(estimator_class, **params):
    """An estimator small enough that one fit on a few rows takes milliseconds."""
    base = {
        **FAST_PARAMS[estimator_class],
        "hidden_units": (8, 8),
        "max_iter": 1,
        "device": "cpu",
        "random_state": 0,
    }
    return estimator_class(**{**base, **params})


estimator_params = st.fixed_dictionaries(
    {
        "n_clusters": st.sampled_from([2, 1, 3]),
        # The default batch (16 or 32) is larger than most generated inputs;
        # 2 and 3 cut even tiny inputs into several (uneven) batches.
        "batch_size": st.sampled_from([None, 2, 3]),
        "max_iter": st.sampled_from([1, 2]),
    }
).map(lambda params: {k: v for k, v in params.items() if v is not None})


class ExampleTimedOut(Exception):
    """An example ran past EXAMPLE_TIME_LIMIT: the estimator hangs on it."""


@contextlib.contextmanager
def time_limit(seconds):
    """Turn a hang (in Python code) into a failure, where the OS allows it."""
    if not hasattr(signal, "setitimer"):  # pragma: no cover - Windows
        yield
        return

    def on_alarm(signum, frame):
        raise ExampleTimedOut(f"the example ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -------------------------------------------------------------- input data

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

# ------------------------------------------------------------ expectations


COMPLEX = r"Complex data not supported|'complex'"


class Expected:
    """What a validator should say about an input.

    ``must`` are patterns of problems that make the input unusable: a fit (or
    predict) must fail with a message matching one of them.  ``may`` are
    patterns of failures that are allowed but not required (divergence on huge
    values, optional support).  No pattern at all: the call must succeed.
    """

    def __init__(self):
        self.must, self.may = [], []

    def __repr__(self):
        return f"Expected(must={self.must}, may={self.may})"

    def matches(self, message):
        return any(re.search(pattern, message) for pattern in self.must + self.may)


def _cell_value(cell):
    """A cell as the float scikit-learn would make of it, or None if it has no reading."""
    if cell is None or cell is pd.NA or cell is pd.NaT:
        return math.nan
    if isinstance(cell, str):
        try:
            return float(cell)
        except ValueError:
            return None
    return float(cell)


def _values_problems(cells, expected, *, fitting):
    if any(isinstance(cell, complex) for cell in cells):
        expected.must.append(COMPLEX)
        return
    values = [_cell_value(cell) for cell in cells]
    if any(value is None for value in values):
        expected.must.append(r"could not convert string|Cannot cast str dtype")
    numbers = [value for value in values if value is not None]
    if any(math.isnan(value) for value in numbers):
        expected.must.append(r"NaN|missing value")
    if any(abs(value) > FLOAT32_MAX for value in numbers if not math.isnan(value)):
        expected.must.append(r"infinity or a value too large")
    if fitting and any(HUGE <= abs(value) <= FLOAT32_MAX for value in numbers):
        expected.may.append(r"became (nan|inf|-inf) in epoch \d+")


def expected_problems(X, *, fitting, n_clusters=None, n_features=None):
    """The :class:`Expected` failures of ``fit`` (or ``predict``) on ``X``."""
    expected = Expected()
    if sp.issparse(X):
        expected.may.append(r"[Ss]parse")
        X = X.toarray()
    if isinstance(X, pd.DataFrame):
        kinds = {isinstance(name, str) for name in X.columns}
        if len(kinds) > 1:
            expected.must.append(r"[Ff]eature names are only supported if all input features")
        shape = X.shape
        cells = []
        for _, column in X.items():
            if pd.api.types.is_datetime64_any_dtype(column.dtype):
                # Alone they read as (huge) numbers; with other dtypes numpy refuses.
                expected.may.append(r"DateTime64DType|DatetimeArray|'Timestamp'")
                if fitting:
                    expected.may.append(r"became (nan|inf|-inf) in epoch \d+")
                continue
            if column.dtype.kind == "c":
                expected.must.append(COMPLEX)
            cells.extend(column.to_numpy(dtype=object).tolist())
    else:
        if isinstance(X, list) and len({len(row) for row in X}) > 1:
            expected.must.append(r"inhomogeneous")
            _values_problems([c for row in X for c in row], expected, fitting=fitting)
            return expected
        # A list's cells as they are: np.asarray would turn [True, "0"] into strings.
        array = np.asarray(X, dtype=object) if isinstance(X, list) else np.asarray(X)
        cells = array.ravel().tolist()
        if array.dtype.kind == "c":
            expected.must.append(COMPLEX)
        if array.ndim != 2:
            expected.must.append(r"Expected 2D array|dim 3")
            _values_problems(cells, expected, fitting=fitting)
            return expected
        shape = array.shape
    n_rows, n_columns = shape
    if n_columns == 0:
        expected.must.append(r"0 feature\(s\)|no (columns|features)")
    if n_rows == 0 or (fitting and n_rows == 1):
        expected.must.append(rf"{n_rows} sample\(s\)")
    if fitting and n_rows < n_clusters:
        expected.must.append(rf"n_clusters={n_clusters} is larger than the number of rows")
    if n_features is not None and n_columns != n_features:
        expected.must.append(rf"X has {n_columns} features?, but \w+ is expecting {n_features}")
    _values_problems(cells, expected, fitting=fitting)
    return expected


def assert_clear_error(exc, expected):
    """``exc`` is a ValueError/TypeError of ours or scikit-learn's naming a real problem."""
    if isinstance(exc, ExampleTimedOut):
        raise exc
    description = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    assert isinstance(exc, (ValueError, TypeError)), (
        f"{description}\nonly ValueError and TypeError may signal bad input"
    )
    origin = traceback.extract_tb(exc.__traceback__)[-1].filename
    assert not str(Path(origin).resolve()).startswith(TORCH_DIR), (
        f"{description}\nraised inside torch ({origin}): a raw torch error, not a validation"
    )
    message = str(exc)
    assert not TORCH_PHRASES.search(message), f"{description}\nthe message speaks torch"
    assert expected.must or expected.may, (
        f"{description}\nthe input is clean (finite, numeric, enough rows): it must fit"
    )
    assert expected.matches(message), (
        f"{description}\nthe message names none of the input's problems: {expected}"
    )
    assert not isinstance(exc, TrainingDivergedError) or re.search(r"epoch \d+", message)


# ------------------------------------------------------- unchanged inputs


def _same(a, b):
    """Equality of cells, nested lists and arrays, with NaN equal to NaN."""
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, (float, complex)) and type(a) is type(b) and a != a and b != b:
        return True  # NaN, real or complex (complex("nan") != itself too)
    return type(a) is type(b) and a == b


def snapshot(X):
    """A deep copy of ``X`` with the array flags a copy does not keep."""
    flags = None
    if isinstance(X, np.ndarray):
        flags = (X.flags.writeable, X.flags.c_contiguous, X.flags.f_contiguous)
    return copy.deepcopy(X), flags


def assert_unchanged(X, saved):
    """``X`` holds what it held when :func:`snapshot` took ``saved``."""
    original, flags = saved
    assert type(X) is type(original)
    if isinstance(X, pd.DataFrame):
        pd.testing.assert_frame_equal(X, original, check_exact=True)
    elif sp.issparse(X):
        assert X.format == original.format and X.dtype == original.dtype
        assert X.shape == original.shape
        np.testing.assert_array_equal(X.toarray(), original.toarray())
    elif isinstance(X, np.ndarray):
        assert X.dtype == original.dtype and X.shape == original.shape
        assert (X.flags.writeable, X.flags.c_contiguous, X.flags.f_contiguous) == flags
        if X.dtype.kind == "O":
            assert all(map(_same, X.ravel().tolist(), original.ravel().tolist()))
        else:
            assert np.array_equal(X, original, equal_nan=X.dtype.kind in "fc")
    else:
        assert _same(X, original), "the list of lists was modified"


def shape_of(X):
    return X.shape if hasattr(X, "shape") else np.asarray(X, dtype=object).shape


def assert_valid_labels(labels, n_rows, n_clusters):
    assert isinstance(labels, np.ndarray) and labels.shape == (n_rows,)
    assert labels.dtype.kind in "iu", labels.dtype
    assert ((labels >= 0) & (labels < n_clusters)).all(), labels


# --------------------------------------------------------------- properties


@pytest.mark.parametrize("estimator_class", ESTIMATORS, ids=lambda cls: cls.__name__)
@PROPERTY_SETTINGS
@given(X=inputs, params=estimator_params)
def test_fit_predict_or_clear_error(estimator_class, X, params):
    """Any input fits and predicts, or is refused with a message naming its problem."""
    model = tiny(estimator_class, **params)
    expected = expected_problems(X, fitting=True, n_clusters=model.n_clusters)
    note(f"{expected}")
    saved = snapshot(X)
    with time_limit(EXAMPLE_TIME_LIMIT):
        try:
            model.fit(X)
        except Exception as exc:
            event(f"fit raised {type(exc).__name__}")
            assert_clear_error(exc, expected)
        else:
            event("fit succeeded")
            assert not expected.must, f"fit accepted an input it must refuse: {expected}"
            n_rows, n_columns = shape_of(X)
            assert model.n_features_in_ == n_columns
            labels = model.predict(X)
            assert_valid_labels(labels, n_rows, model.n_clusters)
            np.testing.assert_array_equal(model.labels_, labels)
            embedding = model.transform(X)
            assert embedding.shape[0] == n_rows
            assert np.isfinite(embedding).all(), "transform of finite float32 rows is not finite"
            if hasattr(model, "predict_proba"):
                proba = model.predict_proba(X)
                assert np.isfinite(proba).all()
                np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-4)
    assert_unchanged(X, saved)


GOOD_X = np.random.default_rng(0).normal(size=(24, 3)).astype(np.float32)
GOOD_X[:8] += 4.0
GOOD_X[8:16] -= 4.0


@st.composite
def same_width_matrix(draw):
    """Float rows as wide as GOOD_X: a warm start can continue on them, and training runs."""
    return draw(float_matrix(draw(st.integers(3, 33)), GOOD_X.shape[1]))


@pytest.fixture(scope="module")
def fitted_models():
    """One small model per estimator, fitted on GOOD_X (copied for each example)."""
    return {cls: tiny(cls, n_clusters=3, max_iter=2).fit(GOOD_X) for cls in ESTIMATORS}


def _fitted_state(model):
    """Everything a failed fit must leave as it was."""
    state, params = {}, model.get_params()
    for name, value in vars(model).items():
        if name in params:
            continue
        if isinstance(value, torch.nn.Module):
            value = {k: v.detach().clone() for k, v in value.state_dict().items()}
        state[name] = copy.deepcopy(value)
    return state


def _assert_same_state(state, before):
    assert state.keys() == before.keys()
    for name, value in before.items():
        if isinstance(value, dict) and all(isinstance(v, torch.Tensor) for v in value.values()):
            assert state[name].keys() == value.keys(), name
            for key, tensor in value.items():
                assert torch.equal(state[name][key], tensor), f"{name}.{key} changed"
        elif isinstance(value, np.ndarray):
            np.testing.assert_array_equal(state[name], value, err_msg=name)
        elif name != "device_":
            assert repr(state[name]) == repr(value), f"{name} changed"


@pytest.mark.parametrize("estimator_class", ESTIMATORS, ids=lambda cls: cls.__name__)
@PROPERTY_SETTINGS
@given(
    X=st.one_of(inputs, same_width_matrix()),
    # 1e3 tends to diverge in a later epoch, 1e12 in the first.
    learning_rate=st.sampled_from([2e-3, 1e3, 1e12]),
    warm_start=st.booleans(),
)
def test_failed_fit_keeps_fitted_model(
    estimator_class, fitted_models, X, learning_rate, warm_start
):
    """predict on any input works or fails clearly; a failed fit changes nothing fitted."""
    model = copy.deepcopy(fitted_models[estimator_class])
    labels, embedding = model.predict(GOOD_X), model.transform(GOOD_X)
    before = _fitted_state(model)
    saved = snapshot(X)
    with time_limit(EXAMPLE_TIME_LIMIT):
        expected = expected_problems(X, fitting=False, n_features=model.n_features_in_)
        note(f"predict: {expected}")
        try:
            predicted = model.predict(X)
        except Exception as exc:
            assert_clear_error(exc, expected)
        else:
            assert not expected.must, f"predict accepted an input it must refuse: {expected}"
            assert_valid_labels(predicted, shape_of(X)[0], model.n_clusters)
        assert_unchanged(X, saved)
        _assert_same_state(_fitted_state(model), before)

        params = {"learning_rate": learning_rate}
        if "warm_start" in model.get_params():
            params["warm_start"] = warm_start
        model.set_params(**params)
        warm = params.get("warm_start", False)
        expected = expected_problems(
            X,
            fitting=True,
            n_clusters=model.n_clusters,
            n_features=model.n_features_in_ if warm else None,
        )
        if learning_rate > 1:
            expected.may.append(r"became (nan|inf|-inf) in epoch \d+")
        if warm:
            expected.may.append(r"warm_start=True continues the fitted")
        note(f"fit with {params}: {expected}")
        try:
            model.fit(X)
        except Exception as exc:
            event(f"refit raised {type(exc).__name__}")
            assert_clear_error(exc, expected)
            assert model.get_params()["learning_rate"] == learning_rate
            _assert_same_state(_fitted_state(model), before)
            np.testing.assert_array_equal(model.predict(GOOD_X), labels)
            np.testing.assert_array_equal(model.transform(GOOD_X), embedding)
        else:
            event("refit succeeded")
            assert not expected.must, f"fit accepted an input it must refuse: {expected}"
    assert_unchanged(X, saved)
