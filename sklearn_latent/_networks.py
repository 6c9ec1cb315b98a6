"""Network building blocks shared by the models.

Every model asks for the same three shapes of network: a *generator* mapping a
latent vector to a data row, and a *critic*/*encoder* mapping a data row to a
feature vector followed by one or more linear heads.  Rows are fully-connected
MLPs; images (``image_shape=(C, H, W)``) use the convolutional nets of the
ClusterGAN and InfoGAN papers for MNIST, generalised to any ``H`` and ``W``
and, by default, narrower (:data:`IMAGE_WIDTHS`).
"""

import math

import torch
from torch import nn


def _leaky_relu():
    # Slope 0.2, as in the DCGAN-style nets of ClusterGAN and InfoGAN.
    return nn.LeakyReLU(0.2)


class MLPTrunk(nn.Module):
    """Fully-connected trunk: ``len(hidden_units)`` layers with leaky ReLU."""

    def __init__(self, n_inputs, hidden_units, batch_norm):
        super().__init__()
        layers = []
        for width in hidden_units:
            layers.append(nn.Linear(n_inputs, width))
            if batch_norm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(_leaky_relu())
            n_inputs = width
        self.layers = nn.Sequential(*layers)
        self.n_outputs = n_inputs

    def forward(self, x):
        return self.layers(x)


#: The channels of the two convolutions of the ClusterGAN/InfoGAN MNIST nets.
PAPER_CHANNELS = (64, 128)
#: The conv nets' widths ``hidden_units=None`` stands for: a quarter of the papers'
#: channels and an eighth of their 1,024-unit dense layer.  On the 8x8 digits and
#: MNIST-5k as images these clustered as the papers' widths did in an eighth to a
#: quarter of the time on one CPU core (benchmarks/NOTES.md, session 13).
IMAGE_WIDTHS = (16, 32, 128)


def conv_widths(hidden_units):
    """``(channels1, channels2, dense_units)`` of the conv nets from ``hidden_units``.

    Three widths name all three; one names the dense layer, beside the papers'
    channels (:data:`PAPER_CHANNELS`).
    """
    if len(hidden_units) == 3:
        return tuple(hidden_units)
    return (*PAPER_CHANNELS, hidden_units[-1])


class ConvTrunk(nn.Module):
    """Image trunk of the ClusterGAN/InfoGAN MNIST nets.

    conv ``channels1`` (4x4, stride 2) -> conv ``channels2`` (4x4, stride 2)
    -> FC ``dense_units``, leaky ReLU 0.2 throughout; the papers' nets have
    64 and 128 channels (Mukherjee et al. 2019, appendix; Chen et al. 2016,
    appendix C.1).  Input rows are flattened ``(C, H, W)`` images.
    """

    def __init__(self, image_shape, widths, batch_norm):
        super().__init__()
        channels, height, width = image_shape
        channels1, channels2, dense_units = widths
        self.image_shape = tuple(image_shape)
        norm = nn.BatchNorm2d if batch_norm else (lambda _: nn.Identity())
        self.conv = nn.Sequential(
            nn.Conv2d(channels, channels1, 4, stride=2, padding=1),
            _leaky_relu(),
            nn.Conv2d(channels1, channels2, 4, stride=2, padding=1),
            norm(channels2),
            _leaky_relu(),
            nn.Flatten(),
        )
        # A 4x4 kernel with stride 2 and padding 1 halves a side, rounding down.
        n_conv_outputs = channels2 * (height // 4) * (width // 4)
        self.dense = MLPTrunk(n_conv_outputs, (dense_units,), batch_norm)
        self.n_outputs = dense_units

    def forward(self, x):
        return self.dense(self.conv(x.view(-1, *self.image_shape)))


class MLPGenerator(nn.Module):
    """Fully-connected generator/decoder: latent -> hidden layers (BN) -> row."""

    def __init__(self, n_latent, n_features, hidden_units, output_activation):
        super().__init__()
        self.trunk = MLPTrunk(n_latent, hidden_units, batch_norm=True)
        self.out = nn.Linear(self.trunk.n_outputs, n_features)
        self.output_activation = output_activation

    def forward(self, z):
        return _activate(self.out(self.trunk(z)), self.output_activation)

    def extra_repr(self):
        return f"output_activation={self.output_activation!r}"


class ConvGenerator(nn.Module):
    """Image generator of the ClusterGAN/InfoGAN MNIST nets, for any (C, H, W).

    FC ``dense_units`` (BN) -> FC ``channels2`` x ceil(H/4) x ceil(W/4) (BN)
    -> deconv ``channels1`` (BN) -> deconv C (the papers': 1024, 128, 64); the
    last map is cropped to H x W and flattened.
    """

    def __init__(self, n_latent, image_shape, widths, output_activation):
        super().__init__()
        channels, height, width = image_shape
        channels1, channels2, dense_units = widths
        self.image_shape = tuple(image_shape)
        self.seed_shape = (channels2, math.ceil(height / 4), math.ceil(width / 4))
        self.dense = nn.Sequential(
            nn.Linear(n_latent, dense_units),
            nn.BatchNorm1d(dense_units),
            nn.ReLU(),
            nn.Linear(dense_units, math.prod(self.seed_shape)),
            nn.BatchNorm1d(math.prod(self.seed_shape)),
            nn.ReLU(),
        )
        # Each 4x4 transposed convolution with stride 2 and padding 1 doubles a side.
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(channels2, channels1, 4, stride=2, padding=1),
            nn.BatchNorm2d(channels1),
            nn.ReLU(),
            nn.ConvTranspose2d(channels1, channels, 4, stride=2, padding=1),
        )
        self.output_activation = output_activation

    def forward(self, z):
        images = self.deconv(self.dense(z).view(-1, *self.seed_shape))
        _, height, width = self.image_shape
        images = images[:, :, :height, :width]
        return _activate(images.flatten(1), self.output_activation)

    def extra_repr(self):
        return f"image_shape={self.image_shape}, output_activation={self.output_activation!r}"


