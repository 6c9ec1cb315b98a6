"""Bad input and training faults meet a ValueError that names the problem."""

from fractions import Fraction

import numpy as np
import pytest

from conftest import fast
from sklearn_latent import TrainingDivergedError


@pytest.mark.parametrize(
    "X, message",
    [
        (np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 4.0]]), "NaN"),
        (np.array([[0.0, np.inf], [1.0, 2.0], [3.0, 4.0]]), "infinity"),
        (np.empty((0, 3)), "0 sample"),
        (np.ones((1, 3)), "1 sample"),
        (np.array([["a", "b"], ["c", "d"]]), "could not convert|dtype"),
    ],
    ids=["nan", "inf", "empty", "one-row", "strings"],
)
def test_bad_training_data(estimator_class, X, message):
    with pytest.raises(ValueError, match=message):
        fast(estimator_class, n_clusters=2).fit(X)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_input_message_speaks_of_clustering(estimator_class, blobs, value):
    X, _ = blobs
    X = X.copy()
    X[3, 1] = value
    hint = "SimpleImputer" if np.isnan(value) else "StandardScaler"
    for method in ("fit", "predict"):
        model = fast(estimator_class, n_clusters=3, max_iter=1)
        if method == "predict":
            model.fit(np.nan_to_num(X, posinf=0.0))
        with pytest.raises(ValueError, match=hint) as error:
            getattr(model, method)(X)
        assert "supervised" not in str(error.value)
        assert "HistGradientBoosting" not in str(error.value)


def test_more_clusters_than_rows(estimator_class):
    with pytest.raises(ValueError, match="n_clusters=5 is larger than the number of rows"):
        fast(estimator_class, n_clusters=5).fit(np.random.default_rng(0).normal(size=(4, 3)))


def test_wrong_feature_count_at_predict(estimator_class, blobs):
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, max_iter=1).fit(X)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :2])
    if hasattr(model, "inverse_transform"):
        too_wide = np.ones((2, model.transform(X).shape[1] + 1))
        with pytest.raises(ValueError, match="inverse_transform expects embeddings"):
            model.inverse_transform(too_wide)


@pytest.mark.parametrize(
    "image_shape, message",
    [
        ((1, 3, 3), "holds 9 values per image"),
        ((1, 2, 2), "at least 4 pixels"),
        ((4, 2), "channels, height, width"),
    ],
)
def test_image_shape_mismatch(estimator_class, image_shape, message):
    X = np.random.default_rng(0).random((10, 4))
    with pytest.raises(ValueError, match=message):
        fast(estimator_class, n_clusters=2, image_shape=image_shape).fit(X)


@pytest.mark.parametrize("hidden_units", [(8, 8), (8, 8, 8, 8)])
def test_conv_widths_are_one_or_three(estimator_class, hidden_units):
    X = np.random.default_rng(0).random((10, 16))
    with pytest.raises(ValueError, match="does not fit the convolutional nets"):
        fast(estimator_class, n_clusters=2, image_shape=(1, 4, 4), hidden_units=hidden_units).fit(X)


@pytest.mark.parametrize(
    "param, value",
    [
        ("n_clusters", 0),
        ("max_iter", 0),
        ("batch_size", 1),
        ("learning_rate", -1.0),
        ("device", "tpu"),
    ],
)
def test_invalid_parameters(estimator_class, blobs, param, value):
    X, _ = blobs
    with pytest.raises(ValueError, match=param):
        fast(estimator_class, **{param: value}).fit(X)


def test_divergence_names_epoch_and_keeps_previous_model(estimator_class, blobs):
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, random_state=0).fit(X)
    labels = model.predict(X)
    # A learning rate this large blows the weights up within a few steps.
    model.set_params(learning_rate=1e12)
    with pytest.raises(TrainingDivergedError, match=r"epoch \d+.*learning_rate"):
        model.fit(X * 1e6)
    np.testing.assert_array_equal(model.predict(X), labels)
    assert model.learning_rate == 1e12, "parameters are the user's; only fitted state is restored"


def test_input_is_not_modified(estimator_class, blobs):
    X, _ = blobs
    X_copy = X.copy()
    model = fast(estimator_class, n_clusters=3, max_iter=2).fit(X)
    model.predict(X)
    model.transform(X)
    np.testing.assert_array_equal(X, X_copy)


@pytest.mark.parametrize("hidden_units", [(), (0, 4), (2.5,)])
def test_invalid_hidden_units(estimator_class, blobs, hidden_units):
    X, _ = blobs
    with pytest.raises(ValueError, match=r"'hidden_units' parameter .* must be a non-empty"):
        fast(estimator_class, hidden_units=hidden_units).fit(X)


