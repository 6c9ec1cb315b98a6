"""The layer the GAN clusterers share, between the base and their own files.

:class:`BaseGANClustering` owns what is the same in every adversarial
clusterer here (ClusterGAN, InfoGAN): the parameters of the game and of the
Localized GAN terms, the two optimisers, the critic's loss with its gradient
penalty, when the generator steps, the generator's output activation, and
``sample``.  A GAN subclass has ``generator_`` and ``discriminator_``
networks -- the latter with a ``"score"`` head, the critic -- and supplies,
besides the base's hooks:

``_draw_latent(clusters, random)``
    the generator's input for a tensor of cluster indices, drawn from the
    latent prior, and its continuous part (the model's own losses use it);
``_latent_scale(device)``
    the prior's standard deviation of each generator input, 0 for the
    cluster code: the units of the Localized GAN terms;
``_generator_parameters()``, ``_critic_parameters()``
    what the generator's and the critic's optimisers train.

Its ``_train_step`` calls :meth:`~BaseGANClustering._critic_loss`, then, when
:meth:`~BaseGANClustering._generator_turn` says so, the generator's step with
:meth:`~BaseGANClustering._frozen_critic`, and adds the Localized GAN terms
(:meth:`~BaseGANClustering._tangent_smoothness` to the loss of the network
behind ``_cluster_proba``, :meth:`~BaseGANClustering._tangent_orthonormality`
to the generator's).
"""

from abc import abstractmethod
from contextlib import contextmanager
from numbers import Integral, Real
from types import SimpleNamespace

from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseLatentClustering
from ._losses import (
    critic_loss,
    generator_loss,
    gradient_penalty,
    posterior_tangent_smoothness,
    tangent_orthonormality,
)
from ._validation import FLOAT32_MAX


class BaseGANClustering(BaseLatentClustering):
    """Template for clusterers trained as a generative adversarial game.

    Not for direct use: see the module docstring for the hooks.
    """

    _parameter_constraints = {
        **BaseLatentClustering._parameter_constraints,
        "loss": [StrOptions({"wgan-gp", "nonsaturating"})],
        "n_critic": [Interval(Integral, 1, None, closed="left")],
        "gradient_penalty": [Interval(Real, 0, FLOAT32_MAX, closed="both")],
        "manifold_weight": [Interval(Real, 0, FLOAT32_MAX, closed="both")],
        "orthonormality_weight": [Interval(Real, 0, FLOAT32_MAX, closed="both")],
        "generator_learning_rate": [Interval(Real, 0, FLOAT32_MAX, closed="right"), None],
        "output_activation": [StrOptions({"auto", "sigmoid", "unit", "linear"})],
    }

    _learning_rate_parameters = ("learning_rate", "generator_learning_rate")

    # ------------------------------------------------------------ GAN hooks
    @abstractmethod
    def _draw_latent(self, clusters, random):
        """Generator input for ``clusters`` from the latent prior, and its continuous part."""

    @abstractmethod
    def _latent_scale(self, device):
        """Prior standard deviation of each generator input, 0 for the cluster code."""

    def _generator_parameters(self):
        """The parameters the generator's optimiser trains."""
        return self.generator_.parameters()

    def _critic_parameters(self):
        """The parameters the critic's optimiser trains."""
        return self.discriminator_.parameters()

    # -------------------------------------------------------------- shared
    def _make_optimizers(self):
        """One Adam per player; ``critic_steps`` counts the critic's steps over the fit."""
        fitted = self._fitted_params
        return SimpleNamespace(
            critic=self._adam(self._critic_parameters(), fitted.learning_rate),
            generator=self._adam(
                self._generator_parameters(), fitted.generator_learning_rate or fitted.learning_rate
            ),
            critic_steps=0,
        )

    def _generator_activation(self, unit_interval):
        """The generator's output activation, ``output_activation`` with "auto" resolved."""
        fitted = self._fitted_params
        if fitted.output_activation != "auto":
            return fitted.output_activation
        if self.metric_ == "cosine":
            # Documents: a sigmoid's 0.5 a term at initialisation made fake rows of
            # 50,000 terms a hundred times as long as the unit-length real ones, and
            # InfoGAN's critic trunk, which Q shares, told them apart by length
            # alone: its posterior stayed uniform (ACC 0.057 on 20,000 synthetic
            # documents, 1.000 with unit rows; benchmarks/NOTES.md, session 12).
            return "unit"
        # A sigmoid keeps generated pixels in range, as the GAN papers do for MNIST.
        return "sigmoid" if unit_interval else "linear"

    def _critic(self, x):
        """The critic's score of each row: D's ``"score"`` head."""
        return self.discriminator_(x)["score"].squeeze(1)

    def _critic_loss(self, real, fake, real_scores, fake_scores, random):
        """D's adversarial loss on the scores of ``real`` and ``fake`` rows.

        With ``loss="wgan-gp"`` it adds the gradient penalty (Gulrajani et al.
        2017) at one interpolation between a real and a fake row per row.
        """
        fitted = self._fitted_params
        loss = critic_loss(real_scores, fake_scores, fitted.loss)
        if fitted.loss == "wgan-gp" and fitted.gradient_penalty > 0:
            penalty = gradient_penalty(self._critic, real, fake, random)
            loss = loss + fitted.gradient_penalty * penalty
        return loss

    def _generator_adversarial_loss(self, fake_scores):
        """G's adversarial loss on the critic's scores of its rows."""
        fitted = self._fitted_params
        return generator_loss(fake_scores, fitted.loss)

    def _generator_turn(self, optimizers):
        """Whether the generator steps after this critic step.

        It steps on the first of every ``n_critic`` critic steps, counted over
        the whole fit, so that any fit, however few its batches, trains every
        network.
        """
        fitted = self._fitted_params
        turn = optimizers.critic_steps % fitted.n_critic == 0
        optimizers.critic_steps += 1
        return turn

    @contextmanager
    def _frozen_critic(self):
        """Hold D's weights out of autograd while the generator's loss reads it."""
        self.discriminator_.requires_grad_(False)
        try:
            yield
        finally:
            self.discriminator_.requires_grad_(True)

    # Localized GAN (Qi, Zhang, Hu, Edraki, Wang, Hua, CVPR 2018): see _losses.py.
    def _tangent_smoothness(self, latent, random):
        """The weighted smoothness of the cluster posterior along G's tangents, and its record.

        Its gradient reaches the network behind ``_cluster_proba`` only (G is
        held fixed): add it to that network's loss.
        """
        fitted = self._fitted_params
        if fitted.manifold_weight == 0:
            return 0.0, {}
        smoothness = posterior_tangent_smoothness(
            self._cluster_proba, self.generator_, latent, self._latent_scale(latent.device), random
        )
        return fitted.manifold_weight * smoothness, {"tangent_smoothness": smoothness.detach()}

    def _tangent_orthonormality(self, latent, random):
        """The weighted orthonormality of G's tangent vectors, and its record: G's loss."""
        fitted = self._fitted_params
        if fitted.orthonormality_weight == 0:
            return 0.0, {}
        orthonormality = tangent_orthonormality(
            self.generator_, latent, self._latent_scale(latent.device), random
        )
        return (
            fitted.orthonormality_weight * orthonormality,
            {"tangent_orthonormality": orthonormality.detach()},
        )

    def _cluster_posterior_weights(self):
        fitted = self._fitted_params
        return {"manifold_weight": fitted.manifold_weight}

    # ------------------------------------------------------------ inference
    def _generate(self, clusters, random):
        return self.generator_(self._draw_latent(clusters, random)[0])
