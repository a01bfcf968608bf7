"""The issue's second baseline: anomalib's PatchCore on the same backbone module, bank and input tensors.

anomalib's torch ``PatchcoreModel`` (no Lightning trainer) is built with ``pre_trained=False`` around
a freshly loaded backbone plugin (its own FX feature extractor over our module, so the weights are
ours and nothing downloads), and its ``memory_bank`` is set to the bank inspectd fitted. Its patch
embedding (3x3 average pool per stage, stride-16 grid bilinearly resampled to stride 8, concatenated)
is the one inspectd uses; a forward hook on its pooling layer compresses each pooled patch vector's
length as inspectd does (``compress_magnitude``, a per-patch division), so the bank's rows are searched
as they are. Frames are decoded and normalised by inspectd's code, then scored by anomalib's
``forward`` (feature extraction, exact ``torch.matmul`` nearest neighbour, its 9-neighbour re-weighted
image score, its map: nearest-neighbour upsampling and a 33 x 33 Gaussian, sigma 4); its score and map
then go through inspectd's defect regions (found on the input-size map, scaled to the frame), so the
end-to-end figures differ only in the model. The bench runs it twice: on the fast path's bank (the same search
at the same input), and on a bank of its own plain setting (``plain_settings``: what a user of anomalib gets).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import time
import warnings
from dataclasses import replace

import numpy as np
import torch

from inspectd.bench.reference import NchwBackbone
from inspectd.detector.bank import Bank
from inspectd.detector.detector import Detector
from inspectd.detector.features import compress_magnitude, resize_to, to_batch
from inspectd.detector.settings import AugmentationSet, DetectorSettings
from inspectd_plugins.backbones.efficientnet_lite import EfficientNetLite0, feature_blocks, scaled_stages

# Lite0's stride-8 and stride-16 stages as FX node names of the plugin's ``net`` (the bench's only backbone).
LAYERS = tuple(f"_blocks.{block}" for block in feature_blocks(scaled_stages(EfficientNetLite0.width, EfficientNetLite0.depth)))


def plain_settings() -> DetectorSettings:
    """anomalib's PatchCore as a user gets it, on inspectd's backbone: a square 224 px input, the goldens
    alone (no rotated or brightened copies), raw patch vectors (no length compression), a 10 % coreset (its
    ``coreset_sampling_ratio``), no outline, pose alignment or presence check."""
    defaults = DetectorSettings()
    return replace(defaults, input_size=224, keep_aspect=False, feature_norm_power=0.0, coreset=0.1,
                   augmentations=AugmentationSet(rotations=1, gains=()), part_outline="off", pose="off")


def anomalib_version() -> str | None:
    """The installed anomalib's version, or None when it is not installed (the project's venv)."""
    if importlib.util.find_spec("anomalib") is None:
        return None
    return importlib.metadata.version("anomalib")


class AnomalibPatchcore(Detector):
    """A Detector whose features, search and map are anomalib's ``PatchcoreModel``; decode, resize,
    normalisation and the defect regions stay inspectd's. Stage times come from hooks on
    anomalib's submodules, so its ``forward`` runs unmodified."""

    def __init__(self, bank: Bank) -> None:
        if bank.settings.embedder.enabled:
            raise ValueError("anomalib's PatchCore has no graph embedder: its features cannot search this bank")
        # the bank's settings, threshold and input shape; anomalib's PatchCore has no presence check, so its
        # model is measured as it is
        super().__init__(bank, presence_check=False)
        with warnings.catch_warnings():  # anomalib's package import warns about its other models' deprecations
            warnings.simplefilter("ignore", FutureWarning)
            from anomalib.models.image.patchcore.torch_model import PatchcoreModel
        self.backbone = NchwBackbone(self.settings)
        self.model = PatchcoreModel(layers=LAYERS, backbone=self.backbone.plugin.net,
                                    pre_trained=False).eval()
        self.model.memory_bank = torch.from_numpy(np.ascontiguousarray(bank.memory, dtype=np.float32))
        self._marks: dict[str, float] = {}
        self.patch_scores = torch.empty(0)  # the last forward's nearest-neighbour distances [B, 1, h, w]
        self.model.feature_extractor.register_forward_hook(lambda *_: self._mark("features"))
        self.model.anomaly_map_generator.register_forward_pre_hook(self._before_map)
        power = self.settings.feature_norm_power
        self.model.feature_pooler.register_forward_hook(lambda _m, _a, pooled: compress_magnitude(pooled, power))

    def _mark(self, name: str) -> None:
        self._marks[name] = time.perf_counter()

    def _before_map(self, _module: torch.nn.Module, args: tuple) -> None:
        self._mark("map")
        self.patch_scores = args[0]

    def embedded_features(self, images: list[np.ndarray], timings: dict[str, float]) -> torch.Tensor:
        """RGB uint8 frames -> the normalised NCHW batch anomalib's model takes (inspectd's preprocessing)."""
        started = time.perf_counter()
        batch = to_batch([resize_to(image, self.input_shape) for image in images], self.backbone)
        timings["preprocess"] = _ms(started, time.perf_counter())
        return batch

    def score_maps(self, batch: torch.Tensor, timings: dict[str, float],
                   scored_cells: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """anomalib's forward -> (its image scores [B], its anomaly maps [B, H, W] at the input shape). anomalib's
        PatchCore scores every cell, so ``scored_cells`` (pose alignment's cells on the frame) is not applied."""
        started = time.perf_counter()
        with torch.inference_mode():  # as anomalib's Lightning predict/test loops run it
            output = self.model(batch)
        finished, marks = time.perf_counter(), self._marks
        timings.update(backbone=_ms(started, marks["features"]), search=_ms(marks["features"], marks["map"]),
                       postprocess=_ms(marks["map"], finished))
        return output.pred_score.numpy(), output.anomaly_map[:, 0].numpy()


def _ms(start: float, end: float) -> float:
    return (end - start) * 1000.0


def patch_score_difference(fast: Detector, baseline: AnomalibPatchcore, images: list[np.ndarray]) -> float:
    """Largest difference between the fast path's and anomalib's patch distances, over the largest distance:
    near 0 (the fast search is exact up to near-ties) shows anomalib searched the same features in the same bank."""
    timings: dict[str, float] = {}
    inputs = fast.input_frames(images)  # both paths take frames at the bank's input shape, as inspect() gives them
    ours = fast.index.patch_scores(fast.embedded_features(inputs, timings))
    baseline.score_maps(baseline.embedded_features(inputs, timings), timings)
    theirs = baseline.patch_scores[:, 0].numpy()
    return float(np.abs(ours - theirs).max() / np.abs(ours).max())