class HeadedNet(nn.Module):
    """A trunk followed by named linear heads; ``forward`` returns a dict."""

    def __init__(self, trunk, head_sizes):
        super().__init__()
        self.trunk = trunk
        self.heads = nn.ModuleDict(
            {name: nn.Linear(trunk.n_outputs, size) for name, size in head_sizes.items()}
        )

    def forward(self, x):
        features = self.trunk(x)
        return {name: head(features) for name, head in self.heads.items()}


def _activate(x, activation):
    """A generator's output layer: ``"sigmoid"``, ``"unit"`` or ``"linear"``."""
    if activation == "sigmoid":
        return torch.sigmoid(x)
    if activation == "unit":
        # Non-negative rows of unit length, as TfidfVectorizer's are.  The softmax
        # is positive everywhere, so the length is never 0.
        proportions = torch.softmax(x, dim=1)
        return proportions / torch.linalg.vector_norm(proportions, dim=1, keepdim=True)
    return x


def make_trunk(n_features, image_shape, hidden_units, batch_norm):
    """Trunk for reading data rows: convolutional when ``image_shape`` is set."""
    if image_shape is not None:
        return ConvTrunk(image_shape, conv_widths(hidden_units), batch_norm)
    return MLPTrunk(n_features, hidden_units, batch_norm)


def make_generator(n_latent, n_features, image_shape, hidden_units, output_activation):
    """Generator/decoder for producing data rows from a latent vector."""
    if image_shape is not None:
        return ConvGenerator(n_latent, image_shape, conv_widths(hidden_units), output_activation)
    return MLPGenerator(n_latent, n_features, hidden_units, output_activation)


def network_signature(module):
    """Everything that decides what ``module`` computes, except the values of its weights.

    For each of its layers: its place, its class, its settings (the public
    plain attributes, such as ``in_features`` or a generator's
    ``output_activation``) and the names, shapes and dtypes of its parameters
    and buffers.  Two networks with equal signatures compute the same function
    of the same weights, so one's weights can continue the other (``warm_start``);
    their printed form may hide settings (an activation kept as a string).

    Parameters
    ----------
    module : torch.nn.Module or None

    Returns
    -------
    signature : list or None
        Comparable with ``==``; None for None.
    """
    if module is None:
        return None
    signature = []
    for name, layer in module.named_modules():
        settings = sorted(
            (key, repr(value))
            for key, value in vars(layer).items()
            if not key.startswith("_") and key != "training"
        )
        tensors = [
            (key, tuple(tensor.shape), str(tensor.dtype))
            for key, tensor in (
                *layer.named_parameters(recurse=False),
                *layer.named_buffers(recurse=False),
            )
        ]
        kind = f"{type(layer).__module__}.{type(layer).__qualname__}"
        signature.append((name, kind, settings, tensors))
    return signature


#: With ``hidden_units=None``, rows of more than this many features get
#: narrower hidden layers (see :func:`hidden_widths`).
WIDE_ROW_FEATURES = 1024


def hidden_widths(fitted, n_features):
    """The fit's hidden widths: the user's, or sized to the input when ``hidden_units=None``."""
    if fitted.hidden_units is not None:
        return tuple(fitted.hidden_units)
    if fitted.image_shape is not None:
        return IMAGE_WIDTHS
    # Two layers of 256 as in ClusterGAN's Pendigits nets.  Wide rows (MNIST's
    # 784 pixels) clustered better at 512 from a random start, but with the
    # manifold initialisation 256 matched it at half the cost (benchmarks/NOTES.md).
    # On rows wider still, the first and last layers are most of an update's
    # cost: on MNIST-5k upsampled to 3,136 pixels, 128 clustered as well as 256
    # in 61-66 % of the time, at a lower ELBO.
    width = 128 if n_features > WIDE_ROW_FEATURES else 256
    return (width, width)
