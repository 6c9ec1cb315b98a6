"""scikit-learn's own estimator check suite."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from conftest import ESTIMATORS, fast

# Both sparse checks end by reading ``tags.classifier_tags.multi_class`` of
# any estimator with predict_proba, which a clusterer has not (None): they
# crash after our fit and predict on sparse input have passed.  Sparse input
# is tested in test_training_loop.py instead.
SKLEARN_CHECK_BUGS = dict.fromkeys(
    ("check_estimator_sparse_array", "check_estimator_sparse_matrix"),
    "scikit-learn's sparse check assumes predict_proba means a classifier",
)


@parametrize_with_checks(
    [fast(cls, random_state=0) for cls in ESTIMATORS],
    expected_failed_checks=lambda estimator: SKLEARN_CHECK_BUGS,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
