"""PaDiM baseline: one Gaussian per patch position over the golden images' patch features.

Covariance per position: the sample covariance of n golden vectors plus ``REGULARISATION * I``. With
few goldens (n << D) it is a low-rank update of a scaled identity, so the Mahalanobis distance is
computed exactly through the Woodbury identity with an n x n system per position instead of a D x D
inverse: with Y the [n, D] centred goldens and m = max(n - 1, 1),
    (eps I + Y^T Y / m)^-1 = (I - Y^T (eps m I + Y Y^T)^-1 Y) / eps.
Fitting is then O(h w n^2 D) instead of O(h w D^3), which makes leave-one-out calibration cheap.
"""

from __future__ import annotations

import numpy as np
import torch

REGULARISATION = 0.01


class Padim:
    def __init__(self, golden_features: np.ndarray) -> None:
        """golden_features: [N, h, w, D] (no augmentation, no embedder)."""
        features = torch.tensor(golden_features, dtype=torch.float64)
        count, height, width, dim = features.shape
        self.mean = features.mean(0)
        # centred goldens per position: [h*w, n, D]
        self.centred = (features - self.mean).reshape(count, height * width, dim).transpose(0, 1).contiguous()
        gram = self.centred @ self.centred.transpose(1, 2)  # [h*w, n, n]
        scale = REGULARISATION * max(count - 1, 1)
        gram += scale * torch.eye(count, dtype=torch.float64)
        self.gram_inverse = torch.linalg.inv(gram)

    def patch_scores(self, features: np.ndarray) -> np.ndarray:
        """[B, h, w, D] -> [B, h, w] Mahalanobis distances."""
        batch, height, width, dim = features.shape
        centred = (torch.tensor(features, dtype=torch.float64) - self.mean).reshape(batch, height * width, dim)
        projected = torch.einsum("pnd,bpd->bpn", self.centred, centred)  # Y y per position
        reduction = torch.einsum("bpn,pnm,bpm->bp", projected, self.gram_inverse, projected)
        squared = ((centred * centred).sum(-1) - reduction) / REGULARISATION
        return squared.clamp_min(0).sqrt().float().numpy().reshape(batch, height, width)
