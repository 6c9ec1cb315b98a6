"""Deep latent-variable clustering models as scikit-learn estimators."""

from ._base import TrainingDivergedError
from ._clustergan import ClusterGANClustering

__all__ = ["ClusterGANClustering", "TrainingDivergedError"]
__version__ = "0.1.0"
