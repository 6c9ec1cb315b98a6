"""DEC (Xie, Girshick, Farhadi, ICML 2016) as a scikit-learn clusterer, with IDEC's term."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.utils._param_validation import Interval
from torch import nn

from ._base import BaseLatentClustering
from ._networks import HeadedNet, hidden_widths, make_generator, make_trunk
from ._params import fill_shared_entries, model_parameters
from ._recipe import anchored_means
from ._runtime import drawing_from
from ._trainer import TrainingDivergedError, run_updates
from ._validation import FLOAT32_MAX

#: Rows of the pretrained embedding the initial centres are found on, at most.
_CENTRE_ROWS = 10_000
#: k-means restarts for the initial centres (the paper's code: 20).
_KMEANS_RESTARTS = 10


class StudentTAssignment(nn.Module):
    """DEC's clustering layer: centres ``mu_j`` and the soft assignment ``q_ij``.

    ``q_ij`` is proportional to ``(1 + ||z_i - mu_j||^2 / alpha) ** (-(alpha + 1) / 2)``,
    Student's t kernel with ``alpha`` degrees of freedom (paper, eq. 1).  The
    cluster frequencies of the last target refresh, ``f_j = sum_i q_ij``, are
    kept as a buffer: ``score_samples`` builds a row's target from them; so
    is ``scale``, the factor the embedding was multiplied by after pretraining,
    which the decoder divides out.
    """

    def __init__(self, n_clusters, latent_dim, alpha):
        super().__init__()
        self.alpha = alpha
        self.centres = nn.Parameter(torch.randn(n_clusters, latent_dim))
        self.register_buffer("frequencies", torch.full((n_clusters,), 1.0 / n_clusters))
        self.register_buffer("scale", torch.ones(()))

    def extra_repr(self):
        n_clusters, latent_dim = self.centres.shape
        return f"n_clusters={n_clusters}, latent_dim={latent_dim}, alpha={self.alpha}"

    def forward(self, z):
        squared_distance = (z.unsqueeze(1) - self.centres).pow(2).sum(dim=-1)
        # The kernel normalised over the clusters, as a softmax of its logarithm:
        # no kernel value underflows to 0 for rows far from every centre.
        log_kernel = -(self.alpha + 1) / 2 * torch.log1p(squared_distance / self.alpha)
        return log_kernel.softmax(dim=1)


def target_distribution(q, frequencies):
    """DEC's auxiliary target (paper, eq. 3): ``q_ij^2 / f_j``, normalised over the clusters."""
    weighted = q.pow(2) / frequencies.clamp_min(1e-12)
    return weighted / weighted.sum(dim=1, keepdim=True)


