"""The floor: the backbone's FLOPs at the input size over this CPU's measured matmul rate."""

from __future__ import annotations

import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from inspectd.detector.backbone import FeatureBackbone

MATMUL_SIZE = 1024


def backbone_flops(backbone: FeatureBackbone, size: int) -> int:
    """FLOPs of one frame through the backbone's two feature stages (multiply-add = 2).

    Counted on the eager module: the counter does not see inside a TorchScript graph.
    """
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        backbone.extract(torch.zeros(1, 3, size, size).contiguous(memory_format=torch.channels_last))
    return counter.get_total_flops()


def matmul_gflops(dtype: torch.dtype, repeats: int = 20) -> float:
    """Best observed rate of a square matmul in ``dtype`` on all of torch's threads."""
    a = torch.randn(MATMUL_SIZE, MATMUL_SIZE).to(dtype)
    b = torch.randn(MATMUL_SIZE, MATMUL_SIZE).to(dtype)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - started)
    return 2 * MATMUL_SIZE**3 / best / 1e9


def cpu_summary() -> str:
    """Model name and the vector/matrix extensions that matter here (from /proc/cpuinfo)."""
    model, flags = "unknown CPU", set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            model = value.strip()
        elif key.strip() == "flags":
            flags = set(value.split())
    wanted = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile")
    present = [flag for flag in wanted if flag in flags]
    absent = [flag for flag in wanted if flag not in flags]
    return (f"{model}, {torch.get_num_threads()} threads; has {' '.join(present) or '-'}; "
            f"lacks {' '.join(absent) or '-'}")
