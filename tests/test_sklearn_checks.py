"""scikit-learn's own estimator check suite, with a given and a found number of clusters."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from conftest import ESTIMATORS, FAST_PARAMS, SKLEARN_CHECK_BUGS, fast


@parametrize_with_checks(
    [fast(cls, random_state=0) for cls in ESTIMATORS]
    # A quarter of the epochs with "auto": the checks exercise the search and the sizing.
    + [
        fast(cls, random_state=0, n_clusters="auto", max_iter=FAST_PARAMS[cls]["max_iter"] // 4)
        for cls in ESTIMATORS
    ],
    expected_failed_checks=lambda estimator: SKLEARN_CHECK_BUGS,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
