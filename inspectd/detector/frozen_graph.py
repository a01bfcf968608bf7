"""The backbone's float32 feature extraction as a frozen TorchScript graph optimised for inference.

``torch.jit.optimize_for_inference`` hands the convolutions to oneDNN with pre-packed weights and
fuses the elementwise ops that follow them: the same float32 function (measured: within 1e-4 of
the eager module) in less than half the CPU time of the eager channels-last module at batch 1. The
trace holds no shape-dependent Python, so one graph serves every batch size and input shape.
Autocast does not reach into it; the bfloat16 path keeps running the eager module.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import torch

from inspectd.detector.batchnorm_folding import Traced

if TYPE_CHECKING:
    from inspectd.detector.backbone import FeatureBackbone

EXAMPLE_SIZE = 64


def frozen_graph(backbone: FeatureBackbone) -> torch.jit.ScriptModule:
    example = torch.zeros(1, 3, EXAMPLE_SIZE, EXAMPLE_SIZE).contiguous(memory_format=torch.channels_last)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", FutureWarning)  # optimize_for_inference: "use torch.compile"
        traced = torch.jit.trace(Traced(backbone.net, backbone.extract).eval(), example)
        return torch.jit.optimize_for_inference(torch.jit.freeze(traced))
