"""The backbone interface, weight loading and a per-process cache of backbones.

A backbone plugin is a ``FeatureBackbone`` subclass registered under the
``inspectd.backbones`` entry-point group; it returns the stride-8 and stride-16
feature maps of a normalised NCHW float batch.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import torch
from torch import nn

from inspectd import plugin_registry
from inspectd.detector.batchnorm_folding import fold_batchnorm
from inspectd.detector.frozen_graph import frozen_graph


# The float32 graph runs a batch in chunks of about this many input pixels: a whole batch of 8 frames takes
# 1.6x (224 px) to 2.4x (320 px) the CPU time per frame of chunks of 2-4, whose activations stay in cache
# (benchmarks/backbone_chunks.py, docs/performance.md). 4 frames at 224 px, 2 at 320, 1 from 453 px.
GRAPH_CHUNK_PIXELS = 2 * 320 * 320


class BackboneError(RuntimeError):
    """A backbone or its weights could not be loaded."""


class FeatureBackbone:
    """Frozen CNN returning (stride-8, stride-16) feature maps.

    Subclasses set ``name``, ``channels``, ``mean``, ``std``, ``weights_sha256`` and
    ``self.net`` before calling ``super().__init__()``, and implement ``extract``.
    """

    name: str
    channels: tuple[int, int]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    weights_sha256: str
    net: nn.Module

    def __init__(self) -> None:
        self.net.eval().requires_grad_(False)
        self.net.to(memory_format=torch.channels_last)
        self.graph: torch.jit.ScriptModule | None = None  # float32 inference graph, set by get_backbone

    def extract(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def __call__(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.inference_mode():
            batch = batch.contiguous(memory_format=torch.channels_last)
            if self.graph is None or torch.is_autocast_enabled("cpu"):
                return self.extract(batch)
            chunk = max(1, GRAPH_CHUNK_PIXELS // (batch.shape[2] * batch.shape[3]))
            if len(batch) <= chunk:
                return self.graph(batch)
            parts = [self.graph(batch[first:first + chunk]) for first in range(0, len(batch), chunk)]
            return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_state_dict_checked(path: Path, expected_sha256: str | None) -> tuple[dict, str]:
    """Load a state dict with ``weights_only=True``; verify its sha256 when one is expected."""
    if not path.is_file():
        raise BackboneError(f"backbone weights file not found: {path}")
    actual = sha256_file(path)
    if expected_sha256 is not None and actual != expected_sha256:
        raise BackboneError(f"backbone weights {path} have sha256 {actual}, expected {expected_sha256}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a bad file
        raise BackboneError(f"cannot read backbone weights {path}: {exc}") from exc
    return state, actual


_cache: dict[tuple[str, str | None], FeatureBackbone] = {}
_cache_lock = threading.Lock()


def get_backbone(name: str, weights_path: str | None = None) -> FeatureBackbone:
    """The shared backbone for (name, weights): ten products on one backbone load it once."""
    key = (name, str(weights_path) if weights_path else None)
    with _cache_lock:
        if key not in _cache:
            try:
                factory = plugin_registry.load("backbones", name)
            except plugin_registry.PluginNotFound as exc:
                raise BackboneError(str(exc)) from exc
            backbone = factory(weights_path)
            fold_batchnorm(backbone.net, backbone.extract)  # same function, one pass fewer per conv
            backbone.graph = frozen_graph(backbone.net, backbone.extract)  # the same float32 function, run by oneDNN
            _cache[key] = backbone
        return _cache[key]
