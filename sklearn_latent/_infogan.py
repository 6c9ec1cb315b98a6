"""InfoGAN (Chen et al., NIPS 2016) as a scikit-learn clusterer."""

import math
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from ._code_graph import (
    code_graph_parents,
    code_nodes,
    continuous_code_nll,
    entangled_codes,
    linear_gaussian_network_nll,
)
from ._gan import BaseGANClustering
from ._networks import HeadedNet, hidden_widths, make_generator, make_trunk
from ._params import fill_shared_entries, model_parameters
from ._runtime import TrainingRandomness, seed_from_random_state
from ._validation import FLOAT32_MAX


def mutual_information(proba):
    """Mutual information between rows and clusters, in nats, from the rows' posteriors.

    ``H(mean_i p_i) - mean_i H(p_i)`` for the cluster posteriors ``p_i``
    (rows of ``proba``): high when rows are assigned decidedly and the
    clusters are used evenly, at most ``log(n_clusters)``.
    """
    proba = np.asarray(proba, dtype=np.float64)

    def entropy(p):
        return -np.sum(p * np.log(np.clip(p, 1e-12, None)), axis=-1)

    return float(entropy(proba.mean(axis=0)) - entropy(proba).mean())


@fill_shared_entries
class InfoGANClustering(BaseGANClustering):
    """InfoGAN: a GAN whose categorical input code becomes the cluster.

    Chen, Duan, Houthooft, Schulman, Sutskever and Abbeel, "InfoGAN:
    Interpretable Representation Learning by Information Maximizing Generative
    Adversarial Nets", NIPS 2016.  The generator G reads incompressible noise
    (``latent_dim`` values, uniform on [-1, 1]), a categorical code ``c`` with
    ``n_clusters`` equally likely values and ``n_continuous`` continuous codes
    uniform on [-1, 1].  The discriminator D and the auxiliary distribution Q
    share one trunk: Q outputs logits for ``c`` and a Gaussian (mean, log-std)
    per continuous code.  Training adds ``-lambda L_I(G, Q)``, the variational
    lower bound of the mutual information between codes and generated rows
    (paper, eq. 5), to both players' losses; ``L_I`` updates G and Q (D's trunk
    and Q's heads), never D's real/fake head.  A row's cluster is the argmax of
    Q's categorical output.

    **Training recipe.**  As for :class:`ClusterGANClustering`: a manifold
    initialisation anchors the clusters (``cluster_init``, ``init_weight``),
    and two terms on Q's categorical posterior for *real* rows keep
    neighbours together (``consistency_weight``) and clusters used in the
    shares the start gives them (``balance_weight``).  The paper's
    objective is ``InfoGANClustering(cluster_init=None, consistency_weight=0,
    balance_weight=0, learning_rate=2e-4, generator_learning_rate=1e-3,
    batch_size=128)`` with ``max_iter`` for about 5,000 updates.

    Parameters
    ----------
    n_clusters : int or "auto", default=8
        Number of values of the categorical code ``c``.
        ``"auto"`` finds the number in the data (``n_clusters_``).
    max_clusters : (shared)
    latent_dim : int, default=62
        Dimension of the incompressible noise (paper, MNIST: 62).
    n_continuous : int, default=2
        Number of continuous codes (paper, MNIST: 2); 0 for none.
    categorical_weight : float, default=1.0
        lambda for the categorical part of ``L_I`` (paper: 1).
    continuous_weight : float, default=0.1
        lambda for the continuous part of ``L_I``; the paper keeps it smaller
        than the categorical one so both terms have the same scale.
    loss : (shared)
    n_critic : int, default=1
        D/Q steps per generator step (the paper: 1; WGAN-GP's authors: 5).
    gradient_penalty : (shared)
    consistency_weight : (shared)
    balance_weight : (shared)
    cluster_init : (shared)
    init_weight : (shared)
    manifold_weight : (shared)
    orthonormality_weight : (shared)
    code_graph : "one-to-one", list of (str, str) or array-like, default=None
        Structured codes (Beyazit et al., IJCAI 2020): which codes depend on
        which, as a directed acyclic graph over the named codes.  The input
        codes are ``"category"`` and ``"c0"`` ... ``"c{n_continuous-1}"``;
        the codes Q extracts from generated rows are ``"c0_hat"`` ...
        Give the graph as ``(parent, child)`` edges, as an adjacency matrix
        over the names in that order (input codes, then extracted codes;
        entry ``[i, j]`` nonzero for an edge from name i to name j), or as
        ``"one-to-one"`` for the edges ``ci -> ci_hat``.  Only extracted codes
        have parents (the input codes are drawn independently).  None gives
        plain InfoGAN.  See Notes.
    code_graph_weight : float, default=1.0
        Weight of the graph's negative log-likelihood in G's loss, and in
        Q's for entangled codes (with ``code_graph``; see Notes); 0 turns the
        graph off.  The term competes with
        the categorical code; in our runs on digits it slowed the clustering,
        so use a graph when the continuous codes are what you are after.
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
        Adam learning rate of D and Q (paper: 2e-4).
    generator_learning_rate : float, default=None
        Adam learning rate of G; None uses ``learning_rate`` (paper: 1e-3).
    betas : tuple of float, default=(0.5, 0.999)
        Adam's ``(beta1, beta2)`` for all networks (paper: beta1 0.5).
    output_activation : (shared)
    warm_start : (shared)
    precision : (shared)
    device : (shared)
    random_state : (shared)
    verbose : (shared)

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster (categorical code) of each training row.
    metric_ : (shared)
    n_clusters_ : (shared)
    n_clusters_search_ : (shared)
    generator_ : torch.nn.Module
        The generator G.
    discriminator_ : torch.nn.Module
        D and Q: one trunk with the heads ``score``, ``categorical``,
        ``continuous_mean`` and ``continuous_log_std``.
    history_ : list of dict
        One record per epoch: ``epoch``, ``seconds``, ``critic``,
        ``adversarial``, ``categorical_information`` (the categorical part of
        ``L_I`` in nats, which approaches ``H(c) = log(n_clusters)`` as Q
        recovers the code), ``continuous_nll``, ``code_graph_nll`` with a
        ``code_graph``, the recipe terms, and ``validation_score`` with early
        stopping.
    code_graph_ : dict of str to tuple of str
        The validated ``code_graph``: the parents of each extracted code that
        has any, in a topological order; empty without a graph.
    entangled_codes_ : list of str
        The extracted codes with a parent other than their own input code
        (``c2_hat`` under an edge ``c0 -> c2_hat``): the graph, not ``L_I``,
        defines them, so their ``transform`` column is not an estimate of
        the input code (see Notes).
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
    ClusterGANClustering : A GAN whose encoder inverts the generator.
    GMVAEClustering : A variational autoencoder with a mixture prior.

    Notes
    -----
    ``transform`` returns ``[softmax(Q_c(x)), Q_mean(x)]``: the categorical
    posterior then the means of the continuous codes (columns ``proba0``,
    ... then ``code0``, ...); ``inverse_transform``
    feeds such codes to G with the incompressible noise at its mean, 0.  :meth:`generate` makes
    rows for chosen codes, so a user can see what each code controls.

    **Structured codes.**  With a ``code_graph``, each train step treats the
    batch's input codes and the codes Q extracts from the generated rows (the
    means of Q's continuous heads) as a Bayesian network over the graph.  Its
    local conditionals are linear-Gaussian -- a one-hot block for the
    categorical parent -- fitted by maximum likelihood on the batch, on
    standardised codes; their negative log-likelihood, weighted by
    ``code_graph_weight``, joins G's loss (the paper's regulariser; the
    linear-Gaussian family is this library's choice).  Standardising keeps a
    code from lowering the loss by shrinking its scale, and makes a child's
    term, up to a constant, minus the Gaussian mutual information with its
    parents.  So ``"one-to-one"`` rewards each extracted code for following
    its own input code, linearly and *alone*: a dependence on any other code
    is unexplained variance.

    An added edge, e.g. ``[*one_to_one, ("c0", "c2_hat")]``, lets ``c2_hat``
    depend on ``c0`` as well: an entanglement the user declares informative,
    such as a height that depends on a width.  Such a code is *entangled*
    (``entangled_codes_``): ``L_I`` no longer asks Q to return
    ``E[c2 | x]`` for it, which would rule any mix out.  The graph's term
    trains Q's head for it instead, and ``c2`` must be readable, linearly,
    from all the extracted codes together, so G keeps using it.  A
    likelihood can only forbid dependences, never demand one: the edge allows
    ``c2_hat`` to mix ``c0`` in, and the data decide how much (in our
    benchmark it often just copies ``c0``).  An entangled code has no fixed
    scale or sign, so its ``transform`` column does not round-trip through
    ``inverse_transform``.
    ``benchmarks/structured_codes.py`` measures both graphs on
    :func:`sklearn_latent.datasets.make_shapes`.

    ``score_samples`` is minus the entropy of Q's categorical posterior (how
    decidedly a row belongs to one cluster); ``score`` is the mutual
    information estimate ``H(mean_i p_i) - mean_i H(p_i)`` over ``X``, in
    nats, at most ``log(n_clusters)``: high when rows are assigned decidedly
    *and* the clusters are used evenly.  It is what :class:`GridSearchCV`
    maximises when no scoring is given; compare it between models with the
    same ``n_clusters``.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn_latent import InfoGANClustering
    >>> X, _ = make_blobs(n_samples=200, centers=3, random_state=0)
    >>> model = InfoGANClustering(n_clusters=3, max_iter=20, random_state=0).fit(X)
    >>> rows = model.generate([0, 0, 2], continuous=[[-1, 0], [1, 0], [0, 0]])
    >>> rows.shape
    (3, 2)
    """

    _parameter_constraints = {
        **BaseGANClustering._parameter_constraints,
        "n_continuous": [Interval(Integral, 0, None, closed="left")],
        "categorical_weight": [Interval(Real, 0, FLOAT32_MAX, closed="both")],
        "continuous_weight": [Interval(Real, 0, FLOAT32_MAX, closed="both")],
        "code_graph": [None, StrOptions({"one-to-one"}), "array-like"],
        "code_graph_weight": [Interval(Real, 0, FLOAT32_MAX, closed="both")],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        max_clusters=None,
        latent_dim=62,
        n_continuous=2,
        categorical_weight=1.0,
        continuous_weight=0.1,
        loss="nonsaturating",
        n_critic=1,
        gradient_penalty=10.0,
        consistency_weight="auto",
        balance_weight=20.0,
        cluster_init="manifold",
        init_weight=10.0,
        manifold_weight=0.0,
        orthonormality_weight=0.0,
        code_graph=None,
        code_graph_weight=1.0,
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
        betas=(0.5, 0.999),
        output_activation="auto",
        warm_start=False,
        precision="float32",
        device="auto",
        random_state=None,
        verbose=0,
    ):
        super().__init__(**model_parameters(locals()))

    # ---------------------------------------------------------------- model
    def _check_data_against_params(self, X):
        fitted = self._fitted_params
        super()._check_data_against_params(X)
        code_graph_parents(fitted.code_graph, fitted.n_continuous)

    def _build(self, n_features, unit_interval):
        fitted = self._fitted_params
        self.code_graph_ = code_graph_parents(fitted.code_graph, fitted.n_continuous)
        graph_weighed = fitted.code_graph_weight != 0
        self.entangled_codes_ = entangled_codes(self.code_graph_) if graph_weighed else []
        hidden = hidden_widths(self._fitted_params, n_features)
        output_activation = self._generator_activation(unit_interval)
        n_codes = fitted.latent_dim + fitted.n_clusters + fitted.n_continuous
        self.generator_ = make_generator(
            n_codes, n_features, fitted.image_shape, hidden, output_activation
        )
        heads = {"score": 1, "categorical": fitted.n_clusters}
        if fitted.n_continuous:
            n_continuous = fitted.n_continuous
            heads.update(continuous_mean=n_continuous, continuous_log_std=n_continuous)
        self.discriminator_ = HeadedNet(
            make_trunk(n_features, fitted.image_shape, hidden, batch_norm=False), heads
        )

    def _draw_latent(self, clusters, random, continuous=None):
        """Generator input [noise, one-hot c, continuous codes], and the continuous codes.

        The noise and, unless given, the continuous codes are uniform on
        [-1, 1] (paper, sec. 5 and 7).
        """
        n_rows, device = clusters.shape[0], clusters.device
        fitted = self._fitted_params
        noise = 2 * random.rand(n_rows, fitted.latent_dim, device=device) - 1
        if continuous is None:
            continuous = 2 * random.rand(n_rows, fitted.n_continuous, device=device) - 1
        one_hot = F.one_hot(clusters, fitted.n_clusters).float()
        return torch.cat([noise, one_hot, continuous], dim=1), continuous

    def _latent_scale(self, device):
        fitted = self._fitted_params
        scale = torch.full((fitted.latent_dim + fitted.n_clusters + fitted.n_continuous,), 3**-0.5)
        scale[fitted.latent_dim : fitted.latent_dim + fitted.n_clusters] = 0.0  # U(-1, 1) elsewhere
        return scale.to(device)

    def _information_loss(self, outputs, categories, continuous):
        """-L_I's two parts: the cross-entropy of c, and the continuous codes' NLL."""
        fitted = self._fitted_params
        categorical = F.cross_entropy(outputs["categorical"], categories)
        if not fitted.n_continuous:
            return categorical, categorical.new_zeros(())
        nodes = self._code_nodes(categories, continuous, outputs) if self.entangled_codes_ else None
        continuous_nll = continuous_code_nll(
            outputs["continuous_mean"],
            outputs["continuous_log_std"],
            continuous,
            self.entangled_codes_,
            nodes,
        )
        return categorical, continuous_nll

    def _code_nodes(self, categories, continuous, outputs):
        fitted = self._fitted_params
        return code_nodes(categories, continuous, outputs["continuous_mean"], fitted.n_clusters)

    def _code_graph_nll(self, categories, continuous, outputs, children=None):
        """The code graph's negative log-likelihood on fakes; None when there is no graph term.

        ``children`` restricts it to the terms of those extracted codes.
        """
        fitted = self._fitted_params
        if not self.code_graph_ or fitted.code_graph_weight == 0:
            return None
        parents = self.code_graph_
        if children is not None:
            parents = {child: parents[child] for child in children}
        return linear_gaussian_network_nll(
            self._code_nodes(categories, continuous, outputs), parents
        )

    def _cluster_posterior_weights(self):
        fitted = self._fitted_params
        return {
            **super()._cluster_posterior_weights(),
            "categorical_weight": fitted.categorical_weight,
        }

    def _train_step(self, batch, optimizers, random):
        fitted = self._fitted_params
        real = batch.rows
        categories = random.randint(fitted.n_clusters, (real.shape[0],), device=real.device)
        codes, continuous = self._draw_latent(categories, random)
        with self._autocast():
            loss, losses = self._discriminator_loss(batch, codes, categories, continuous, random)
        self._update(optimizers.critic, loss)
        if not self._generator_turn(optimizers):
            return losses
        # G: fool D and make its codes recoverable by Q (D and Q held fixed).
        codes, continuous = self._draw_latent(categories, random)
        with self._frozen_critic():
            with self._autocast():
                loss, generator_losses = self._generator_loss(codes, categories, continuous, random)
            self._update(optimizers.generator, loss)
        return {**losses, **generator_losses}

    def _discriminator_loss(self, batch, codes, categories, continuous, random):
        """D's and Q's loss, and the record of its terms.

        D tells real rows from fakes; Q recovers the codes of fakes (``L_I``)
        and carries the recipe's terms on its posterior for real rows.
        """
        fitted = self._fitted_params
        real = batch.rows
        with torch.no_grad():
            fake = self.generator_(codes)
        real_out, fake_out = self.discriminator_(real), self.discriminator_(fake)
        critic = self._critic_loss(
            real, fake, real_out["score"].squeeze(1), fake_out["score"].squeeze(1), random
        )
        categorical_nll, continuous_nll = self._information_loss(fake_out, categories, continuous)
        regularizer, losses = self._recipe_loss(batch, real_out["categorical"].softmax(dim=1))
        smoothness, smoothness_record = self._tangent_smoothness(codes, random)
        loss = (
            critic
            + fitted.categorical_weight * categorical_nll
            + fitted.continuous_weight * continuous_nll
            + regularizer
            + smoothness
        )
        if self.entangled_codes_:
            # Q's heads for InfoGAN codes stay L_I's (a sign-free graph term
            # could lock one at -c_i); the graph defines the entangled ones.
            graph_nll = self._code_graph_nll(
                categories, continuous, fake_out, children=self.entangled_codes_
            )
            loss = loss + fitted.code_graph_weight * graph_nll
        return loss, {**losses, **smoothness_record, "critic": critic.detach()}

    def _generator_loss(self, codes, categories, continuous, random):
        """G's loss, and the record of its terms.

        G fools D and keeps its codes recoverable by Q (``L_I``), with the
        code graph's and the Localized GAN's terms where they are on.
        """
        fitted = self._fitted_params
        fake_out = self.discriminator_(self.generator_(codes))
        adversarial = self._generator_adversarial_loss(fake_out["score"].squeeze(1))
        categorical_nll, continuous_nll = self._information_loss(fake_out, categories, continuous)
        orthonormality, losses = self._tangent_orthonormality(codes, random)
        loss = (
            adversarial
            + fitted.categorical_weight * categorical_nll
            + fitted.continuous_weight * continuous_nll
            + orthonormality
        )
        graph_nll = self._code_graph_nll(categories, continuous, fake_out)
        if graph_nll is not None:
            loss = loss + fitted.code_graph_weight * graph_nll
            losses["code_graph_nll"] = graph_nll.detach()
        return loss, {
            **losses,
            "adversarial": adversarial.detach(),
            # L_I for the uniform categorical code: H(c) - CE (paper, eq. 4 and 5).
            "categorical_information": math.log(fitted.n_clusters) - categorical_nll.detach(),
            "continuous_nll": continuous_nll.detach(),
        }

    # ------------------------------------------------------------ inference
    def _cluster_proba(self, X):
        return self.discriminator_(X)["categorical"].softmax(dim=1)

    def _encode(self, X):
        outputs = self.discriminator_(X)
        parts = [outputs["categorical"].softmax(dim=1)]
        if self._fitted_params.n_continuous:
            parts.append(outputs["continuous_mean"])
        return torch.cat(parts, dim=1)

    def _feature_names_out(self):
        fitted = self._fitted_params
        return [f"proba{k}" for k in range(fitted.n_clusters)] + [
            f"code{i}" for i in range(fitted.n_continuous)
        ]

    #: L_I's categorical part, which nears log(n_clusters) as Q recovers the cluster code.
    _progress_loss = "categorical_information"

    def _decode(self, Z):
        # An embedding holds the codes only: decode it with the noise at its mean, 0.
        noise = Z.new_zeros(Z.shape[0], self._fitted_params.latent_dim)
        return self.generator_(torch.cat([noise, Z], dim=1))

    def _score_samples(self, X):
        proba = self._cluster_proba(X)
        return (proba * proba.clamp_min(1e-12).log()).sum(dim=1)

    def score(self, X, y=None):
        """Mutual information between rows and clusters under Q, in nats.

        ``H(mean_i p_i) - mean_i H(p_i)`` for the categorical posteriors
        ``p_i`` of the rows of ``X``; higher is better, at most
        ``log(n_clusters)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        score : float
            The mutual information estimate.
        """
        return mutual_information(self.predict_proba(X))

    def _validation_score(self, X, rows):
        # Early stopping keeps the epoch with the best score, the mutual information.
        return mutual_information(self._run_batched(self._cluster_proba, X, rows))

    def generate(self, categories, continuous=None):
        """Generate rows for chosen codes.

        The incompressible noise is drawn at random (from ``random_state``);
        fix ``categories`` and sweep one column of ``continuous`` to see what a
        continuous code controls, or vary ``categories`` to see the clusters.

        Parameters
        ----------
        categories : array-like of shape (n_rows,)
            Categorical code (cluster index) of each row to generate.
        continuous : array-like of shape (n_rows, n_continuous), default=None
            Continuous codes, nominally in [-1, 1]; None draws them uniformly.

        Returns
        -------
        X : ndarray of shape (n_rows, n_features_in_)
            Generated rows.
        """
        check_is_fitted(self)
        fitted = self._fitted_params
        expected = (
            f"categories must be a 1-d array of integer cluster indices in [0, {fitted.n_clusters})"
        )
        try:
            categories = check_array(categories, ensure_2d=False, dtype="numeric")
        except (TypeError, ValueError) as exc:
            # scikit-learn's message (e.g. on strings) does not say which argument it read.
            raise type(exc)(f"{expected}; reading them failed: {exc}") from exc
        # A cast to int would read 0.7 as category 0 and True as category 1.
        if (
            categories.ndim != 1
            or categories.dtype.kind not in "iuf"
            or (categories != np.round(categories)).any()
            or categories.min() < 0
            or categories.max() >= fitted.n_clusters
        ):
            raise ValueError(
                f"{expected}; got {categories.dtype} values {np.unique(categories)[:5].tolist()}."
            )
        if continuous is not None:
            try:
                continuous = check_array(continuous, dtype=np.float32)
            except (TypeError, ValueError) as exc:
                raise type(exc)(
                    "continuous must be an array of shape (n_rows, n_continuous) = "
                    f"({len(categories)}, {fitted.n_continuous}); reading it failed: {exc}"
                ) from exc
            if continuous.shape != (len(categories), fitted.n_continuous):
                raise ValueError(
                    f"continuous must have shape (n_rows, n_continuous) = "
                    f"({len(categories)}, {fitted.n_continuous}); got {continuous.shape}."
                )
        random = TrainingRandomness(seed_from_random_state(fitted.random_state), self.device_)
        with self._inference():
            codes, _ = self._draw_latent(
                torch.as_tensor(categories.astype(np.int64), device=self.device_),
                random,
                None if continuous is None else torch.as_tensor(continuous, device=self.device_),
            )
            rows = self.generator_(codes).float().cpu().numpy()
        return self._finite(rows, "generate", continuous)
