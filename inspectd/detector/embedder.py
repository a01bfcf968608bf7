"""Graph embedder on CNN patch features (METHOD.md section 3).

Nodes are one image's patch vectors; each node's edges go to its k nearest neighbours in feature
space. One max-relative graph convolution with fixed parameters: h_i' = [h_i, w * max_j (h_j - h_i)].
The relative term describes what a patch looks like next to the patches most similar to it, which
does not depend on where in the image (or at what angle) they lie.
"""

from __future__ import annotations

import numpy as np
import torch

from inspectd.detector.settings import EmbedderSettings


def embed(patch_features: np.ndarray, settings: EmbedderSettings) -> np.ndarray:
    """[B, h, w, D] -> [B, h, w, D'] (unchanged when the embedder is disabled)."""
    if not settings.enabled:
        return patch_features
    batch, height, width, dim = patch_features.shape
    nodes = torch.from_numpy(patch_features).reshape(batch, height * width, dim)
    with torch.inference_mode():
        k = min(settings.k + 1, height * width)
        neighbours = torch.cdist(nodes, nodes).topk(k, dim=2, largest=False).indices[:, :, 1:]
        gathered = torch.gather(nodes.unsqueeze(1).expand(-1, height * width, -1, -1), 2,
                                neighbours.unsqueeze(-1).expand(-1, -1, -1, dim))
        relative = (gathered - nodes.unsqueeze(2)).amax(dim=2) * settings.relative_weight
        embedded = torch.cat([nodes, relative], dim=2)
    return np.ascontiguousarray(embedded.reshape(batch, height, width, 2 * dim).numpy())