@fill_shared_entries
class DECClustering(BaseLatentClustering):
    """Deep embedded clustering: an autoencoder's embedding refined towards confident clusters.

    Xie, Girshick and Farhadi, "Unsupervised Deep Embedding for Clustering
    Analysis", ICML 2016.  An encoder maps a row to an embedding ``z``
    (``latent_dim`` values); cluster ``j`` has a centre ``mu_j`` there, and a
    row's soft assignment ``q_ij`` is Student's t kernel between ``z_i`` and
    ``mu_j``, normalised over the clusters (paper, eq. 1).  Training
    minimises ``KL(P || Q)`` to a target that sharpens the assignments and
    divides them by each cluster's frequency ``f_j = sum_i q_ij``,
    ``p_ij = (q_ij^2 / f_j) / sum_k (q_ik^2 / f_k)`` (eq. 3), refreshed once
    per epoch over the training rows.  A row's cluster is the argmax of
    ``q``.  IDEC (Guo, Gao, Liu and Yin, IJCAI 2017) keeps the decoder and
    adds its reconstruction error, so the embedding keeps the data's local
    structure: ``reconstruction_weight > 0``.

    **Training recipe.**  The paper pretrains a stacked denoising autoencoder
    and starts the centres at k-means of its embedding.  Here the encoder
    and a decoder are pretrained as an autoencoder (mean squared error) for
    ``pretrain_updates`` updates, and the centres start at the mean embedding
    of each cluster of the manifold initialisation where there is one
    (``cluster_init``), else at k-means (10 restarts).  Then, as for the other
    models, the anchor (``init_weight``), neighbour (``consistency_weight``)
    and balance (``balance_weight``) terms act on ``q``.  The paper's
    objective is ``DECClustering(alpha=1, cluster_init=None,
    consistency_weight=0, balance_weight=0, init_weight=0)`` with its
    500-500-2000 encoder
    (``hidden_units=(500, 500, 2000)``); IDEC's adds
    ``reconstruction_weight=10`` (its loss is the reconstruction plus 0.1
    times the KL).

    DEC has no generative model: it has neither ``sample`` nor
    ``inverse_transform``.

    Parameters
    ----------
    n_clusters : int or "auto", default=8
        Number of clusters K, the number of centres.
        ``"auto"`` finds the number in the data (``n_clusters_``).
    max_clusters : (shared)
    latent_dim : int, default=10
        Dimension of the embedding ``z`` (paper: 10).
    alpha : float, default=10.0
        Degrees of freedom of the Student's t kernel (paper: 1).  The paper's
        Cauchy kernel falls off as ``1 / d^2``, so with many centres every
        row keeps a large share of its ``q`` on the far ones: on UCI Letter
        (26 clusters) the mean largest ``q`` was 0.16 at the start, and
        training emptied up to 14 clusters (ACC 0.19-0.34 over seeds 0-2).
        With 10 degrees of freedom (lighter tails, nearer a Gaussian) Letter
        reached 0.34-0.37 and digits 0.959 on every seed, for 0.004 less on
        MNIST-5k (``benchmarks/NOTES.md``, session 22).
    pretrain_updates : int, default=300
        Updates of the autoencoder before the centres are placed; 0 skips
        pretraining.
    reconstruction_weight : float, default=0.0
        Weight of IDEC's reconstruction term, the decoder's mean squared error
        per row, beside the KL; 0 is DEC, which drops the decoder after
        pretraining.
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
        Adam learning rate, for pretraining and training (the paper: SGD at
        0.01; IDEC: Adam at 1e-3).
    betas : tuple of float, default=(0.9, 0.999)
        Adam's ``(beta1, beta2)`` (torch's and Keras's defaults).
    warm_start : (shared)
    precision : (shared)
    device : (shared)
    random_state : (shared)
    verbose : (shared)

    Attributes
    ----------
    encoder_ : torch.nn.Module
        The encoder, rows to ``z``.
    decoder_ : torch.nn.Module or None
        The autoencoder's decoder with ``reconstruction_weight > 0`` (IDEC);
        None for DEC, which drops it after pretraining.
    assignment_ : StudentTAssignment
        The centres ``mu_j`` (``assignment_.centres``) and the kernel.
    cluster_centers_ : ndarray of shape (n_clusters, latent_dim)
        The centres in the embedding, as ``KMeans`` names them.
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training row.
    n_clusters_ : (shared)
    n_clusters_search_ : (shared)
    metric_ : (shared)
    history_ : list of dict
        Per-epoch losses: ``kl`` (the paper's objective), the recipe's terms,
        ``reconstruction`` with IDEC's term, and ``seconds``.
    n_iter_ : int
        Epochs trained.
    device_ : torch.device
        Device the model was trained on.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during ``fit``, when they are all strings.

    See Also
    --------
    VaDEClustering : A generative model whose prior is a mixture in the embedding.
    sklearn.cluster.KMeans : DEC's start, on the pretrained embedding.

    Notes
    -----
    ``transform`` returns the embedding ``z`` (columns ``z0``, ...).
    ``score_samples`` is minus a row's term of the objective, ``-KL(p_i ||
    q_i)`` with the cluster frequencies of the last epoch (less IDEC's
    weighted reconstruction error): higher for rows the model assigns
    confidently.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn_latent import DECClustering
    >>> X, _ = make_blobs(n_samples=200, centers=3, random_state=0)
    >>> model = DECClustering(n_clusters=3, max_iter=20, random_state=0).fit(X)
    >>> model.predict(X[:5]).shape
    (5,)
    >>> model.transform(X[:5]).shape
    (5, 10)
    """

    _parameter_constraints = {
        **BaseLatentClustering._parameter_constraints,
        "alpha": [Interval(Real, 0, FLOAT32_MAX, closed="right")],
        "pretrain_updates": [Interval(Integral, 0, None, closed="left")],
        "reconstruction_weight": [Interval(Real, 0, FLOAT32_MAX, closed="both")],
    }

    #: The paper's objective, shown by the ``verbose`` bar.
    _progress_loss = "kl"

    def __init__(
        self,
        n_clusters=8,
        *,
        max_clusters=None,
        latent_dim=10,
        alpha=10.0,
        pretrain_updates=300,
        reconstruction_weight=0.0,
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
            {"z": fitted.latent_dim},
        )
        # IDEC keeps a decoder; DEC's is a pretraining tool, built and dropped there.
        self.decoder_ = self._make_decoder(n_features) if fitted.reconstruction_weight > 0 else None
        self.assignment_ = StudentTAssignment(fitted.n_clusters, fitted.latent_dim, fitted.alpha)

    def _initialize(self, X, train_rows, known_clusters, random):
        """Pretrain the autoencoder, then place the centres in its embedding (paper, sec. 3.2)."""
        fitted = self._fitted_params
        if fitted.pretrain_updates > 0:
            decoder = self.decoder_
            if decoder is None:
                with drawing_from(random.initialization):
                    decoder = self._make_decoder(X.shape[1]).to(self.device_)
                decoder.train()
            run_updates(
                self,
                X,
                train_rows,
                [*self.encoder_.parameters(), *decoder.parameters()],
                lambda rows: self._squared_error(rows, decoder=decoder).mean(),
                fitted.pretrain_updates,
                random,
            )
        rows = train_rows
        if rows.shape[0] > _CENTRE_ROWS:
            rows = np.sort(random.numpy.choice(rows, _CENTRE_ROWS, replace=False))
        embedding = self._run_batched(self._encode, X, rows).astype(np.float64)
        if not np.isfinite(embedding).all():
            bad = "nan" if np.isnan(embedding).any() else "inf"
            raise TrainingDivergedError(
                f"{type(self).__name__}: the autoencoder's embedding became {bad} in epoch 0 "
                "(pretraining, before the centres are placed). Lower learning_rate or "
                "pretrain_updates, or scale the features (e.g. StandardScaler)."
            )
        spread = float(embedding.std(axis=0).mean())
        # The kernel has a fixed width of 1, so the embedding's scale decides how
        # sure q can be, and an autoencoder's is arbitrary: on the 8x8 digits it came
        # out at 0.13 a coordinate, where q stayed near uniform (mean largest q 0.14)
        # and training lost 0.10 of the start's accuracy.  At one unit a coordinate
        # it kept the start (benchmarks/NOTES.md).  The factor goes into the
        # encoder's last layer; the decoder divides it out.
        # (Rows that all embed to one point have no scale to set.)
        factor = 1.0 / spread if spread > 0 else 1.0
        embedding *= factor
        with torch.no_grad():
            head = self.encoder_.heads["z"]
            head.weight.mul_(factor)
            head.bias.mul_(factor)
            self.assignment_.scale.fill_(factor)
        centres = anchored_means(
            embedding, None if known_clusters is None else known_clusters[rows], fitted.n_clusters
        )
        if centres is None:
            centres = (
                KMeans(fitted.n_clusters, n_init=_KMEANS_RESTARTS, random_state=random.seed)
                .fit(embedding)
                .cluster_centers_
            )
        with torch.no_grad():
            self.assignment_.centres.copy_(torch.as_tensor(centres))

    def _begin_epoch(self, X, train_rows, random):
        # The target is held fixed through the epoch (the paper refreshes it every
        # T iterations), on the device, and read by the batches' positions in X.
        q = torch.as_tensor(self._run_batched(self._cluster_proba, X, train_rows))
        frequencies = q.sum(dim=0)
        target = torch.zeros(X.shape[0], q.shape[1])
        target[torch.as_tensor(train_rows)] = target_distribution(q, frequencies)
        self._target = target.to(self.device_)
        with torch.no_grad():
            self.assignment_.frequencies.copy_(frequencies / frequencies.sum())

    def _train_step(self, batch, optimizer, random):
        fitted = self._fitted_params
        with self._autocast():
            z = self.encoder_(batch.rows)["z"]
            q = self.assignment_(z)
            kl = _kl_divergence(self._target[batch.indices], q).mean()
            regularizer, losses = self._recipe_loss(batch, q)
            loss = kl + regularizer
            if fitted.reconstruction_weight > 0:
                reconstruction = self._squared_error(batch.rows, z)
                loss = loss + fitted.reconstruction_weight * reconstruction.mean()
                losses["reconstruction"] = reconstruction.mean().detach()
        self._update(optimizer, loss)
        losses["kl"] = kl.detach()
        return losses

    def _fit_assignment(self, X):
        # The target belongs to training: a fitted model (and its pickle) keeps none.
        vars(self).pop("_target", None)
        with torch.no_grad():
            self.cluster_centers_ = self.assignment_.centres.detach().cpu().numpy().copy()

    def _make_decoder(self, n_features):
        fitted = self._fitted_params
        hidden = hidden_widths(self._fitted_params, n_features)
        return make_generator(fitted.latent_dim, n_features, fitted.image_shape, hidden, "linear")

    def _squared_error(self, rows, z=None, decoder=None):
        """The decoder's squared reconstruction error per row, averaged over the features."""
        z = self.encoder_(rows)["z"] if z is None else z
        decoder = self.decoder_ if decoder is None else decoder
        decoded = decoder(z / self.assignment_.scale).float()
        return (decoded - rows).pow(2).mean(dim=1)

    # ------------------------------------------------------------ inference
    def _cluster_proba(self, X):
        return self.assignment_(self.encoder_(X)["z"])

    def _encode(self, X):
        return self.encoder_(X)["z"]

    def _score_samples(self, X):
        fitted = self._fitted_params
        q = self._cluster_proba(X)
        score = -_kl_divergence(target_distribution(q, self.assignment_.frequencies), q)
        if fitted.reconstruction_weight > 0:
            score = score - fitted.reconstruction_weight * self._squared_error(X)
        return score

    def _feature_names_out(self):
        return [f"z{i}" for i in range(self._fitted_params.latent_dim)]


def _kl_divergence(p, q):
    """``KL(p_i || q_i)`` of each row (the paper's objective, eq. 2, row by row)."""
    return (p * (torch.log(p.clamp_min(1e-12)) - torch.log(q.clamp_min(1e-12)))).sum(dim=1)
