"""Patch vector length compression (features.compress_magnitude) on real Lite0 features of a real image,
and what a bank records of it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.nn import functional

from inspectd.detector.backbone import get_backbone
from inspectd.detector.bank import fitted_settings
from inspectd.detector.features import compress_magnitude, resize_to, to_batch
from inspectd.detector.fit import fit_bank
from inspectd.detector.settings import NO_AUGMENTATION, DetectorSettings
from inspectd.images import image_files, read_rgb


@pytest.fixture(scope="module")
def pooled_stages(data_root: Path) -> list[torch.Tensor]:
    image = read_rgb(image_files(data_root / "kolektorsdd" / "commutator" / "train" / "good")[0])
    backbone = get_backbone("efficientnet_lite0")
    with torch.inference_mode():
        stages = backbone(to_batch([resize_to(image, (256, 96))], backbone))
    return [functional.avg_pool2d(stage.float(), 3, stride=1, padding=1) for stage in stages]


@pytest.mark.parametrize("power", [0.25, 0.5, 1.0])
def test_lengths_are_compressed_and_directions_kept(pooled_stages: list[torch.Tensor], power: float) -> None:
    for stage in pooled_stages:
        compressed = compress_magnitude(stage, power)
        length, new_length = (torch.linalg.vector_norm(t, dim=1) for t in (stage, compressed))
        assert float(length.max() / length.min()) > 2  # real patches differ in length, so the test can fail
        torch.testing.assert_close(new_length, length ** (1 - power), rtol=1e-4, atol=1e-6)
        cosine = functional.cosine_similarity(stage, compressed, dim=1)
        torch.testing.assert_close(cosine, torch.ones_like(cosine), rtol=0, atol=1e-5)


def test_channels_last_stages_are_compressed_bit_for_bit_as_channels_first(pooled_stages: list[torch.Tensor]) -> None:
    """patch_features pools and compresses channels-last (faster); the vectors must not change by a bit."""
    for stage in pooled_stages:
        channels_last = stage.contiguous(memory_format=torch.channels_last)
        assert not channels_last.is_contiguous()  # the layouts differ, so the sums over channels could round apart
        assert torch.equal(compress_magnitude(channels_last, 0.5), compress_magnitude(stage.contiguous(), 0.5))


def test_power_zero_leaves_patchcore_vectors_as_they_are(pooled_stages: list[torch.Tensor]) -> None:
    assert all(compress_magnitude(stage, 0.0) is stage for stage in pooled_stages)


def test_bank_records_the_power_and_older_banks_read_as_raw_vectors(data_root: Path) -> None:
    image = read_rgb(image_files(data_root / "mvtec_ad" / "bottle" / "train" / "good")[0])
    settings = DetectorSettings(input_size=96, augmentations=NO_AUGMENTATION, feature_norm_power=0.25)
    bank = fit_bank([image], settings)
    assert bank.settings.feature_norm_power == 0.25
    older = dict(bank.manifest, settings={k: v for k, v in bank.manifest["settings"].items()
                                          if k != "feature_norm_power"})
    assert fitted_settings(older).feature_norm_power == 0.0  # fitted before the setting existed: raw vectors
    assert DetectorSettings().feature_norm_power == 0.5


def test_power_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="feature_norm_power must be in"):
        DetectorSettings().with_overrides({"feature_norm_power": 1.5})
