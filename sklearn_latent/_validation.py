"""Checks of a model's parameters, data and partial labels, as plain functions.

``fit`` runs them before it reads anything else: :func:`check_params` returns
the parameters as the plain Python values they stand for, which ``fit``
records in a :class:`FittedParams`, and every error names the parameter or
the data at fault and the fix.
"""

import fractions
import math
from numbers import Integral, Real
from types import SimpleNamespace

import numpy as np
from sklearn.utils._param_validation import (
    InvalidParameterError,
    make_constraint,
    validate_parameter_constraints,
)
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    column_or_1d,
    validate_data,
)

from ._data import resolve_consistency_weight, resolve_metric
from ._runtime import resolve_device

#: Largest float32 value: the bound of every real parameter that reaches the networks'
#: float32 arithmetic (a weight, a learning rate, a scale); beyond it torch cannot
#: even convert the number.
FLOAT32_MAX = float(np.finfo(np.float32).max)
#: Largest feature magnitude ``fit`` accepts: the square root of float32's maximum.
#: Squared errors, Gaussian densities and the first layers' updates of larger
#: values overflow the float32 networks.
MAX_ABS_FEATURE = float(np.sqrt(FLOAT32_MAX))


class FittedParams(SimpleNamespace):
    """The parameters of the last successful ``fit``, as attributes.

    ``fit`` records them, checked and as plain Python numbers, before it
    reads any, and training and inference read them here, never the
    estimator's live parameters: ``set_params`` on a fitted model changes
    nothing until the next ``fit`` (as ``KMeans.predict`` uses
    ``cluster_centers_``, whatever ``n_clusters`` says now).  Once ``fit``
    has sized the networks, ``n_clusters`` here is the number fitted
    (``n_clusters_``) and ``consistency_weight`` the weight trained with,
    ``"auto"`` resolved in both.
    """


