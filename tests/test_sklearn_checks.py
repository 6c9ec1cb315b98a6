"""scikit-learn's own estimator check suite, with a given and a found number of clusters."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from conftest import ESTIMATORS, FAST_PARAMS, SKLEARN_CHECK_BUGS, fast
from sklearn_latent import _manifold


@parametrize_with_checks(
    [fast(cls, random_state=0) for cls in ESTIMATORS]
    # A quarter of the epochs with "auto": the checks exercise the search and the sizing.
    + [
        fast(cls, random_state=0, n_clusters="auto", max_iter=FAST_PARAMS[cls]["max_iter"] // 4)
        for cls in ESTIMATORS
    ],
    expected_failed_checks=lambda estimator: SKLEARN_CHECK_BUGS,
)
def test_sklearn_compatible(estimator, check, monkeypatch):
    if estimator.n_clusters == "auto":
        # The checks ask for the API (the search runs, its number sizes every
        # output), not for the number's quality: one layout of the graph, not
        # three, keeps their hundreds of fits on tiny inputs quick.
        monkeypatch.setattr(_manifold, "COUNT_LAYOUTS", 1)
    check(estimator)
