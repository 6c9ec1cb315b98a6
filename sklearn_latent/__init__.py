"""Deep latent-variable clustering models as scikit-learn estimators."""

from ._clustergan import ClusterGANClustering
from ._dec import DECClustering
from ._gmvae import GMVAEClustering
from ._infogan import InfoGANClustering
from ._trainer import FitInterruptedWarning, TrainingDivergedError
from ._vade import VaDEClustering

__all__ = [
    "ClusterGANClustering",
    "DECClustering",
    "FitInterruptedWarning",
    "GMVAEClustering",
    "InfoGANClustering",
    "TrainingDivergedError",
    "VaDEClustering",
]
__version__ = "0.1.0"
