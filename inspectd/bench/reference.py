"""The baseline: the straightforward float32 PyTorch path of the same model and the same bank.

NCHW tensors, BatchNorm not folded, float32 throughout, exact faiss search, the anomaly map smoothed
at full input resolution, one frame at a time. Only the backbone differs from the library's own
float32 path (which runs channels-last with BN folded), so it is built here from the plugin directly.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from inspectd import plugin_registry
from inspectd.detector.backbone import FeatureBackbone
from inspectd.detector.bank import Bank
from inspectd.detector.detector import Detector
from inspectd.detector.fit import fit_bank
from inspectd.detector.settings import DetectorSettings


class NchwBackbone:
    """A freshly loaded backbone plugin run as-is: contiguous NCHW, unfolded BatchNorm (a FeatureBackbone by
    duck typing: what fit_bank and Detector use of one)."""

    def __init__(self, settings: DetectorSettings) -> None:
        plugin: FeatureBackbone = plugin_registry.load("backbones", settings.backbone)(settings.weights_path)
        plugin.net.to(memory_format=torch.contiguous_format)
        self.plugin = plugin
        self.name, self.channels = plugin.name, plugin.channels
        self.mean, self.std, self.weights_sha256 = plugin.mean, plugin.std, plugin.weights_sha256

    def __call__(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.inference_mode():
            return self.plugin.extract(batch.contiguous())


def reference_bank(golden_images: list[np.ndarray], settings: DetectorSettings, backbone: NchwBackbone) -> Bank:
    """``fit_bank`` on the reference path: float32, exact search, features from the NCHW backbone."""
    return fit_bank(golden_images, replace(settings, precision="float32", search="exact"), backbone)


def reference_detector(bank: Bank, backbone: NchwBackbone) -> Detector:
    """A detector on a ``reference_bank``, its features taken from the NCHW backbone."""
    detector = Detector(bank)
    detector.backbone = backbone
    return detector
