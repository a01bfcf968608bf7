"""What ``inspectd bench`` does: fit a bank, run the fast and reference paths interleaved, print the table."""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import cv2
import faiss
import numpy as np
import torch

from inspectd.bench.floor import backbone_flops, cpu_summary, matmul_gflops
from inspectd.bench.frames import REFIT_GOLDENS, BenchData, load_bench_data
from inspectd.bench.memory import loaded_banks_rss, peak_rss_mb
from inspectd.bench.reference import NchwBackbone, anomalib_status, reference_bank, reference_detector
from inspectd.bench.report import Row, format_table
from inspectd.bench.stages import STAGES, BatchTiming, run_batch
from inspectd.detector.backbone import get_backbone
from inspectd.detector.bank import Bank, BankStore
from inspectd.detector.detector import Detector
from inspectd.detector.fit import fit_bank
from inspectd.detector.settings import DetectorSettings

Section = tuple[str, list[Row]]


def run_bench(images: Path, shots: int, batch: int, settings: DetectorSettings, frame_count: int,
              bank_count: int, threads: int, echo: Callable[[str], None] = print) -> list[Section]:
    """Measure ``settings`` (the fast path) against the reference; print and return the table's sections.

    torch, faiss and OpenCV use ``threads`` threads on both paths.
    """
    set_threads(threads)
    size = settings.input_size
    data = load_bench_data(images, shots, frame_count)
    echo(f"cpu: {cpu_summary()}; load average {os.getloadavg()[0]:.1f} at start "
         f"(wall times include waiting for the CPU; CPU-time rows do not)")
    backbone_run = "frozen oneDNN graph" if settings.precision == "float32" else "eager under autocast"
    echo(f"data: {images} ({shots}-shot bank, {frame_count} frames), {size} px, batch {batch}; "
         f"fast = {settings.precision} ({backbone_run}, channels-last, BN folded), search {settings.search}, "
         f"batched; reference = float32 eager NCHW, exact faiss search, unbatched")
    echo(anomalib_status())
    reference_backbone = NchwBackbone(settings)
    banks = {"fast": fit_bank(data.golden_images, settings),
             "reference": reference_bank(data.golden_images, settings, reference_backbone)}
    fast, reference = Detector(banks["fast"]), reference_detector(banks["reference"], reference_backbone)
    for detector in (fast, reference):
        run_batch(detector, data.frames[:1])  # warm-up: first-call allocations, oneDNN kernel choice
    sections = [*_latency(fast, reference, data.frames, size),
                _throughput(fast, reference, data.frames, batch),
                _refit(data, settings, reference_backbone),
                _memory(banks, bank_count),
                _floor(fast, size)]
    echo(format_table(sections))
    return sections


def _latency(fast: Detector, reference: Detector, frames: list[bytes], size: int) -> list[Section]:
    """Batch 1, fast and reference alternating frame by frame (so load on the machine hits both)."""
    timings: dict[str, list[BatchTiming]] = {"fast": [], "reference": []}
    for i, frame in enumerate(frames):
        order = (("fast", fast), ("reference", reference))
        for name, detector in order if i % 2 == 0 else order[::-1]:
            timings[name].append(run_batch(detector, [frame]))
    stage_rows = [Row(stage, *(_median([t.stage_ms.get(stage, 0.0) for t in timings[n]])
                               for n in ("fast", "reference")), "ms") for stage in STAGES]
    target = "<= 15 ms (224 px, 4-shot)" if size == 224 else ""
    totals = {name: [t.total_ms for t in runs] for name, runs in timings.items()}
    cpu = {name: [t.cpu_ms for t in runs] for name, runs in timings.items()}
    end_to_end = [
        Row("p50 per frame", _median(totals["fast"]), _median(totals["reference"]), "ms", target=target),
        Row("p99 per frame", float(np.percentile(totals["fast"], 99)),
            float(np.percentile(totals["reference"], 99)), "ms"),
        Row("p50 CPU time per frame", _median(cpu["fast"]), _median(cpu["reference"]), "ms", target=target),
    ]
    return [("stages, batch 1 (median per frame)", stage_rows), ("end to end, batch 1", end_to_end)]


