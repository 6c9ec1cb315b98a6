"""Synthetic data with known generative factors."""

import numpy as np
from sklearn.utils import check_random_state

SHAPES_FACTOR_NAMES = ("shape", "width", "aspect", "thickness", "height")


def make_shapes(n_samples=5000, *, image_size=20, random_state=None):
    """Outlined shapes with known factors, one of which depends on two others.

    Each image is the outline of an ellipse, a rectangle or a diamond,
    centred, drawn with anti-aliased edges.  Four factors are drawn
    independently and uniformly -- the shape, the half-width, the aspect
    ratio and the stroke thickness -- and the half-height is their mix
    ``width * aspect``: a factor that is a function of two others, as
    structured InfoGAN codes (``InfoGANClustering(code_graph=...)``) are meant
    to capture.  Use it with :func:`sklearn_latent.metrics.mutual_information_gap`.

    Parameters
    ----------
    n_samples : int, default=5000
        Number of images.
    image_size : int, default=20
        Height and width of the square images, in pixels (at least 8).
    random_state : int, RandomState instance or None, default=None
        Seeds the factors.

    Returns
    -------
    X : ndarray of shape (n_samples, image_size * image_size)
        Flattened float32 images with values in [0, 1]; use
        ``image_shape=(1, image_size, image_size)`` for convolutional nets.
    factors : ndarray of shape (n_samples, 5)
        The factors, in the order of ``SHAPES_FACTOR_NAMES``: ``shape`` (0
        ellipse, 1 rectangle, 2 diamond), ``width`` (half-width in pixels,
        uniform on [0.15, 0.35] * image_size), ``aspect`` (uniform on
        [0.6, 1.3]), ``thickness`` (stroke width in pixels, uniform on
        [0.05, 0.15] * image_size) and ``height`` (half-height in pixels,
        ``width * aspect``).

    Examples
    --------
    >>> from sklearn_latent.datasets import make_shapes
    >>> X, factors = make_shapes(n_samples=4, image_size=16, random_state=0)
    >>> X.shape, factors.shape
    ((4, 256), (4, 5))
    """
    if image_size < 8:
        raise ValueError(
            f"image_size must be at least 8 pixels to draw an outline; got {image_size}."
        )
    rng = check_random_state(random_state)
    shape = rng.randint(3, size=n_samples)
    width = rng.uniform(0.15, 0.35, n_samples) * image_size
    aspect = rng.uniform(0.6, 1.3, n_samples)
    thickness = rng.uniform(0.05, 0.15, n_samples) * image_size
    height = width * aspect

    centre = (image_size - 1) / 2
    y, x = np.mgrid[:image_size, :image_size] - centre
    a, b = width[:, None, None], height[:, None, None]
    x, y = np.abs(x)[None], np.abs(y)[None]
    # Signed distance to the outline, to first order: (f - 1) / |grad f| for
    # the shape's level function f, which is 1 on the outline.
    ellipse = np.hypot(x / a, y / b)
    ellipse_gradient = np.hypot(x / a**2, y / b**2) / np.maximum(ellipse, 1e-6)
    box = np.maximum(x / a, y / b)
    box_gradient = np.where(x / a >= y / b, 1 / a, 1 / b)
    diamond = x / a + y / b
    diamond_gradient = np.hypot(1 / a, 1 / b)
    distance = np.select(
        [shape[:, None, None] == 0, shape[:, None, None] == 1],
        [
            (ellipse - 1) / np.maximum(ellipse_gradient, 1e-6),
            (box - 1) / box_gradient,
        ],
        (diamond - 1) / diamond_gradient,
    )
    # A pixel is inked where it lies within half the stroke of the outline,
    # with a one-pixel linear ramp for anti-aliasing.
    ink = np.clip(thickness[:, None, None] / 2 - np.abs(distance) + 0.5, 0.0, 1.0)
    X = ink.reshape(n_samples, -1).astype(np.float32)
    factors = np.column_stack([shape, width, aspect, thickness, height])
    return X, factors
