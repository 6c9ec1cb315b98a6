"""The base's seams: what a model has depends on what it defines.

DEC (``DECClustering``) proves the model without a decoder: it passes the
shared tests and scikit-learn's check suite (``test_sklearn_checks.py``) with
neither ``sample`` nor ``inverse_transform``; its epoch hook is tested in
``test_dec.py``.
"""

import numpy as np
import pytest

from conftest import fast
from sklearn_latent import InfoGANClustering


def test_sample_and_inverse_transform_exist_where_the_model_has_a_generator(estimator_class, blobs):
    """A model with a generator samples and decodes rows; one without has neither method."""
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, max_iter=2, random_state=0).fit(X)
    if model._generates():
        rows, clusters = model.sample(4)
        assert rows.shape == (4, X.shape[1]) and set(clusters) <= {0, 1, 2}
    else:
        assert not hasattr(model, "sample")
        with pytest.raises(AttributeError, match="sample"):
            model.sample(4)
    if model._decodes():
        assert model.inverse_transform(model.transform(X[:4])).shape == (4, X.shape[1])
    else:
        assert not hasattr(model, "inverse_transform")


def test_infogan_stops_early_on_its_score(blobs):
    """The validation-score seam: early stopping maximises InfoGAN's score, its MI."""
    X, _ = blobs
    model = fast(InfoGANClustering, n_clusters=3, random_state=0).fit(X)
    rows = np.arange(len(X))
    assert model._validation_score(X, rows) == pytest.approx(model.score(X), abs=1e-5)
    model = fast(
        InfoGANClustering, n_clusters=3, n_iter_no_change=2, max_iter=30, random_state=0
    ).fit(X)
    best = max(record["validation_score"] for record in model.history_)
    assert 0 < best <= np.log(3) + 1e-6
