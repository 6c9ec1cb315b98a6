"""GMVAE (Dilokthanakul et al., 2016) as a scikit-learn clusterer.

Notation follows the paper: ``y`` is an observed row (``rows`` in the code),
``x`` the continuous latent (``latent_dim``), ``w`` the latent that sets the
mixture's means and variances (``mixture_latent_dim``) and ``z`` the cluster.
"""

import math
from numbers import Integral, Real

import torch
from sklearn.utils._param_validation import Interval

from ._networks import HeadedNet, MLPTrunk, hidden_widths, make_trunk
from ._params import fill_shared_entries, model_parameters
from ._vae import LOGVAR_RANGE, BaseVAEClustering, gaussian_kl, gaussian_log_density
from ._validation import FLOAT32_MAX


def _elbo(terms):
    """Per-row ELBO from the four terms of :meth:`GMVAEClustering._terms` (paper, eq. 5)."""
    return (
        terms["reconstruction"] - terms["conditional_prior"] - terms["w_prior"] - terms["z_prior"]
    )


@fill_shared_entries
class GMVAEClustering(BaseVAEClustering):
    """Gaussian-mixture variational autoencoder: clusters as mixture components.

    Dilokthanakul, Mediano, Garnelo, Lee, Salimbeni, Arulkumaran and Shanahan,
    "Deep Unsupervised Clustering with Gaussian Mixture Variational
    Autoencoders", 2016.  The generative model (paper, sec. 3.1) is

    - ``w ~ N(0, I)`` and ``z ~ Cat(1/K)``, ``K = n_clusters``;
    - ``x | z, w ~ N(mu_z(w), diag sigma^2_z(w))`` from K heads of one prior
      network;
    - ``y | x`` from a decoder: Bernoulli for data in [0, 1], Gaussian with a
      learned per-feature scale otherwise (``likelihood``).

    The recognition model gives Gaussian ``q(x | y)`` and ``q(w | y)``
    (reparameterised); the cluster posterior ``p(z | x, w)`` follows in closed
    form from the prior heads.  Training maximises the ELBO of sec. 3.2 with
    its four terms -- reconstruction, conditional prior (weighted by
    ``p(z | x, w)``), the KL of ``w`` and the KL of ``z`` to its uniform prior --
    estimated with ``n_mc_samples`` draws; the z-prior term is held at least
    ``free_bits`` nats (sec. 4.1, the remedy for all rows falling in one
    cluster).

    **Training recipe.**  As for :class:`ClusterGANClustering`: a manifold
    initialisation anchors the clusters (``cluster_init``, ``init_weight``),
    and two terms on the cluster posterior of real rows keep neighbours
    together (``consistency_weight``) and clusters used in the shares the
    start gives them (``balance_weight``).  The paper's
    objective is ``GMVAEClustering(cluster_init=None, consistency_weight=0,
    balance_weight=0, batch_size=50, learning_rate=1e-4, max_iter=100)``.

    Parameters
    ----------
    n_clusters : int or "auto", default=8
        Number of mixture components K.
        ``"auto"`` finds the number in the data (``n_clusters_``).
    max_clusters : (shared)
    latent_dim : int, default=20
        Dimension of the latent ``x`` (paper, MNIST: 200).
    mixture_latent_dim : int, default=10
        Dimension of ``w``, the latent from which the prior network computes
        each component's mean and variance of ``x`` (paper, MNIST: 150).
    n_mc_samples : int, default=3
        Monte-Carlo draws M of ``(x, w)`` per row (paper: 1 and 10); 3 measured
        better than 1 on digits (``benchmarks/NOTES.md``).
    free_bits : float, default=0.5
        Floor lambda, in nats, of the z-prior KL term (official code's
        default); 0 turns it off.
    likelihood : {"auto", "bernoulli", "gaussian", "multinomial"}, default="auto"
        Decoder distribution; "auto" takes Bernoulli when the training data lie
        in [0, 1], Gaussian otherwise, except for documents (``metric_ ==
        "cosine"``, weights in [0, 1] such as TF-IDF), which get a multinomial
        over the terms (the decoder of neural topic models; pass
        "multinomial" for raw term counts).
    consistency_weight : (shared)
    balance_weight : (shared)
    cluster_init : (shared)
    init_weight : (shared)
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
        Adam learning rate (paper: 1e-4).
    betas : tuple of float, default=(0.9, 0.999)
        Adam's ``(beta1, beta2)`` (the papers': torch's and Keras's defaults).
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
    encoder_ : torch.nn.Module
        Recognition net for ``q(x | y)`` and ``q(w | y)``.
    prior_ : torch.nn.Module
        Net mapping ``w`` to the K means and log-variances of ``p(x | z, w)``.
    decoder_ : torch.nn.Module
        Net mapping ``x`` to the parameters of ``p(y | x)``.
    decoder_scale_ : FeatureLogScale or None
        Learned log standard deviations of a Gaussian decoder.
    likelihood_ : str
        The decoder distribution used, "bernoulli" or "gaussian".
    history_ : list of dict
        One record per epoch: ``epoch``, ``seconds``, ``loss`` (minus the
        training objective), the mean ELBO terms ``reconstruction``,
        ``conditional_prior``, ``w_prior``, ``z_prior``, ``elbo``, the recipe
        terms, and ``validation_score`` (held-out ELBO) with early stopping.
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
    ClusterGANClustering : Clustering in the latent space of a GAN.
    sklearn.mixture.GaussianMixture : The shallow model this one deepens.

    Notes
    -----
    ``predict_proba`` is ``p(z | x, w)`` averaged over ``n_mc_samples`` draws
    from ``q(x | y) q(w | y)``; at inference the draws are the same for every
    row, so a row's output does not depend on which other rows are passed with
    it.  ``transform`` is the mean of ``q(x | y)`` (columns ``x_mean0``, ...;
    ``predict_proba`` gives the cluster probabilities); ``inverse_transform`` the
    decoder's mean for given ``x``.  ``score_samples`` is each row's ELBO in
    nats (a lower bound on its log-likelihood, without free bits), and
    ``score`` its mean, so ``GridSearchCV`` with no scoring selects by ELBO.
    Compare ELBOs between models with the same ``likelihood``.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn_latent import GMVAEClustering
    >>> X, _ = make_blobs(n_samples=200, centers=3, random_state=0)
    >>> model = GMVAEClustering(n_clusters=3, max_iter=20, random_state=0).fit(X)
    >>> model.predict_proba(X[:2]).shape
    (2, 3)
    """

    _parameter_constraints = {
        **BaseVAEClustering._parameter_constraints,
        "mixture_latent_dim": [Interval(Integral, 1, None, closed="left")],
        "n_mc_samples": [Interval(Integral, 1, None, closed="left")],
        "free_bits": [Interval(Real, 0, FLOAT32_MAX, closed="both")],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        max_clusters=None,
        latent_dim=20,
        mixture_latent_dim=10,
        n_mc_samples=3,
        free_bits=0.5,
        likelihood="auto",
        consistency_weight="auto",
        balance_weight=20.0,
        cluster_init="manifold",
        init_weight=10.0,
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
        betas=(0.9, 0.999),
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
        self.encoder_ = HeadedNet(
            make_trunk(n_features, fitted.image_shape, hidden, batch_norm=False),
            {
                "x_mean": fitted.latent_dim,
                "x_logvar": fitted.latent_dim,
                "w_mean": fitted.mixture_latent_dim,
                "w_logvar": fitted.mixture_latent_dim,
            },
        )
        # One shared net with K heads of (mean, log-variance) for p(x | z, w).
        self.prior_ = HeadedNet(
            MLPTrunk(fitted.mixture_latent_dim, (hidden[-1],), batch_norm=False),
            {"moments": 2 * fitted.n_clusters * fitted.latent_dim},
        )
        # Spread the K component means apart at the start: with the default
        # near-zero init all components coincide, p(z | x, w) is uniform and
        # the symmetric objective gives no gradient to tell them apart.
        with torch.no_grad():
            bias = self.prior_.heads["moments"].bias.view(fitted.n_clusters, 2, fitted.latent_dim)
            bias[:, 0].normal_()
        self._build_decoder(n_features, unit_interval, hidden)

    def _recognise(self, rows):
        """Means and clamped log-variances of q(x | y) and q(w | y)."""
        out = self.encoder_(rows)
        return (
            out["x_mean"],
            out["x_logvar"].clamp(*LOGVAR_RANGE),
            out["w_mean"],
            out["w_logvar"].clamp(*LOGVAR_RANGE),
        )

    def _mixture(self, w):
        """Means and log-variances of p(x | z=k, w), each of shape (..., K, latent_dim)."""
        fitted = self._fitted_params
        moments = self.prior_(w)["moments"].view(
            *w.shape[:-1], fitted.n_clusters, 2, fitted.latent_dim
        )
        return moments[..., 0, :], moments[..., 1, :].clamp(*LOGVAR_RANGE)

    def _draw(self, mean, logvar, noise):
        """Reparameterised draws: ``noise`` has shape (M, B, d) or (M, 1, d)."""
        return mean + (0.5 * logvar).exp() * noise

    def _posterior(self, x, w):
        """p(z | x, w) with the mixture moments, for draws of shape (M, B, .)."""
        mixture_mean, mixture_logvar = self._mixture(w)  # (M, B, K, L)
        # Under the uniform p(z), p(z | x, w) is proportional to p(x | z, w) (paper, eq. 8).
        log_density = gaussian_log_density(x.unsqueeze(2), mixture_mean, mixture_logvar)
        return log_density.sum(dim=-1).softmax(dim=-1), mixture_mean, mixture_logvar

    def _cluster_posterior(self, rows, x_noise, w_noise):
        """p(z | y): p(z | x, w) averaged over the draws of (x, w) from q."""
        x_mean, x_logvar, w_mean, w_logvar = self._recognise(rows)
        x, w = self._draw(x_mean, x_logvar, x_noise), self._draw(w_mean, w_logvar, w_noise)
        return self._posterior(x, w)[0].mean(dim=0)

    def _terms(self, rows, x_noise, w_noise):
        """Per-row ELBO terms (paper, eq. 5) and the cluster posterior p(z | y)."""
        x_mean, x_logvar, w_mean, w_logvar = self._recognise(rows)
        x = self._draw(x_mean, x_logvar, x_noise)  # (M, B, L)
        w = self._draw(w_mean, w_logvar, w_noise)  # (M, B, W)
        n_draws, n_rows = x.shape[0], rows.shape[0]

        decoded = self.decoder_(x.reshape(n_draws * n_rows, -1)).view(n_draws, n_rows, -1)
        reconstruction = self._reconstruction(decoded, rows).mean(dim=0)

        posterior, mixture_mean, mixture_logvar = self._posterior(x, w)  # (M, B, K)
        # E_q[ sum_k p(z=k | x, w) KL(q(x | y) || p(x | z=k, w)) ]: the conditional prior term.
        kl_x = gaussian_kl(x_mean.unsqueeze(1), x_logvar.unsqueeze(1), mixture_mean, mixture_logvar)
        conditional_prior = (posterior * kl_x).sum(dim=-1).mean(dim=0)
        w_prior = gaussian_kl(w_mean, w_logvar, torch.zeros_like(w_mean), torch.zeros_like(w_mean))
        log_ratio = posterior.clamp_min(1e-12).log() + math.log(self._fitted_params.n_clusters)
        z_prior = (posterior * log_ratio).sum(dim=-1).mean(dim=0)
        return {
            "reconstruction": reconstruction,
            "conditional_prior": conditional_prior,
            "w_prior": w_prior,
            "z_prior": z_prior,
            "posterior": posterior.mean(dim=0),
        }

    def _training_noise(self, n_rows, random, device):
        fitted = self._fitted_params
        return (
            random.randn(fitted.n_mc_samples, n_rows, fitted.latent_dim, device=device),
            random.randn(fitted.n_mc_samples, n_rows, fitted.mixture_latent_dim, device=device),
        )

    def _train_step(self, batch, optimizer, random):
        fitted = self._fitted_params
        rows = batch.rows
        with self._autocast():
            terms = self._terms(rows, *self._training_noise(rows.shape[0], random, rows.device))
            elbo = _elbo(terms).mean()
            # Free bits (official code, version2): in the objective the z-prior KL
            # counts as at least lambda nats, on the batch mean.
            z_prior = terms["z_prior"].mean()
            # In float32 even under bfloat16 autocast: free_bits may be up to float32's maximum.
            loss = -(elbo + z_prior - z_prior.float().clamp_min(fitted.free_bits))
            # The recipe's terms on p(z | y) for real rows (class docstring).
            regularizer, losses = self._recipe_loss(
                batch,
                terms["posterior"],
                lambda: self._cluster_posterior(
                    batch.neighbors,
                    *self._training_noise(batch.neighbors.shape[0], random, rows.device),
                ),
            )
            loss = loss + regularizer
        self._update(optimizer, loss)
        losses.update(
            loss=loss.detach(),
            elbo=elbo.detach(),
            **{
                name: terms[name].mean().detach()
                for name in ("reconstruction", "conditional_prior", "w_prior", "z_prior")
            },
        )
        return losses

    # ------------------------------------------------------------ inference
    def _inference_noise(self, device):
        """The same (x, w) draws for every row at inference, from a fixed seed.

        A row's output then does not depend on the other rows passed with it.
        """
        fitted = self._fitted_params
        generator = torch.Generator(device=device).manual_seed(0)
        x_noise = torch.randn(
            fitted.n_mc_samples, 1, fitted.latent_dim, generator=generator, device=device
        )
        w_noise = torch.randn(
            fitted.n_mc_samples, 1, fitted.mixture_latent_dim, generator=generator, device=device
        )
        return x_noise, w_noise

    def _cluster_proba(self, X):
        return self._cluster_posterior(X, *self._inference_noise(X.device))

    def _feature_names_out(self):
        return [f"x_mean{i}" for i in range(self._fitted_params.latent_dim)]

    def _generate(self, clusters, random):
        # Ancestral sampling (paper, sec. 3.1): w ~ N(0, I), x ~ p(x | z, w), then decode x.
        device = clusters.device
        w = random.randn(clusters.shape[0], self._fitted_params.mixture_latent_dim, device=device)
        mixture_mean, mixture_logvar = self._mixture(w)
        picked = torch.arange(clusters.shape[0], device=device)
        mean, logvar = mixture_mean[picked, clusters], mixture_logvar[picked, clusters]
        return self._decode(self._draw(mean, logvar, random.randn(*mean.shape, device=device)))

    def _score_samples(self, X):
        return _elbo(self._terms(X, *self._inference_noise(X.device)))