def _throughput(fast: Detector, reference: Detector, frames: list[bytes], batch: int) -> Section:
    """Fast path in batches of ``batch``; reference one frame at a time; chunk by chunk, interleaved."""
    run_batch(fast, frames[:batch])  # warm-up at this batch size
    wall = {"fast": 0.0, "reference": 0.0}
    cpu = {"fast": 0.0, "reference": 0.0}
    for start in range(0, len(frames), batch):
        chunk = frames[start:start + batch]
        runs = {"fast": [run_batch(fast, chunk)], "reference": [run_batch(reference, [f]) for f in chunk]}
        for name, timed in runs.items():
            wall[name] += sum(t.total_ms * t.frames for t in timed) / 1000.0
            cpu[name] += sum(t.cpu_ms * t.frames for t in timed) / 1000.0
    target = ">= 100 (224 px, 4-shot)"
    return (f"sustained, fast in batches of {batch}", [
        Row("frames per second", len(frames) / wall["fast"], len(frames) / wall["reference"], "frames/s",
            higher_is_better=True, target=target),
        Row("frames per CPU second", len(frames) / cpu["fast"], len(frames) / cpu["reference"], "frames/s",
            higher_is_better=True, target=target)])


def _refit(data: BenchData, settings: DetectorSettings, reference_backbone: NchwBackbone) -> Section:
    """Fit seconds for 1 and 8 golden images, each with the configured augmented copies."""
    copies = len(settings.augmentations.angles())
    rows = []
    for count in REFIT_GOLDENS:
        goldens = data.refit_images[:count]
        fast = _seconds(lambda: fit_bank(goldens, settings))
        reference = _seconds(lambda: reference_bank(goldens, settings, reference_backbone))
        target = "<= 5 s" if count == 8 and copies == 8 else ""
        rows += [Row(f"{count} golden", fast[0], reference[0], "s", target=target),
                 Row(f"{count} golden, CPU time", fast[1], reference[1], "s", target=target)]
    return (f"refit, {copies} rotations per golden (issue's target: 8 goldens x 8 rotations)", rows)


def _memory(banks: dict[str, Bank], bank_count: int) -> Section:
    """Each path's bank written as ``bank_count`` products, loaded together in a fresh process."""
    measured = {}
    with tempfile.TemporaryDirectory(prefix="inspectd-bench-") as folder:
        store = BankStore(Path(folder))
        for name, bank in banks.items():
            paths = [store.write(f"{name}{i:02d}", bank) for i in range(bank_count)]
            measured[name] = loaded_banks_rss(paths, reference=name == "reference")
    memory = banks["fast"].memory
    return (f"memory, {bank_count} product banks ({memory.shape[0]} x {memory.shape[1]}) in a fresh process", [
        Row("RSS per product bank", measured["fast"][1], measured["reference"][1], "MiB"),
        Row(f"RSS, backbone + {bank_count} banks", measured["fast"][0] + bank_count * measured["fast"][1],
            measured["reference"][0] + bank_count * measured["reference"][1], "MiB"),
        Row("peak RSS of the bench process", peak_rss_mb(), None, "MiB"),
    ])


def _floor(fast: Detector, size: int) -> Section:
    flops = backbone_flops(get_backbone(fast.settings.backbone, fast.settings.weights_path), size)
    bf16, fp32 = matmul_gflops(torch.bfloat16), matmul_gflops(torch.float32)
    return (f"floor: backbone {flops / 1e9:.3f} GFLOP per frame at {size} px", [
        Row("matmul rate bf16 | fp32", bf16, fp32, "GFLOP/s", higher_is_better=True),
        Row("backbone at that rate", flops / bf16 / 1e6, flops / fp32 / 1e6, "ms"),
    ])


def bench_settings(size: int | None, precision: str | None, rotations: int | None) -> DetectorSettings:
    """The detector's defaults with the bench's overrides (None keeps the default)."""
    defaults = DetectorSettings()
    changes = {"input_size": size, "precision": precision,
               "augmentations": None if rotations is None else replace(defaults.augmentations, rotations=rotations)}
    return replace(defaults, **{key: value for key, value in changes.items() if value is not None})


def set_threads(threads: int) -> None:
    """One intra-op thread count for torch, faiss (OpenMP) and OpenCV."""
    torch.set_num_threads(threads)
    faiss.omp_set_num_threads(threads)
    cv2.setNumThreads(threads)


def _seconds(work: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU) seconds that ``work`` took."""
    cpu_started, started = time.process_time(), time.perf_counter()
    work()
    return time.perf_counter() - started, time.process_time() - cpu_started


def _median(values: list[float]) -> float:
    return float(np.median(values))