def plain_number(value):
    """A NumPy scalar or other number as the Python bool, int or float it stands for.

    ``fit`` reads its parameters through this once, where it checks them, so
    that ``np.uint8(32)`` trains as 32 (no uint8 arithmetic overflows in the
    epoch budget), ``np.float16(1e-3)`` as the float it holds, and
    ``Fraction(1, 1000)`` meets the interval checks, which call ``np.isnan``,
    as 0.001.  A number beyond any float becomes an infinity of its sign, so
    that the bound it exceeds names it.  Anything else is returned as it is.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
        except (TypeError, ValueError):
            return value
    return value


def check_params(estimator):
    """The parameters as plain Python values, checked: scikit-learn's validation, made strict.

    NumPy scalars and other numbers are read once, here, as the Python
    values they stand for (:func:`plain_number`, element by element in the
    sequence parameters); ``fit`` records what this returns and training
    reads that record, never the estimator's own (unchanged) parameters.
    Beyond scikit-learn's checks: its ``Interval(Integral, ...)`` takes
    ``True`` for 1, a ``tuple`` constraint says nothing of the elements,
    a check that fails on an odd type (not with the parameter's name) is
    reported with it, Adam's first step must stay within float32, and the
    device is resolved here, so that every parameter fails before any data
    is read.

    Returns
    -------
    params : dict
        The checked parameters by name.
    """
    params = {
        name: tuple(plain_number(v) for v in value)
        if name in estimator._sequence_constraints and isinstance(value, (tuple, list))
        else plain_number(value)
        for name, value in estimator.get_params(deep=False).items()
    }
    for name, constraints in estimator._parameter_constraints.items():
        kinds = {getattr(c, "type", None) for c in constraints}
        value = params[name]
        if Real in kinds and Integral not in kinds and type(value) is int:
            # An int for a real parameter is used as a float: 10**400 is an infinity.
            params[name] = plain_number(fractions.Fraction(value))
    name_of = type(estimator).__name__
    for name, constraints in estimator._parameter_constraints.items():
        value = params[name]
        allowed = " or ".join(str(make_constraint(c)) for c in constraints)
        try:
            validate_parameter_constraints({name: constraints}, {name: value}, caller_name=name_of)
        except InvalidParameterError:
            raise
        except Exception as exc:
            # e.g. a number type scikit-learn's interval check cannot compare
            raise InvalidParameterError(
                f"The {name!r} parameter of {name_of} must be {allowed}; checking "
                f"{value!r} against that failed ({type(exc).__name__}: {exc})."
            ) from exc
        if isinstance(value, bool) and not any(
            constraint in ("boolean", "verbose") for constraint in constraints
        ):
            raise InvalidParameterError(
                f"The {name!r} parameter of {name_of} must be {allowed}, not a bool; got {value!r}."
            )
    for name, (element, length, description) in estimator._sequence_constraints.items():
        value = params[name]
        if value is None:
            continue
        if (len(value) == 0 if length is None else len(value) != length) or not all(
            element.is_satisfied_by(v) and not isinstance(v, bool) for v in value
        ):
            raise InvalidParameterError(
                f"The {name!r} parameter of {name_of} must be {description}; "
                f"got {estimator.get_params(deep=False)[name]!r}."
            )
    _check_adam_steps(estimator, params)
    resolve_device(params["device"])
    return params


def _check_adam_steps(estimator, params):
    """Refuse a learning rate whose first Adam step overflows float32.

    Adam's first step is ``learning_rate / (1 - beta1)`` (its bias
    correction), which torch converts to float32: beyond float32's
    maximum it fails with an overflow error that names no parameter.
    """
    beta1 = params["betas"][0]
    largest = FLOAT32_MAX * (1 - beta1)
    while largest / (1 - beta1) > FLOAT32_MAX:  # torch's own division, to the last bit
        largest = float(np.nextafter(largest, 0.0))
    for name in estimator._learning_rate_parameters:
        value = params[name]
        if value is not None and value / (1 - beta1) > FLOAT32_MAX:
            raise InvalidParameterError(
                f"The {name!r} parameter of {type(estimator).__name__} is {value:.4g}, so "
                f"Adam's first step, {name} / (1 - betas[0]) = {value / (1 - beta1):.4g}, "
                f"overflows float32 (largest {FLOAT32_MAX:.4g}); with betas[0]={beta1} the "
                f"largest {name} that works is {largest!r}."
            )


def check_X(estimator, X, reset, **check_params):
    """``validate_data`` as float32 (CSR kept sparse), with clear errors for DataFrames."""
    shape = getattr(X, "shape", ())
    if hasattr(X, "columns") and hasattr(X, "dtypes"):
        temporal = [
            str(name)
            for name, dtype in zip(X.columns, X.dtypes, strict=True)
            if getattr(dtype, "kind", None) in ("m", "M")
        ]
        if temporal:
            raise ValueError(
                f"Column(s) {temporal} of X hold dates or durations, which are not features "
                "the model can read. Convert them to numbers (e.g. seconds since a reference "
                "date, or the month and weekday through a ColumnTransformer) or drop them."
            )
    if len(shape) == 2 and shape[1] == 0:
        # A DataFrame without columns otherwise fails deep in numpy, unexplained.
        raise ValueError(
            f"Found array with 0 feature(s) (shape={tuple(shape)}) while a minimum of 1 is "
            f"required by {type(estimator).__name__}."
        )
    try:
        return validate_data(
            estimator, X, accept_sparse="csr", dtype=np.float32, reset=reset, **check_params
        )
    except TypeError as exc:
        if "NAType" not in str(exc):
            raise
        raise ValueError(
            "Input X contains missing values (pd.NA). Impute them, e.g. with "
            "sklearn.impute.SimpleImputer, or drop those rows."
        ) from exc
    except ValueError as exc:
        first_line = str(exc).split("\n")[0]
        if "could not convert" in first_line:
            raise ValueError(
                f"{exc}. X must be numeric: encode text and categories as numbers (e.g. "
                "sklearn.preprocessing.OneHotEncoder in a sklearn.compose.ColumnTransformer) "
                "or drop those columns."
            ) from exc
        # scikit-learn's message points to supervised estimators that take NaN.
        if first_line.startswith("Input X contains NaN"):
            raise ValueError(
                "Input X contains NaN. sklearn-latent's clusterers do not accept missing "
                "values: impute them (e.g. sklearn.impute.SimpleImputer in a Pipeline) or "
                "drop those rows."
            ) from exc
        if first_line.startswith("Input X contains infinity"):
            raise ValueError(
                f"{first_line} The networks compute in float32: drop those rows, or clip "
                "or rescale the features (e.g. sklearn.preprocessing.StandardScaler)."
            ) from exc
        raise


def check_training_data(estimator, X, warm_start):
    """The training rows as :func:`check_X` returns them, and small enough for float32."""
    try:
        X = check_X(estimator, X, reset=not warm_start, ensure_min_samples=2)
    except ValueError as exc:
        if warm_start and "features" in str(exc):
            raise ValueError(
                f"{exc} warm_start=True continues the fitted model, which needs data of the "
                "same columns; set warm_start=False to train a new model on these."
            ) from exc
        raise
    largest = float(max(X.max(), -X.min()))
    if largest > MAX_ABS_FEATURE:
        raise ValueError(
            f"X holds values up to {largest:.3g} in absolute value, beyond the "
            f"{MAX_ABS_FEATURE:.3g} the float32 networks can train on (their squares "
            "overflow). Scale the features, e.g. with sklearn.preprocessing.StandardScaler."
        )
    return X


def check_embeddings(X, width):
    """Embeddings for ``inverse_transform``: float32, as wide as ``transform``'s ``width``."""
    Z = check_array(X, dtype=np.float32)
    if Z.shape[1] != width:
        raise ValueError(
            f"X has {Z.shape[1]} columns but inverse_transform expects embeddings of "
            f"width {width}, as returned by transform."
        )
    return Z


