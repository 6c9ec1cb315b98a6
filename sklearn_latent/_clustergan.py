"""ClusterGAN (Mukherjee, Asnani, Lin, Kannan, AAAI 2019) as a scikit-learn clusterer."""

from numbers import Integral, Real
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from sklearn.cluster import KMeans
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if

from ._base import BaseLatentClustering, seed_from_random_state
from ._losses import marginal_entropy_gap, neighbor_disagreement
from ._networks import HeadedNet, make_generator, make_trunk


class ClusterGANClustering(BaseLatentClustering):
    """ClusterGAN: clustering in the latent space of a generative adversarial net.

    WORK IN PROGRESS docstring.
    """

    _parameter_constraints = {
        **BaseLatentClustering._parameter_constraints,
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "beta_n": [Interval(Real, 0, None, closed="left")],
        "beta_c": [Interval(Real, 0, None, closed="left")],
        "loss": [StrOptions({"wgan-gp", "nonsaturating"})],
        "n_critic": [Interval(Integral, 1, None, closed="left")],
        "gradient_penalty": [Interval(Real, 0, None, closed="left")],
        "betas": [tuple, list],
        "consistency_weight": [Interval(Real, 0, None, closed="left")],
        "balance_weight": [Interval(Real, 0, None, closed="left")],
        "cluster_assignment": [StrOptions({"encoder", "kmeans"})],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        latent_dim=30,
        sigma=0.1,
        beta_n=10.0,
        beta_c=10.0,
        loss="nonsaturating",
        n_critic=1,
        gradient_penalty=10.0,
        consistency_weight=10.0,
        balance_weight=10.0,
        n_neighbors=10,
        hidden_units=None,
        image_shape=None,
        max_iter=100,
        batch_size=64,
        learning_rate=2e-4,
        betas=(0.5, 0.9),
        cluster_assignment="encoder",
        output_activation="auto",
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.n_clusters = n_clusters
        self.latent_dim = latent_dim
        self.sigma = sigma
        self.beta_n = beta_n
        self.beta_c = beta_c
        self.loss = loss
        self.n_critic = n_critic
        self.gradient_penalty = gradient_penalty
        self.consistency_weight = consistency_weight
        self.balance_weight = balance_weight
        self.n_neighbors = n_neighbors
        self.hidden_units = hidden_units
        self.image_shape = image_shape
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.betas = betas
        self.cluster_assignment = cluster_assignment
        self.output_activation = output_activation
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ---------------------------------------------------------------- model
    def _build(self, n_features, output_activation):
        hidden = self._hidden_units((256, 256) if self.image_shape is None else (1024,))
        n_latent = self.latent_dim + self.n_clusters
        self.generator_ = make_generator(
            n_latent, n_features, self.image_shape, hidden, output_activation
        )
        self.discriminator_ = HeadedNet(
            make_trunk(n_features, self.image_shape, hidden, batch_norm=False), {"score": 1}
        )
        self.encoder_ = HeadedNet(
            make_trunk(n_features, self.image_shape, hidden, batch_norm=False),
            {"z_n": self.latent_dim, "z_c": self.n_clusters},
        )

    def _make_optimizers(self):
        adam = {"lr": self.learning_rate, "betas": tuple(self.betas)}
        return SimpleNamespace(
            critic=torch.optim.Adam(self.discriminator_.parameters(), **adam),
            generator=torch.optim.Adam(
                [*self.generator_.parameters(), *self.encoder_.parameters()], **adam
            ),
            step=0,
        )

    def _prior(self, n_samples, random, device):
        """z = (z_n, z_c): z_n ~ N(0, sigma^2 I), z_c one-hot e_k, k uniform (paper, sec. 3)."""
        k = random.randint(self.n_clusters, (n_samples,), device=device)
        z_n = self.sigma * random.randn(n_samples, self.latent_dim, device=device)
        return z_n, k

    def _latent(self, z_n, z_c):
        return torch.cat([z_n, z_c], dim=1)

    def _critic(self, x):
        return self.discriminator_(x)["score"].squeeze(1)

    def _uses_neighbors(self):
        return self.consistency_weight > 0

    def _train_step(self, batch, optimizers, random):
        real = batch.rows
        device = real.device
        n_samples = real.shape[0]
        losses = {}

        z_n, k = self._prior(n_samples, random, device)
        with torch.no_grad():
            fake = self.generator_(self._latent(z_n, F.one_hot(k, self.n_clusters).float()))
        critic_real, critic_fake = self._critic(real), self._critic(fake)
        if self.loss == "wgan-gp":
            critic_loss = critic_fake.mean() - critic_real.mean()
            if self.gradient_penalty > 0:
                critic_loss = critic_loss + self.gradient_penalty * self._gradient_penalty(
                    real, fake, random
                )
        else:
            critic_loss = F.softplus(-critic_real).mean() + F.softplus(critic_fake).mean()
        optimizers.critic.zero_grad(set_to_none=True)
        critic_loss.backward()
        optimizers.critic.step()
        losses["critic"] = critic_loss.detach()

        optimizers.step += 1
        if optimizers.step % self.n_critic:
            return losses

        self.discriminator_.requires_grad_(False)
        z_n, k = self._prior(n_samples, random, device)
        fake = self.generator_(self._latent(z_n, F.one_hot(k, self.n_clusters).float()))
        critic_fake = self._critic(fake)
        if self.loss == "wgan-gp":
            adversarial = -critic_fake.mean()
        else:
            adversarial = F.softplus(-critic_fake).mean()
        codes = self.encoder_(fake)
        # Latent recovery terms of the ClusterGAN objective (paper, eq. 3).
        z_n_loss = F.mse_loss(codes["z_n"], z_n)
        z_c_loss = F.cross_entropy(codes["z_c"], k)
        generator_loss = adversarial + self.beta_n * z_n_loss + self.beta_c * z_c_loss
        if self.consistency_weight > 0 or self.balance_weight > 0:
            proba = self._cluster_proba(real)
            if self.consistency_weight > 0:
                disagreement = neighbor_disagreement(proba, self._cluster_proba(batch.neighbors))
                generator_loss = generator_loss + self.consistency_weight * disagreement
                losses["neighbor_disagreement"] = disagreement.detach()
            if self.balance_weight > 0:
                imbalance = marginal_entropy_gap(proba)
                generator_loss = generator_loss + self.balance_weight * imbalance
                losses["imbalance"] = imbalance.detach()
        optimizers.generator.zero_grad(set_to_none=True)
        generator_loss.backward()
        optimizers.generator.step()
        self.discriminator_.requires_grad_(True)
        losses.update(
            adversarial=adversarial.detach(), z_n=z_n_loss.detach(), z_c=z_c_loss.detach()
        )
        return losses

    def _gradient_penalty(self, real, fake, random):
        """WGAN-GP penalty (Gulrajani et al. 2017, eq. 3), one epsilon per row."""
        epsilon = random.rand(real.shape[0], 1, device=real.device)
        mixed = (epsilon * real + (1 - epsilon) * fake).requires_grad_(True)
        (gradient,) = torch.autograd.grad(self._critic(mixed).sum(), mixed, create_graph=True)
        return ((gradient.norm(2, dim=1) - 1) ** 2).mean()

    # ------------------------------------------------------------ inference
    def _fit(self, X):
        super()._fit(X)
        if self.cluster_assignment == "kmeans":
            # The official code's evaluation: k-means on E(x) = [z_n, softmax(z_c)].
            self.kmeans_ = KMeans(
                self.n_clusters, n_init=10, random_state=seed_from_random_state(self.random_state)
            ).fit(self._run_batched(self._encode, X))

    def _assign(self, X):
        if self.cluster_assignment == "kmeans":
            return self.kmeans_.predict(self._run_batched(self._encode, X))
        return super()._assign(X)

    @available_if(lambda self: self.cluster_assignment == "encoder")
    def predict_proba(self, X):
        """Softmax of the encoder's cluster logits, softmax(E_c(x)).

        Available with ``cluster_assignment="encoder"`` only; k-means
        assignments have no probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to assign.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_clusters)
            Cluster membership probabilities; each row sums to 1.
        """
        return super().predict_proba(X)

    def _cluster_proba(self, X):
        return self.encoder_(X)["z_c"].softmax(dim=1)

    def _encode(self, X):
        codes = self.encoder_(X)
        return self._latent(codes["z_n"], codes["z_c"].softmax(dim=1))

    def _decode(self, Z):
        return self.generator_(Z)

    def _sample_latent(self, y, random):
        z_n, _ = self._prior(y.shape[0], random, y.device)
        return self._latent(z_n, F.one_hot(y, self.n_clusters).float())

    def _score_samples(self, X):
        return -((self._decode(self._encode(X)) - X) ** 2).mean(dim=1)

    @property
    def _n_features_out(self):
        return self.latent_dim + self.n_clusters
