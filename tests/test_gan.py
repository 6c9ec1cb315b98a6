"""The layer both GANs share (sklearn_latent/_gan.py): the game's settings act alike in each."""

from types import SimpleNamespace

import pytest

from conftest import ESTIMATORS, fast
from sklearn_latent import ClusterGANClustering, InfoGANClustering
from sklearn_latent._gan import BaseGANClustering
from sklearn_latent._validation import FittedParams, check_params

#: The models trained as a game, found by their layer.
GANS = [cls for cls in ESTIMATORS if issubclass(cls, BaseGANClustering)]
#: How each GAN records recovering the cluster code of its generated rows, and
#: whether that record falls (-1: a loss) or rises (+1: an information bound).
CODE_RECOVERY = {
    ClusterGANClustering: ("z_c", -1),
    InfoGANClustering: ("categorical_information", 1),
}


@pytest.mark.parametrize("n_critic", [1, 2, 5])
@pytest.mark.parametrize("estimator_class", GANS, ids=lambda cls: cls.__name__)
def test_generator_steps_on_the_first_of_every_n_critic_steps(estimator_class, n_critic):
    model = estimator_class(n_critic=n_critic)
    model._fitted_params = FittedParams(**check_params(model))  # what fit records and reads
    optimizers = SimpleNamespace(critic_steps=0)
    turns = [model._generator_turn(optimizers) for _ in range(10)]
    assert turns == [step % n_critic == 0 for step in range(10)]


@pytest.mark.parametrize("estimator_class", GANS, ids=lambda cls: cls.__name__)
def test_papers_wgan_gp_recipe_trains(estimator_class, blobs):
    X, _ = blobs
    model = fast(
        estimator_class,
        n_clusters=3,
        loss="wgan-gp",
        n_critic=5,
        consistency_weight=0,
        balance_weight=0,
        cluster_init=None,
        random_state=0,
    ).fit(X)
    records = model.history_
    assert {"critic", "adversarial"} <= set(records[-1])
    assert "neighbor_disagreement" not in records[-1]
    # Five critic steps per generator step: G still learns to encode the cluster code.
    name, sign = CODE_RECOVERY[estimator_class]
    assert sign * (records[-1][name] - records[0][name]) > 0


@pytest.mark.parametrize("estimator_class", GANS, ids=lambda cls: cls.__name__)
def test_generator_learning_rate_sets_the_generators_optimiser_only(estimator_class, blobs):
    X, _ = blobs
    model = fast(estimator_class, n_clusters=3, max_iter=1, generator_learning_rate=0.05)
    made, make = [], model._make_optimizers
    model._make_optimizers = lambda: made.append(make()) or made[-1]
    model.fit(X)
    del model._make_optimizers
    (optimizers,) = made  # the optimisers fit trained with
    assert optimizers.generator.param_groups[0]["lr"] == 0.05
    assert optimizers.critic.param_groups[0]["lr"] == model.learning_rate
    assert optimizers.critic.param_groups[0]["betas"] == tuple(model.betas)
    assert optimizers.generator.state and optimizers.critic.state, "both took steps"