def check_n_samples(n_samples):
    """Refuse an ``n_samples`` for ``sample`` that is not a positive integer."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")


def check_partial_labels(fitted, y, n_samples):
    """Partial labels as int64 with -1 for unlabelled rows, or None if none are used."""
    if y is None or fitted.label_weight == 0:
        return None
    y = column_or_1d(y)
    check_consistent_length(np.empty((n_samples, 0)), y)
    hint = (
        "pass y as integer classes 0..n_clusters-1 with -1 for unlabelled rows (the "
        "sklearn.semi_supervised convention; sklearn.preprocessing.LabelEncoder maps "
        "other labels), or no y to fit without labels"
    )
    numeric = np.issubdtype(y.dtype, np.number)
    if not numeric or not np.isfinite(y).all() or (y != np.round(y)).any():
        raise ValueError(f"y must hold integer class labels; got {y.dtype} values. To fix, {hint}.")
    y = y.astype(np.int64)
    if fitted.n_clusters == "auto":
        raise ValueError(
            "n_clusters='auto' cannot be combined with partial labels: cluster k stands "
            "for class k, so the number of clusters is the number of classes. Pass "
            "n_clusters as that number, or fit without y (or with label_weight=0)."
        )
    outside = np.unique(y[(y < -1) | (y >= fitted.n_clusters)])
    if outside.size:
        raise ValueError(
            f"y holds labels {outside[:5].tolist()} outside -1..{fitted.n_clusters - 1}: "
            f"cluster k stands for class k, so with n_clusters={fitted.n_clusters} {hint}."
        )
    return y if (y >= 0).any() else None


def check_data_shape(fitted, X):
    """Refuse more clusters than rows, and an ``image_shape`` that does not fit the columns."""
    n_samples, n_features = X.shape
    if fitted.n_clusters != "auto" and fitted.n_clusters > n_samples:
        raise ValueError(
            f"n_clusters={fitted.n_clusters} is larger than the number of rows "
            f"({n_samples}); pass at least n_clusters rows or lower n_clusters."
        )
    if fitted.image_shape is not None:
        shape = tuple(fitted.image_shape)
        if np.prod(shape) != n_features:
            raise ValueError(
                f"image_shape={shape} holds {int(np.prod(shape))} values per image but X has "
                f"{n_features} features; pass images flattened in (C, H, W) order or fix "
                "image_shape."
            )
        if min(shape[1:]) < 4:
            raise ValueError(
                f"image_shape={shape}: the convolutional nets need height and width of at "
                "least 4 pixels; use image_shape=None for an MLP on such small inputs."
            )
        if fitted.hidden_units is not None and len(fitted.hidden_units) not in (1, 3):
            raise ValueError(
                f"hidden_units={tuple(fitted.hidden_units)} does not fit the convolutional nets "
                "of image_shape: give one width (the dense layer, beside the papers' 64 and 128 "
                "channels) or three (the two convolutions' channels, then the dense layer), "
                "e.g. hidden_units=(32, 64, 256)."
            )


def check_cluster_posterior_trained(estimator, X, labels):
    """Refuse loss weights that leave the network behind ``_cluster_proba`` untrained."""
    fitted = estimator._fitted_params
    weights = estimator._cluster_posterior_weights()
    if weights is None:
        return
    weights = {
        **weights,
        "consistency_weight": resolve_consistency_weight(
            fitted.consistency_weight, resolve_metric(fitted.metric, X)
        ),
        "balance_weight": fitted.balance_weight,
        **({"init_weight": fitted.init_weight} if fitted.cluster_init == "manifold" else {}),
    }
    if labels is not None or any(w > 0 for w in weights.values()):
        return
    raise ValueError(
        f"With {', '.join(f'{name}=0' for name in weights)} and no labels, nothing trains "
        f"the network {type(estimator).__name__} assigns clusters with, so its labels would come "
        "from random initial weights. Set one of these weights above 0."
    )
