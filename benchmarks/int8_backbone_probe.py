"""Probe: the Lite0 backbone statically quantized to int8 (torch FX, x86 backend) against the float32 graph.

    OMP_NUM_THREADS=1 python benchmarks/int8_backbone_probe.py [--size 224] [--calibration 8] [--variant V]

Calibrates the quantization on bottle's first train images, then prints ms per frame at batch 1 for the
fast path's float32 graph and the traced int8 module, and each stage's relative feature error
||int8 - float32|| / ||float32|| on a held-back image (docs/performance.md, "Tried and not adopted").
Variants: ``x86`` torch's default x86 mapping; ``histogram`` / ``minmax`` that activation observer
without reduced range; ``pointwise`` depthwise convolutions left in float32; ``stem`` only the stem
convolution quantized.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import torch
from torch.ao.quantization import QConfig, QConfigMapping, get_default_qconfig_mapping
from torch.ao.quantization.observer import HistogramObserver, MinMaxObserver, PerChannelMinMaxObserver
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

from inspectd.detector.backbone import get_backbone
from inspectd.detector.batchnorm_folding import Traced
from inspectd.detector.features import resize_to, to_batch
from inspectd.images import read_rgb

IMAGES = Path(__file__).resolve().parents[2] / "shared" / "data" / "mvtec_ad" / "bottle" / "train" / "good"


def qconfig_mapping(variant: str, net: torch.nn.Module) -> QConfigMapping:
    weights = PerChannelMinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_channel_symmetric)
    full_range = QConfig(activation=HistogramObserver.with_args(reduce_range=False), weight=weights)
    if variant == "x86":
        return get_default_qconfig_mapping("x86")
    if variant == "minmax":
        return QConfigMapping().set_global(QConfig(activation=MinMaxObserver.with_args(reduce_range=False),
                                                   weight=weights))
    if variant == "stem":
        return QConfigMapping().set_module_name("net._conv_stem", full_range)
    mapping = get_default_qconfig_mapping("x86").set_global(full_range)
    if variant == "pointwise":
        for name, module in net.named_modules():
            if isinstance(module, torch.nn.Conv2d) and module.groups > 1:
                mapping.set_module_name(f"net.{name}", None)
    return mapping


def ms_per_call(function, batch: torch.Tensor, repeats: int = 50) -> float:
    with torch.inference_mode():
        for _ in range(5):
            function(batch)
        started = time.perf_counter()
        for _ in range(repeats):
            function(batch)
    return (time.perf_counter() - started) * 1000.0 / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--calibration", type=int, default=8, help="images the activation ranges are observed on")
    parser.add_argument("--variant", choices=("x86", "histogram", "minmax", "pointwise", "stem"), default="x86")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    torch.backends.quantized.engine = "x86"
    backbone = get_backbone("efficientnet_lite0")
    files = sorted(IMAGES.iterdir())[:args.calibration + 1]
    batch = to_batch([resize_to(read_rgb(f), (args.size, args.size)) for f in files], backbone)
    calibration, held_back = batch[:-1], batch[-1:]
    prepared = prepare_fx(Traced(backbone.net, backbone.extract).eval(),
                          qconfig_mapping(args.variant, backbone.net), (held_back,))
    with torch.no_grad():
        prepared(calibration)
        quantized = torch.jit.freeze(torch.jit.trace(convert_fx(prepared), held_back))
    held_back = held_back.contiguous(memory_format=torch.channels_last)
    print(f"float32 graph {ms_per_call(backbone.graph, held_back):.2f} ms, int8 {ms_per_call(quantized, held_back):.2f} ms")
    with torch.inference_mode():
        reference, approximate = backbone.graph(held_back), quantized(held_back)
    for name, exact, approx in zip(("stride 8", "stride 16"), reference, approximate):
        print(f"{name}: relative error {float((approx - exact).norm() / exact.norm()):.3f}")


if __name__ == "__main__":
    main()
