"""The layer the variational clusterers share (GMVAE, VaDE), between the base and their files.

:class:`BaseVAEClustering` owns the decoder and its likelihood p(row |
latent): rows in [0, 1] (pixels, min-max scaled features) get a Bernoulli
likelihood on the decoder's logits, as the papers use for MNIST; documents
(``metric_ == "cosine"``, term weights in [0, 1]) a multinomial over the
terms; other rows a Gaussian with a learned scale per feature (the
``likelihood`` parameter).
The module also holds the Gaussian density and KL both models' ELBOs use.
A VAE subclass calls ``_build_decoder`` in ``_build``, ``_reconstruction``
in its ELBO, and defines ``_recognise(X)``, whose first output, the
posterior mean, is its ``transform``.
"""

import math

import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import StrOptions
from torch import nn

from ._base import BaseLatentClustering
from ._networks import make_generator

_LOG_2PI = math.log(2 * math.pi)
#: Log-variances are clamped to keep exp() finite while the nets are untrained.
LOGVAR_RANGE = (-10.0, 10.0)


class FeatureLogScale(nn.Module):
    """Learned per-feature log standard deviation of a Gaussian decoder."""

    def __init__(self, n_features):
        super().__init__()
        self.log_scale = nn.Parameter(torch.zeros(n_features))

    def extra_repr(self):
        # The printed network shows its size.
        return f"n_features={self.log_scale.shape[0]}"


def gaussian_log_density(value, mean, logvar):
    """Elementwise log N(value; mean, exp(logvar))."""
    return -0.5 * (_LOG_2PI + logvar + (value - mean) ** 2 / logvar.exp())


def gaussian_kl(mean_q, logvar_q, mean_p, logvar_p):
    """KL(N(mean_q, exp(logvar_q)) || N(mean_p, exp(logvar_p))), summed over the last axis."""
    return 0.5 * (
        logvar_p - logvar_q + (logvar_q.exp() + (mean_q - mean_p) ** 2) / logvar_p.exp() - 1
    ).sum(dim=-1)


class BaseVAEClustering(BaseLatentClustering):
    """Template for clusterers trained as variational autoencoders.

    Not for direct use: see the module docstring for what a subclass does.
    """

    _parameter_constraints = {
        **BaseLatentClustering._parameter_constraints,
        "likelihood": [StrOptions({"auto", "bernoulli", "gaussian", "multinomial"})],
    }

    #: The per-row ELBO in nats, which rises as the model fits.
    _progress_loss = "elbo"

    def _check_data_against_params(self, X):
        fitted = self._fitted_params
        super()._check_data_against_params(X)
        if fitted.likelihood == "bernoulli" and (X.min() < 0 or X.max() > 1):
            raise ValueError(
                f"likelihood='bernoulli' models values in [0, 1], but X ranges from "
                f"{float(X.min()):.3g} to {float(X.max()):.3g}. Scale the features into [0, 1] "
                "(e.g. with sklearn.preprocessing.MinMaxScaler), or use likelihood='gaussian' "
                "or 'auto'."
            )
        if fitted.likelihood == "multinomial" and X.min() < 0:
            raise ValueError(
                f"likelihood='multinomial' models non-negative term counts or weights, but X "
                f"holds values down to {float(X.min()):.3g}. Pass counts or TF-IDF weights "
                "(e.g. from sklearn.feature_extraction.text.TfidfVectorizer), or use "
                "likelihood='gaussian' or 'auto'."
            )

    def _build_decoder(self, n_features, unit_interval, hidden):
        """The decoder of ``latent_dim`` codes and its likelihood, "auto" resolved from the data."""
        fitted = self._fitted_params
        if fitted.likelihood == "auto" and unit_interval:
            self.likelihood_ = "multinomial" if self.metric_ == "cosine" else "bernoulli"
        elif fitted.likelihood == "auto":
            self.likelihood_ = "gaussian"
        else:
            self.likelihood_ = fitted.likelihood
        # It outputs Bernoulli or multinomial logits or Gaussian means: no activation.
        self.decoder_ = make_generator(
            fitted.latent_dim, n_features, fitted.image_shape, hidden, "linear"
        )
        # Bernoulli and multinomial decoders have the same layers: the likelihood is
        # part of the network's signature, so a warm start cannot switch between them.
        self.decoder_.likelihood = self.likelihood_
        # A Gaussian likelihood learns one scale per feature.
        self.decoder_scale_ = (
            FeatureLogScale(n_features) if self.likelihood_ == "gaussian" else None
        )

    def _reconstruction(self, decoded, rows):
        """log p(rows | latent), summed over the features, from the decoder's output.

        ``decoded`` may carry leading sample dimensions that ``rows`` broadcasts to.
        """
        if self.likelihood_ == "multinomial":
            # A document's terms drawn from softmax(decoded), each weighted by its count
            # or TF-IDF weight: the multinomial decoder of neural topic models (ProdLDA,
            # Srivastava and Sutton, ICLR 2017, eq. 3), without the constant multinomial
            # coefficient.  A Bernoulli per term also scores every absent term, which is
            # most of each row.
            log_likelihood = rows * F.log_softmax(decoded, dim=-1)
        elif self.likelihood_ == "bernoulli":
            log_likelihood = -F.binary_cross_entropy_with_logits(
                decoded, rows.expand_as(decoded), reduction="none"
            )
        else:
            log_likelihood = gaussian_log_density(rows, decoded, 2 * self.decoder_scale_.log_scale)
        return log_likelihood.sum(dim=-1)

    def _encode(self, X):
        return self._recognise(X)[0]

    def _decode(self, Z):
        # The mean of p(row | latent): probabilities for Bernoulli, the output itself for
        # Gaussian; for the multinomial, the terms' proportions (each row sums to 1).
        decoded = self.decoder_(Z)
        if self.likelihood_ == "multinomial":
            return decoded.softmax(dim=-1)
        return decoded.sigmoid() if self.likelihood_ == "bernoulli" else decoded
