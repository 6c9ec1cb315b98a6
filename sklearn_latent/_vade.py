"""VaDE (Jiang, Zheng, Tan, Tang, Zhou, IJCAI 2017) as a scikit-learn clusterer."""

from numbers import Integral

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.mixture import GaussianMixture
from sklearn.utils._param_validation import Interval
from torch import nn

from ._data import as_tensor, take_rows
from ._networks import HeadedNet, hidden_widths, make_trunk
from ._params import fill_shared_entries, model_parameters
from ._recipe import anchored_means
from ._trainer import TrainingDivergedError, run_updates
from ._vae import LOGVAR_RANGE, BaseVAEClustering, gaussian_kl, gaussian_log_density

#: Rows of the pretrained embedding the mixture prior is fitted on, at most.
_MIXTURE_ROWS = 10_000


class MixturePrior(nn.Module):
    """The learned Gaussian mixture p(c) p(z | c) of VaDE's latent space.

    The weights are a softmax of free logits, so they stay a distribution
    (a known pain of ports that clamp and renormalise them).
    """

    def __init__(self, n_clusters, latent_dim):
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(n_clusters))
        self.means = nn.Parameter(torch.randn(n_clusters, latent_dim))
        self.logvars = nn.Parameter(torch.zeros(n_clusters, latent_dim))

    def extra_repr(self):
        # The printed network shows its sizes.
        n_clusters, latent_dim = self.means.shape
        return f"n_clusters={n_clusters}, latent_dim={latent_dim}"

    def log_joint(self, z):
        """log p(c) + log p(z | c) for every cluster c: shape (..., K)."""
        log_density = gaussian_log_density(z.unsqueeze(-2), self.means, self.clamped_logvars())
        return self.logits.log_softmax(dim=0) + log_density.sum(dim=-1)

    def clamped_logvars(self):
        """The components' log-variances, kept where exp() stays finite."""
        return self.logvars.clamp(*LOGVAR_RANGE)


