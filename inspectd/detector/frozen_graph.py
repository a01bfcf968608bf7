"""The backbone's float32 feature extraction as a frozen TorchScript graph optimised for inference.

``torch.jit.optimize_for_inference`` hands the convolutions to oneDNN with pre-packed weights and
fuses the elementwise ops that follow them: the same float32 function (measured: within 1e-4 of
the eager module) in less than half the CPU time of the eager channels-last module at batch 1. The
trace holds no shape-dependent Python, so one graph serves every batch size and input shape.
Autocast does not reach into it; the bfloat16 path keeps running the eager module.
"""

from __future__ import annotations

import warnings
from typing import Callable

import torch
from torch import nn

from inspectd.detector.batchnorm_folding import Traced

EXAMPLE_SIZE = 64


def frozen_graph(net: nn.Module, extract: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
                 ) -> torch.jit.ScriptModule:
    """The graph of ``extract`` (a backbone's stride-8 and stride-16 features) over ``net``'s weights."""
    example = torch.zeros(1, 3, EXAMPLE_SIZE, EXAMPLE_SIZE).contiguous(memory_format=torch.channels_last)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", FutureWarning)  # optimize_for_inference: "use torch.compile"
        traced = torch.jit.trace(Traced(net, extract).eval(), example)
        return torch.jit.optimize_for_inference(torch.jit.freeze(traced))
