"""What the variational models (GMVAE, VaDE) share: the data likelihood and Gaussian terms.

Rows in [0, 1] (pixels, min-max scaled features) get a Bernoulli likelihood
p(row | latent) on the decoder's logits, as the papers use for MNIST; other
rows a Gaussian with a learned scale per feature.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

_LOG_2PI = math.log(2 * math.pi)
#: Log-variances are clamped to keep exp() finite while the nets are untrained.
LOGVAR_RANGE = (-10.0, 10.0)


class FeatureLogScale(nn.Module):
    """Learned per-feature log standard deviation of a Gaussian decoder."""

    def __init__(self, n_features):
        super().__init__()
        self.log_scale = nn.Parameter(torch.zeros(n_features))

    def extra_repr(self):
        # warm_start compares networks by their repr: the size must show.
        return f"n_features={self.log_scale.shape[0]}"


def gaussian_log_density(value, mean, logvar):
    """Elementwise log N(value; mean, exp(logvar))."""
    return -0.5 * (_LOG_2PI + logvar + (value - mean) ** 2 / logvar.exp())


def gaussian_kl(mean_q, logvar_q, mean_p, logvar_p):
    """KL(N(mean_q, exp(logvar_q)) || N(mean_p, exp(logvar_p))), summed over the last axis."""
    return 0.5 * (
        logvar_p - logvar_q + (logvar_q.exp() + (mean_q - mean_p) ** 2) / logvar_p.exp() - 1
    ).sum(dim=-1)


def resolve_likelihood(likelihood, unit_interval):
    """The ``likelihood`` parameter with "auto" resolved from the data's range."""
    if likelihood != "auto":
        return likelihood
    return "bernoulli" if unit_interval else "gaussian"


def check_likelihood_range(likelihood, X):
    """Refuse a Bernoulli likelihood for rows outside [0, 1], naming the fix."""
    if likelihood == "bernoulli" and (X.min() < 0 or X.max() > 1):
        raise ValueError(
            f"likelihood='bernoulli' models values in [0, 1], but X ranges from "
            f"{float(X.min()):.3g} to {float(X.max()):.3g}. Scale the features into [0, 1] "
            "(e.g. with sklearn.preprocessing.MinMaxScaler), or use likelihood='gaussian' "
            "or 'auto'."
        )


def make_decoder_scale(likelihood, n_features):
    """The learned per-feature scale a Gaussian likelihood needs, or None."""
    return FeatureLogScale(n_features) if likelihood == "gaussian" else None


def reconstruction_log_likelihood(decoded, rows, likelihood, decoder_scale):
    """log p(rows | latent), summed over the features, from the decoder's output.

    ``decoded`` may carry leading sample dimensions that ``rows`` broadcasts to.
    """
    if likelihood == "bernoulli":
        log_likelihood = -F.binary_cross_entropy_with_logits(
            decoded, rows.expand_as(decoded), reduction="none"
        )
    else:
        log_likelihood = gaussian_log_density(rows, decoded, 2 * decoder_scale.log_scale)
    return log_likelihood.sum(dim=-1)


def decoded_mean(decoded, likelihood):
    """The mean of p(row | latent): probabilities for Bernoulli, the output itself for Gaussian."""
    return decoded.sigmoid() if likelihood == "bernoulli" else decoded