def test_failed_fit_on_other_data_keeps_previous_model(estimator_class, blobs):
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, max_iter=2, random_state=0).fit(X)
    labels = model.predict(X)
    # Wider data that passes validation, then diverges in training.
    with pytest.raises(TrainingDivergedError):
        model.set_params(learning_rate=1e12).fit(np.hstack([X, X]) * 1e6)
    assert model.n_features_in_ == X.shape[1]
    np.testing.assert_array_equal(model.predict(X), labels)


def test_invalid_betas(estimator_class, blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match=r"'betas' parameter .* must be two numbers"):
        fast(estimator_class, betas=(0.5, 1.5)).fit(X)


def test_numpy_integers_train_as_their_python_value(estimator_class, blobs):
    """uint8 arithmetic on batch_size overflowed in the epoch budget (150 rows)."""
    X, _ = blobs
    params = {"n_clusters": 3, "max_iter": 1, "cluster_init": None, "random_state": 0}
    typed = fast(estimator_class, batch_size=np.uint8(32), n_neighbors=np.uint8(255), **params)
    plain = fast(estimator_class, batch_size=32, n_neighbors=255, **params)
    np.testing.assert_array_equal(typed.fit(X).labels_, plain.fit(X).labels_)
    assert type(typed.get_params()["batch_size"]) is np.uint8  # the parameter itself is kept


@pytest.mark.parametrize(
    "param, value, message",
    [
        ("learning_rate", 1e300, r"'learning_rate' .* \(0\.0, 3\.4028234663852886e\+38\]"),
        ("learning_rate", 3e38, r"largest learning_rate that works is 3\.40282\d*e\+37"),
        ("learning_rate", Fraction(10**400, 3), r"'learning_rate' .*Got inf"),
        ("consistency_weight", 1e39, r"'consistency_weight' .*3\.4028234663852886e\+38\]"),
        ("tol", 10**400, r"'tol' .*Got inf"),
    ],
    ids=["lr-1e300", "lr-adam-step", "lr-beyond-float64", "weight-1e39", "tol-beyond-float64"],
)
def test_values_beyond_what_float32_trains_are_refused_up_front(
    estimator_class, param, value, message
):
    model = fast(estimator_class, n_clusters=2, betas=(0.9, 0.999), **{param: value})
    model._build = None  # refused before any network is built
    with pytest.raises(ValueError, match=message):
        model.fit(np.zeros((4, 2)))


def test_free_bits_and_the_generators_learning_rate_are_bounded_too():
    from sklearn_latent import ClusterGANClustering, GMVAEClustering

    with pytest.raises(ValueError, match=r"'free_bits' .*3\.4028234663852886e\+38\]"):
        fast(GMVAEClustering, free_bits=1e300).fit(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"largest generator_learning_rate that works"):
        fast(ClusterGANClustering, n_clusters=2, generator_learning_rate=2e38).fit(np.zeros((4, 2)))


def test_a_fraction_is_a_learning_rate(estimator_class, blobs):
    X, _ = blobs
    params = {"n_clusters": 3, "max_iter": 1, "cluster_init": None, "random_state": 0}
    as_fraction = fast(estimator_class, learning_rate=Fraction(1, 500), **params).fit(X)
    np.testing.assert_array_equal(
        as_fraction.labels_, fast(estimator_class, learning_rate=0.002, **params).fit(X).labels_
    )


def test_divergence_from_huge_weights_names_them(blobs):
    """Not learning_rate's fault: the message says which weights to lower."""
    from sklearn_latent import GMVAEClustering

    X, _ = blobs
    model = fast(GMVAEClustering, n_clusters=3, max_iter=2, consistency_weight=3e38)
    expected = r"consistency_weight=3e\+38 \(default 'auto'\)"
    with pytest.raises(TrainingDivergedError, match=expected):
        model.fit(X)


def test_the_largest_learning_rate_that_works_trains_or_diverges_by_name(estimator_class, blobs):
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, max_iter=1, betas=(0.9, 0.999))
    with pytest.raises(ValueError, match="largest learning_rate that works is") as refused:
        model.set_params(learning_rate=3e38).fit(X)
    largest = float(str(refused.value).rsplit(" ", 1)[1].rstrip("."))
    try:  # torch converts Adam's first step to float32 without an overflow error
        model.set_params(learning_rate=largest).fit(X)
    except TrainingDivergedError as exc:
        assert "learning_rate" in str(exc)
