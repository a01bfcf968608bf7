"""PaDiM baseline: one Gaussian per patch position over the golden images' patch features."""

from __future__ import annotations

import numpy as np
import torch

REGULARISATION = 0.01


class Padim:
    def __init__(self, golden_features: np.ndarray) -> None:
        """golden_features: [N, h, w, D] (no augmentation, no embedder)."""
        features = torch.from_numpy(golden_features).double()
        self.mean = features.mean(0)
        centred = features - self.mean
        count = max(len(features) - 1, 1)
        covariance = torch.einsum("nhwi,nhwj->hwij", centred, centred) / count
        covariance += REGULARISATION * torch.eye(features.shape[-1], dtype=torch.float64)
        self.precision = torch.linalg.inv(covariance)

    def patch_scores(self, features: np.ndarray) -> np.ndarray:
        """[B, h, w, D] -> [B, h, w] Mahalanobis distances."""
        centred = torch.from_numpy(features).double() - self.mean
        squared = torch.einsum("bhwi,hwij,bhwj->bhw", centred, self.precision, centred)
        return squared.clamp_min(0).sqrt().float().numpy()
