"""SimpleNet baseline (Liu et al., CVPR 2023), trained at fit time on the golden images' patch features.

The paper's parts, on the harness's raw patch vectors (same backbone, input and pooling as PatchCore and PaDiM):
a feature adaptor (one linear layer, identity-initialised here), anomalous features made by adding Gaussian
noise to adapted normal ones, and a discriminator (linear, batch norm, leaky ReLU, linear) trained with the
truncated L1 loss  max(0, th - D(normal)) + max(0, th + D(noised))  with th = 0.5, under Adam (the paper's
learning rates and weight decay). A patch's anomaly score is -D(adaptor(patch)).

Two departures, both forced by the few-shot CPU setting:
- Training runs a fixed number of steps on random batches of golden patches instead of the paper's 160
  epochs over a full training set: the cost is then the same at 1 and 8 goldens (a few seconds on one core).
  A wall-clock cap stops a run that overruns on a loaded machine; such a run is logged and no longer
  reproducible, otherwise the scores are the same for the same seed.
- The paper's noise level (sigma = 0.015) belongs to its WideResNet features' scale and to a full training
  set, whose patches lie close together. The patch vectors are divided by their per-dimension spread over the
  goldens (one scalar, so directions are untouched) and the noise is NOISE_STD on that unit scale: a noise
  vector of length 0.3 * sqrt(152) = 3.7, about the median distance (2.7 on bottle at 2 shots) from one
  golden's patches to their nearest patch of another, i.e. how far a new good patch lies from what a few
  goldens show. On bottle at 1-2 shots, 0.05 gave image AUROC 0.83-0.91, 0.15 and 0.3 0.98-1.0; on screw
  and fryum (1-2 shots) the choice moved AUROC by at most 0.05 (sweep over 0.05-0.6, development
  categories only; tire, juice_bottle and magnetic_tile were not looked at).
"""

from __future__ import annotations

import logging
import time

import numpy as np
import torch
from torch import nn

log = logging.getLogger(__name__)

NOISE_STD = 0.3  # on the unit per-dimension scale (module docstring)
MARGIN = 0.5  # th of the truncated L1 loss
HIDDEN = 256  # discriminator width
STEPS = 200
BATCH = 256  # normal patches per step; as many noised ones
ADAPTOR_LR = 1e-4
DISCRIMINATOR_LR = 2e-4
WEIGHT_DECAY = 1e-5
TIME_CAP_SECONDS = 60.0


class SimpleNet:
    """Adaptor and discriminator trained on one set of golden patch features."""

    def __init__(self, golden_features: np.ndarray, seed: int, steps: int = STEPS,
                 time_cap_seconds: float = TIME_CAP_SECONDS) -> None:
        """golden_features: [N, h, w, D] (no augmentation, no embedder)."""
        patches = torch.tensor(golden_features.reshape(-1, golden_features.shape[-1]), dtype=torch.float32)
        self.scale = float(patches.std(0).pow(2).mean().sqrt().clamp_min(1e-6))
        patches = patches / self.scale
        dim = patches.shape[1]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.adaptor = nn.Linear(dim, dim)
            nn.init.eye_(self.adaptor.weight)
            nn.init.zeros_(self.adaptor.bias)
            self.discriminator = nn.Sequential(nn.Linear(dim, HIDDEN), nn.BatchNorm1d(HIDDEN), nn.LeakyReLU(0.2),
                                               nn.Linear(HIDDEN, 1))
            self.steps_trained = self._train(patches, steps, time_cap_seconds)
        self.adaptor.eval()
        self.discriminator.eval()

    def _train(self, patches: torch.Tensor, steps: int, time_cap_seconds: float) -> int:
        optimiser = torch.optim.Adam([
            {"params": self.adaptor.parameters(), "lr": ADAPTOR_LR},
            {"params": self.discriminator.parameters(), "lr": DISCRIMINATOR_LR},
        ], weight_decay=WEIGHT_DECAY)
        batch = min(BATCH, len(patches))
        started = time.perf_counter()
        for step in range(steps):
            if time.perf_counter() - started > time_cap_seconds:
                log.warning("SimpleNet training stopped by the %.0f s cap after %d of %d steps (not reproducible)",
                            time_cap_seconds, step, steps)
                return step
            normal = self.adaptor(patches[torch.randint(len(patches), (batch,))])
            noised = normal + NOISE_STD * torch.randn_like(normal)
            scores = self.discriminator(torch.cat([normal, noised]))[:, 0]
            loss = (torch.clamp(MARGIN - scores[:batch], min=0).mean()
                    + torch.clamp(MARGIN + scores[batch:], min=0).mean())
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        return steps

    def patch_scores(self, features: np.ndarray) -> np.ndarray:
        """[B, h, w, D] -> [B, h, w] anomaly scores, -D(adaptor(patch))."""
        batch, height, width, dim = features.shape
        patches = torch.tensor(features.reshape(-1, dim), dtype=torch.float32) / self.scale
        with torch.inference_mode():
            scores = -self.discriminator(self.adaptor(patches))[:, 0]
        return scores.numpy().reshape(batch, height, width)
