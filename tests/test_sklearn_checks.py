"""scikit-learn's own estimator check suite, with no expected failures."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from conftest import ESTIMATORS, fast


@parametrize_with_checks([fast(cls, random_state=0) for cls in ESTIMATORS])
def test_sklearn_compatible(estimator, check):
    check(estimator)