@fill_shared_entries
class VaDEClustering(BaseVAEClustering):
    """Variational deep embedding: a VAE whose prior is a learned Gaussian mixture.

    Jiang, Zheng, Tan, Tang and Zhou, "Variational Deep Embedding: An
    Unsupervised and Generative Approach to Clustering", IJCAI 2017.  The
    generative model (paper, sec. 3.1) is

    - ``c ~ Cat(pi)``, ``K = n_clusters`` learned weights;
    - ``z | c ~ N(mu_c, diag sigma_c^2)``, learned means and variances;
    - ``x | z`` from a decoder: Bernoulli for rows in [0, 1], else Gaussian.

    The recognition model is ``q(z | x) = N(mu(x), diag sigma^2(x))`` and
    ``q(c | x)`` is taken as ``gamma_c = p(c | z)`` under the mixture (paper,
    eq. 16), so the ELBO (eq. 12) is in closed form apart from the decoder's
    expectation, estimated with one draw of ``z``.  A row's cluster is the
    argmax of ``gamma`` at ``z = mu(x)``.

    **Training recipe.**  The paper pretrains a stacked autoencoder and fits a
    :class:`~sklearn.mixture.GaussianMixture` on its embedding to initialise
    ``pi, mu_c, sigma_c``.  Here, before training, the encoder's mean and the
    decoder are pretrained as an autoencoder for ``pretrain_updates`` updates
    and the mixture is fitted on its embedding, started from the clusters of
    the manifold initialisation where there is one (``cluster_init``), so the
    prior's components and the anchor term agree.  Then, as for the other
    models, the anchor (``init_weight``), neighbour (``consistency_weight``)
    and balance (``balance_weight``) terms act on ``gamma``.  The paper's
    objective is ``VaDEClustering(cluster_init=None, consistency_weight=0,
    balance_weight=0, batch_size=100, learning_rate=2e-3)`` with
    ``max_iter`` epochs and the paper's 500-500-2000 nets (``hidden_units``).

    Parameters
    ----------
    n_clusters : int or "auto", default=8
        Number of mixture components K.
        ``"auto"`` finds the number in the data (``n_clusters_``).
    max_clusters : (shared)
    latent_dim : int, default=10
        Dimension of the latent ``z`` (paper: 10).
    likelihood : {"auto", "bernoulli", "gaussian", "multinomial"}, default="auto"
        Decoder likelihood; "auto" takes Bernoulli when the training data lie
        in [0, 1] and a Gaussian with a learned scale per feature otherwise,
        except for documents (``metric_ == "cosine"``, weights in [0, 1] such
        as TF-IDF), which get a multinomial over the terms (the decoder of
        neural topic models; pass "multinomial" for raw term counts).
    pretrain_updates : int, default=300
        Autoencoder updates before the mixture prior is fitted; 0 fits the
        mixture on the embedding of the untrained encoder.
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
        Adam learning rate, for pretraining and training (paper: 2e-3).
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
    encoder_, decoder_ : torch.nn.Module
        The fitted recognition network and decoder.
    prior_ : MixturePrior
        The fitted mixture prior (``logits``, ``means``, ``logvars``).
    weights_ : ndarray of shape (n_clusters,)
        The fitted cluster weights ``pi``.
    decoder_scale_ : torch.nn.Module or None
        Per-feature log standard deviation of the Gaussian likelihood.
    likelihood_ : str
        The likelihood used, "auto" resolved.
    history_ : list of dict
        One record per epoch: ``epoch``, ``seconds``, ``elbo``,
        ``reconstruction``, ``kl_z``, ``kl_c``, the recipe's terms and, with
        early stopping, ``validation_score``.
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
    GMVAEClustering : A mixture prior whose components depend on a second latent.
    sklearn.mixture.GaussianMixture : ``sample`` here mimics its ``sample``.

    Notes
    -----
    ``transform`` returns the latent mean ``mu(x)`` (columns ``z_mean0``, ...)
    and ``inverse_transform`` decodes such rows.  ``score_samples`` is the
    per-row ELBO in nats (one fixed draw of ``z``, so it is deterministic),
    a lower bound on ``log p(x)`` comparable between models of the same
    likelihood.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn_latent import VaDEClustering
    >>> X, _ = make_blobs(n_samples=200, centers=3, random_state=0)
    >>> model = VaDEClustering(n_clusters=3, max_iter=20, random_state=0).fit(X)
    >>> model.predict(X[:5]).shape
    (5,)
    >>> X_new, y_new = model.sample(6)
    >>> X_new.shape, y_new.shape
    ((6, 2), (6,))
    """

    _parameter_constraints = {
        **BaseVAEClustering._parameter_constraints,
        "pretrain_updates": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        max_clusters=None,
        latent_dim=10,
        likelihood="auto",
        pretrain_updates=300,
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
            {"z_mean": fitted.latent_dim, "z_logvar": fitted.latent_dim},
        )
        self._build_decoder(n_features, unit_interval, hidden)
        self.prior_ = MixturePrior(fitted.n_clusters, fitted.latent_dim)

    def _initialize(self, X, train_rows, known_clusters, random):
        """Pretrain the autoencoder, then fit the mixture prior on its embedding (sec. 3.3)."""
        self._pretrain_autoencoder(X, train_rows, random)
        rows = train_rows
        if rows.shape[0] > _MIXTURE_ROWS:
            rows = np.sort(random.numpy.choice(rows, _MIXTURE_ROWS, replace=False))
        with self._inference():
            embedding = self._recognise(as_tensor(take_rows(X, rows), self.device_))[0]
        embedding = embedding.double().cpu().numpy()
        if not np.isfinite(embedding).all():
            bad = "nan" if np.isnan(embedding).any() else "inf"
            raise TrainingDivergedError(
                f"{type(self).__name__}: the pretrained embedding became {bad} in epoch 0 (the "
                "autoencoder pretraining). Lower learning_rate, scale the features (e.g. "
                "StandardScaler or MinMaxScaler), or check the data for extreme values."
            )
        weights, means, variances = self._fit_mixture(
            embedding, None if known_clusters is None else known_clusters[rows], random
        )
        with torch.no_grad():
            self.prior_.logits.copy_(torch.as_tensor(np.log(weights)))
            self.prior_.means.copy_(torch.as_tensor(means))
            self.prior_.logvars.copy_(torch.as_tensor(np.log(variances)))
            # q(z | x) starts as narrow as the components: the untrained variance
            # head (about 1) would draw z far outside the embedding, where gamma
            # is noise, and the pretrained clusters would be lost in the first epochs.
            variance_head = self.encoder_.heads["z_logvar"]
            variance_head.weight.zero_()
            variance_head.bias.fill_(float(np.log(variances.mean())))

    def _fit_mixture(self, embedding, known_clusters, random):
        """Weights, means and variances of a diagonal Gaussian mixture on the embedding."""
        fitted = self._fitted_params
        # Components no narrower than a tenth of the embedding's spread: from a
        # barely trained encoder, near-point components give gamma no gradient.
        reg_covar = 0.01 * float(embedding.var(axis=0).mean()) + 1e-4
        try:
            mixture = GaussianMixture(
                fitted.n_clusters,
                covariance_type="diag",
                reg_covar=reg_covar,
                means_init=anchored_means(embedding, known_clusters, fitted.n_clusters),
                random_state=random.seed,
            ).fit(embedding)
        except ValueError:
            # An embedding collapsed to (nearly) one point has no clusters to find:
            # start every component there, a little apart, and let training split them.
            spread = np.sqrt(embedding.var(axis=0) + reg_covar)
            offsets = random.numpy.standard_normal((fitted.n_clusters, embedding.shape[1]))
            return (
                np.full(fitted.n_clusters, 1 / fitted.n_clusters),
                embedding.mean(axis=0) + 0.1 * spread * offsets,
                np.tile(spread**2, (fitted.n_clusters, 1)),
            )
        return mixture.weights_, mixture.means_, mixture.covariances_

    def _pretrain_autoencoder(self, X, train_rows, random):
        """Fit the encoder's mean and the decoder as an autoencoder, on the likelihood."""
        parameters = [
            *self.encoder_.parameters(),
            *self.decoder_.parameters(),
            *([] if self.decoder_scale_ is None else self.decoder_scale_.parameters()),
        ]

        def reconstruction_loss(batch):
            decoded = self.decoder_(self._recognise(batch)[0])
            return -self._reconstruction(decoded, batch).mean()

        n_updates = self._fitted_params.pretrain_updates
        run_updates(self, X, train_rows, parameters, reconstruction_loss, n_updates, random)

    def _recognise(self, X):
        """Mean and clamped log-variance of q(z | x)."""
        out = self.encoder_(X)
        return out["z_mean"], out["z_logvar"].clamp(*LOGVAR_RANGE)

    def _gamma(self, z):
        """q(c | x) as p(c | z) under the mixture prior (paper, eq. 16)."""
        return self.prior_.log_joint(z).softmax(dim=-1)

    def _elbo_terms(self, X, noise):
        """Per-row ELBO terms (paper, eq. 12) and gamma, with ``z = mu + sigma * noise``."""
        z_mean, z_logvar = self._recognise(X)
        z = z_mean + (0.5 * z_logvar).exp() * noise
        reconstruction = self._reconstruction(self.decoder_(z), X)
        log_gamma = self.prior_.log_joint(z).log_softmax(dim=-1)
        gamma = log_gamma.exp()
        # E_q[log q(z | x) - sum_c gamma_c log p(z | c)] = sum_c gamma_c KL(q(z | x) || p(z | c)).
        kl_z = (
            gamma
            * gaussian_kl(
                z_mean.unsqueeze(1),
                z_logvar.unsqueeze(1),
                self.prior_.means,
                self.prior_.clamped_logvars(),
            )
        ).sum(dim=-1)
        kl_c = (gamma * (log_gamma - self.prior_.logits.log_softmax(dim=0))).sum(dim=-1)
        return {"reconstruction": reconstruction, "kl_z": kl_z, "kl_c": kl_c, "gamma": gamma}

    def _train_step(self, batch, optimizer, random):
        fitted = self._fitted_params
        rows = batch.rows
        noise = random.randn(*rows.shape[:1], fitted.latent_dim, device=rows.device)
        with self._autocast():
            terms = self._elbo_terms(rows, noise)
            elbo = (terms["reconstruction"] - terms["kl_z"] - terms["kl_c"]).mean()
            regularizer, losses = self._recipe_loss(batch, terms["gamma"])
            loss = -elbo + regularizer
        self._update(optimizer, loss)
        losses.update(
            elbo=elbo.detach(),
            **{name: terms[name].mean().detach() for name in ("reconstruction", "kl_z", "kl_c")},
        )
        return losses

    # ------------------------------------------------------------ inference
    def _cluster_proba(self, X):
        return self._gamma(self._recognise(X)[0])

    def _feature_names_out(self):
        return [f"z_mean{i}" for i in range(self._fitted_params.latent_dim)]

    def _generate(self, clusters, random):
        # Ancestral sampling (paper, sec. 3.1): z ~ N(mu_c, sigma_c^2), then decode z.
        mean = self.prior_.means[clusters]
        std = (0.5 * self.prior_.clamped_logvars()[clusters]).exp()
        return self._decode(mean + std * random.randn(*mean.shape, device=clusters.device))

    def _cluster_weights(self):
        return self.weights_

    @property
    def weights_(self):
        """The fitted cluster weights ``pi``."""
        with torch.no_grad():
            return F.softmax(self.prior_.logits.double(), dim=0).cpu().numpy()

    def _score_samples(self, X):
        # One fixed draw of z for every row, so a row's score does not depend on its batch.
        generator = torch.Generator(device=X.device).manual_seed(0)
        noise = torch.randn(1, self._fitted_params.latent_dim, generator=generator, device=X.device)
        terms = self._elbo_terms(X, noise)
        return terms["reconstruction"] - terms["kl_z"] - terms["kl_c"]
