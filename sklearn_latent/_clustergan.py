"""ClusterGAN (Mukherjee, Asnani, Lin, Kannan, AAAI 2019) as a scikit-learn clusterer."""

from numbers import Real

import torch
import torch.nn.functional as F
from sklearn.cluster import KMeans
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if

from ._gan import BaseGANClustering
from ._networks import HeadedNet, hidden_widths, make_generator, make_trunk
from ._params import fill_shared_entries, model_parameters
from ._runtime import seed_from_random_state
from ._validation import FLOAT32_MAX


@fill_shared_entries
class ClusterGANClustering(BaseGANClustering):
    """ClusterGAN: clustering in the latent space of a generative adversarial net.

    Mukherjee, Asnani, Lin and Kannan, "ClusterGAN: Latent Space Clustering in
    Generative Adversarial Networks", AAAI 2019.  A generator G maps a latent
    code ``z = (z_n, z_c)`` -- Gaussian noise ``z_n ~ N(0, sigma^2 I)`` and a
    one-hot cluster code ``z_c = e_k`` with ``k`` uniform over ``n_clusters`` --
    to a data row; a discriminator D tells real rows from generated ones; an
    encoder E inverts G, returning an estimate of ``z_n`` and logits for
    ``z_c``.  G and E are trained jointly on the adversarial loss plus
    ``beta_n * ||z_n - E_n(G(z))||^2 + beta_c * CE(k, E_c(G(z)))`` (paper,
    eq. 3).  A row's cluster is the argmax of ``softmax(E_c(x))``.

    **Training recipe.**  The paper trains with WGAN-GP, five critic steps per
    generator step, Adam(1e-4) and 500k generator steps: far from minutes on a
    CPU.  The defaults here are chosen from measurements (see
    ``benchmarks/NOTES.md``): the non-saturating GAN loss with one critic
    step, a larger learning rate, larger batches, a budget of about 500
    updates, and three terms on E's cluster posterior for *real* rows, which
    the paper's E never sees in training:

    - ``init_weight``: rows fall in the cluster a manifold initialisation
      gave them (``cluster_init="manifold"``: a Gaussian mixture on a UMAP-style
      layout of the neighbour graph, the N2D recipe, McConville et al. 2020);
    - ``consistency_weight``: a row and one of its ``n_neighbors`` nearest
      training rows should fall in the same cluster (``-log sum_k p_k q_k``,
      the neighbour term of SCAN, Van Gansbeke et al. 2020) -- the graph
      smoothness of manifold regularisation;
    - ``balance_weight``: the mean posterior over a batch should hold the
      clusters in the shares the manifold start gives them (the uniform
      prior of ``z_c`` without that start).

    The paper's recipe is ``ClusterGANClustering(sigma=0.1, loss="wgan-gp",
    n_critic=5, learning_rate=1e-4, batch_size=64, cluster_init=None,
    consistency_weight=0, balance_weight=0)`` with a ``max_iter`` as large as
    you can afford (the paper ran 500k generator steps).

    Parameters
    ----------
    n_clusters : int or "auto", default=8
        Number of clusters K, the size of the one-hot code ``z_c``.
        ``"auto"`` finds the number in the data (``n_clusters_``).
    max_clusters : (shared)
    latent_dim : int, default=30
        Dimension of the noise part ``z_n`` (paper: 30 for MNIST, 5 for
        Pendigits).
    sigma : float, default=0.5
        Standard deviation of ``z_n``.  The paper keeps it small (0.1, sec. 3)
        so that the clusters of the latent space stay apart; with the recipe's
        anchor term holding the clusters, 0.5 clustered as well (digits,
        MNIST-5k, Letter) and G's rows within a cluster were as varied as the
        real ones, where at 0.1 they were near-copies (sample diversity 0.98
        against 0.09 on digits, ``benchmarks/NOTES.md``).
    beta_n : float, default=10.0
        Weight of the ``z_n`` recovery term (paper: 10; 0 for Fashion-MNIST).
    beta_c : float, default=10.0
        Weight of the ``z_c`` recovery (cross-entropy) term (paper: 10).
    loss : (shared)
    n_critic : int, default=1
        Discriminator steps per generator/encoder step (paper: 5).
    gradient_penalty : (shared)
    consistency_weight : (shared)
    balance_weight : (shared)
    cluster_init : (shared)
    init_weight : (shared)
    manifold_weight : (shared)
    orthonormality_weight : (shared)
    label_weight : (shared)
    n_neighbors : (shared)
    metric : (shared)
    hidden_units : (shared)
    image_shape : (shared)
    max_iter : (shared)
    n_iter_no_change : (shared)
    validation_fraction : (shared)
    tol : (shared)
    batch_size : (shared)
    learning_rate : float, default=1e-3
        Adam learning rate of D, and of G and E unless
        ``generator_learning_rate`` is set (paper: 1e-4).
    generator_learning_rate : float, default=None
        Adam learning rate of G and E; None uses ``learning_rate``.
    betas : tuple of float, default=(0.5, 0.9)
        Adam's ``(beta1, beta2)`` for all three networks (paper: (0.5, 0.9)).
    cluster_assignment : {"encoder", "kmeans"}, default="encoder"
        How rows get clusters: the argmax of ``softmax(E_c(x))``, or k-means
        on the embedding ``E(x) = [softmax(z_c), z_n]`` as in the official
        code's evaluation (then there is no ``predict_proba``).
    output_activation : (shared)
    warm_start : (shared)
    precision : (shared)
    device : (shared)
    random_state : (shared)
    verbose : (shared)

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training row.
    metric_ : (shared)
    n_clusters_ : (shared)
    n_clusters_search_ : (shared)
    generator_, discriminator_, encoder_ : torch.nn.Module
        The fitted networks G, D and E.
    kmeans_ : KMeans
        The k-means model on the embedding (``cluster_assignment="kmeans"``).
    history_ : list of dict
        One record per epoch: ``epoch``, ``seconds``, the mean of each loss
        (``critic``, ``adversarial``, ``z_n``, ``z_c``,
        ``neighbor_disagreement``, ``imbalance``) and, with early stopping,
        ``validation_score``.
    n_iter_ : int
        Number of epochs run.
    device_ : torch.device
        Device the networks are on.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during ``fit``, when they are all strings.

    See Also
    --------
    sklearn.cluster.KMeans : The classic clusterer with the same interface.
    sklearn.mixture.GaussianMixture : ``sample`` here mimics its ``sample``.

    Notes
    -----
    ``transform`` returns ``[softmax(E_c(x)), E_n(x)]`` (``n_clusters +
    latent_dim`` columns, named ``proba0``, ... then ``z_n0``, ...);
    ``inverse_transform`` feeds such rows to G.
    ``score_samples`` is minus the mean squared error of rebuilding a row
    through E then G, so ``score`` (its mean) is higher for a model that
    explains the data better and works as :class:`GridSearchCV`'s default
    criterion without labels.  Like k-means' inertia it favours larger
    latent spaces: compare it between models with the same ``latent_dim``
    and ``n_clusters``.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn_latent import ClusterGANClustering
    >>> X, _ = make_blobs(n_samples=200, centers=3, random_state=0)
    >>> model = ClusterGANClustering(n_clusters=3, max_iter=20, random_state=0).fit(X)
    >>> model.predict(X[:5]).shape
    (5,)
    >>> X_new, y_new = model.sample(6)
    >>> X_new.shape, y_new.shape
    ((6, 2), (6,))
    """

    _parameter_constraints = {
        **BaseGANClustering._parameter_constraints,
        "sigma": [Interval(Real, 0, FLOAT32_MAX, closed="right")],
        "beta_n": [Interval(Real, 0, FLOAT32_MAX, closed="both")],
        "beta_c": [Interval(Real, 0, FLOAT32_MAX, closed="both")],
        "cluster_assignment": [StrOptions({"encoder", "kmeans"})],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        max_clusters=None,
        latent_dim=30,
        sigma=0.5,
        beta_n=10.0,
        beta_c=10.0,
        loss="nonsaturating",
        n_critic=1,
        gradient_penalty=10.0,
        consistency_weight="auto",
        balance_weight=20.0,
        cluster_init="manifold",
        init_weight=10.0,
        manifold_weight=0.0,
        orthonormality_weight=0.0,
        label_weight=0.0,
        n_neighbors=10,
        metric="auto",
        hidden_units=None,
        image_shape=None,
        max_iter=None,
        n_iter_no_change=None,
        validation_fraction=0.1,
        tol=1e-4,
        batch_size=256,
        learning_rate=1e-3,
        generator_learning_rate=None,
        betas=(0.5, 0.9),
        cluster_assignment="encoder",
        output_activation="auto",
        warm_start=False,
        precision="float32",
        device="auto",
        random_state=None,
        verbose=0,
    ):
        super().__init__(**model_parameters(locals()))

    # ---------------------------------------------------------------- model
    def _build(self, n_features, unit_interval):
        fitted = self._fitted_params
        hidden = hidden_widths(self._fitted_params, n_features)
        output_activation = self._generator_activation(unit_interval)
        n_latent = fitted.latent_dim + fitted.n_clusters
        self.generator_ = make_generator(
            n_latent, n_features, fitted.image_shape, hidden, output_activation
        )
        self.discriminator_ = HeadedNet(
            make_trunk(n_features, fitted.image_shape, hidden, batch_norm=False), {"score": 1}
        )
        self.encoder_ = HeadedNet(
            make_trunk(n_features, fitted.image_shape, hidden, batch_norm=False),
            {"z_n": fitted.latent_dim, "z_c": fitted.n_clusters},
        )

    def _generator_parameters(self):
        return [*self.generator_.parameters(), *self.encoder_.parameters()]

    def _draw_latent(self, clusters, random):
        """z = [z_n, z_c]: z_n ~ N(0, sigma^2 I), z_c one-hot (paper, sec. 3); and z_n."""
        fitted = self._fitted_params
        z_n = fitted.sigma * random.randn(
            clusters.shape[0], fitted.latent_dim, device=clusters.device
        )
        return self._latent(z_n, F.one_hot(clusters, fitted.n_clusters).float()), z_n

    def _latent(self, z_n, z_c):
        return torch.cat([z_n, z_c], dim=1)

    def _latent_scale(self, device):
        # Tangent directions run along z_n only, in units of its prior std sigma.
        fitted = self._fitted_params
        scale = torch.zeros(fitted.latent_dim + fitted.n_clusters, device=device)
        scale[: fitted.latent_dim] = fitted.sigma
        return scale

    def _train_step(self, batch, optimizers, random):
        fitted = self._fitted_params
        real = batch.rows
        n_samples, device = real.shape[0], real.device
        losses = {}

        k = random.randint(fitted.n_clusters, (n_samples,), device=device)
        latent, _ = self._draw_latent(k, random)
        with self._autocast():
            with torch.no_grad():
                fake = self.generator_(latent)
            critic = self._critic_loss(real, fake, self._critic(real), self._critic(fake), random)
        self._update(optimizers.critic, critic)
        losses["critic"] = critic.detach()
        if not self._generator_turn(optimizers):
            return losses

        k = random.randint(fitted.n_clusters, (n_samples,), device=device)
        latent, z_n = self._draw_latent(k, random)
        with self._frozen_critic():
            with self._autocast():
                fake = self.generator_(latent)
                adversarial = self._generator_adversarial_loss(self._critic(fake))
                codes = self.encoder_(fake)
                # Latent recovery terms of the ClusterGAN objective (paper, eq. 3).
                z_n_loss = F.mse_loss(codes["z_n"], z_n)
                z_c_loss = F.cross_entropy(codes["z_c"], k)
                # The recipe's terms on E's posterior for real rows (class docstring).
                regularizer, record = self._recipe_loss(batch, self._cluster_proba(real))
                # E is the posterior's network and trains with G: both Localized GAN terms here.
                smoothness, smoothness_record = self._tangent_smoothness(latent, random)
                orthonormality, orthonormality_record = self._tangent_orthonormality(latent, random)
                total = (
                    adversarial
                    + fitted.beta_n * z_n_loss
                    + fitted.beta_c * z_c_loss
                    + regularizer
                    + smoothness
                    + orthonormality
                )
            self._update(optimizers.generator, total)
        losses.update(
            record,
            **smoothness_record,
            **orthonormality_record,
            adversarial=adversarial.detach(),
            z_n=z_n_loss.detach(),
            z_c=z_c_loss.detach(),
        )
        return losses

    # ------------------------------------------------------------ inference
    def _cluster_posterior_weights(self):
        fitted = self._fitted_params
        return {**super()._cluster_posterior_weights(), "beta_c": fitted.beta_c}

    def _fit_assignment(self, X):
        fitted = self._fitted_params
        if fitted.cluster_assignment == "kmeans":
            # The official code's evaluation: k-means on E(x) = [softmax(z_c), z_n].
            self.kmeans_ = KMeans(
                fitted.n_clusters,
                n_init=10,
                random_state=seed_from_random_state(fitted.random_state),
            ).fit(self._infer("fit", self._encode, X))

    def _assign(self, X, method="predict"):
        if self._fitted_params.cluster_assignment == "kmeans":
            return self.kmeans_.predict(self._infer(method, self._encode, X))
        return super()._assign(X, method)

    # Fitted, the model has probabilities if it was fitted with the encoder's.
    @available_if(
        lambda self: getattr(self, "_fitted_params", self).cluster_assignment == "encoder"
    )
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
        return torch.cat([codes["z_c"].softmax(dim=1), codes["z_n"]], dim=1)

    def _feature_names_out(self):
        fitted = self._fitted_params
        return [f"proba{k}" for k in range(fitted.n_clusters)] + [
            f"z_n{i}" for i in range(fitted.latent_dim)
        ]

    #: The cross-entropy of recovering the cluster code, the paper's clustering term.
    _progress_loss = "z_c"

    def _decode(self, Z):
        fitted = self._fitted_params
        z_c, z_n = Z.split([fitted.n_clusters, fitted.latent_dim], dim=1)
        return self.generator_(self._latent(z_n, z_c))

    def _score_samples(self, X):
        return -((self._decode(self._encode(X)) - X) ** 2).mean(dim=1)
