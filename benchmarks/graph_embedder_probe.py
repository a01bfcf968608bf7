"""Probe for issue 28: can a graph embedder fitted on the goldens stand in for most of the 24 rotated copies?

Question: with a small GCN over the patch grid graph, trained at fit time so that a golden patch and its
counterpart in a rotated (or re-lit) copy embed close and different patches apart, does a bank of 4 rotated
copies score as well as the default 24 ("cheaper"), or does the embedder on the 24 copies score better
("better")?

Every variant runs the whole-frame path (pose alignment and the structural check off, as the stream eval
does) so that only the bank's copies and the embedder differ. Variants:
  raw24      the default's 24 rotations, raw patch vectors
  raw4       0/90/180/270 only, raw patch vectors (what dropping copies costs without help)
  gcn4       0/90/180/270, the fitted embedder (trained on all 24 copies' counterparts)
  gcn24      the 24 rotations, the fitted embedder
  res4/24    a residual GCN (identity plus a learned correction, trained to pull counterparts together while
             staying near the identity), so that what the goldens never needed to tell apart is kept
  fixed4/24  the shipped parameter-free max-relative embedder (embedder.enabled=true) at 4 / 24 rotations

python benchmarks/graph_embedder_probe.py --data ../shared/data/mvtec_ad/screw --shots 1,4 --seeds 0 --json out.json
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from inspectd.detector.augment import rotation_matrix
from inspectd.detector.fit import mirrored_cells
from inspectd.detector.registration import STRIDE, grid_centre
from inspectd.detector.settings import DetectorSettings
from inspectd.evaluation import harness
from inspectd.evaluation.dataset import draw_shots, load_category
from inspectd.evaluation.features_cache import FeatureCache
from inspectd.images import read_rgb

VARIANTS = {"raw24": (24, None), "raw4": (4, None), "gcn4": (4, "gcn"), "gcn24": (24, "gcn"),
            "res4": (4, "res"), "res24": (24, "res"), "fixed4": (4, "fixed"), "fixed24": (24, "fixed")}
STEPS, PAIRS, HIDDEN, OUT, TEMPERATURE = 300, 1024, 256, 128, 0.07


def ring_mean(grids: torch.Tensor) -> torch.Tensor:
    """[N, h, w, D] -> the mean of each cell's 8 grid neighbours (edges replicated): the patch graph's messages."""
    x = grids.permute(0, 3, 1, 2)
    padded = F.pad(x, (1, 1, 1, 1), mode="replicate")
    ring = (F.avg_pool2d(padded, 3, stride=1) * 9 - x) / 8
    return ring.permute(0, 2, 3, 1)


class PatchGraphEmbedder(torch.nn.Module):
    """One graph convolution (self and neighbour-mean terms) and a linear read-out, unit-length output."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.self_term = torch.nn.Linear(dim, HIDDEN)
        self.neighbour_term = torch.nn.Linear(dim, HIDDEN, bias=False)
        self.read_out = torch.nn.Linear(HIDDEN, OUT)

    def forward(self, nodes: torch.Tensor, messages: torch.Tensor) -> torch.Tensor:
        hidden = F.relu(self.self_term(nodes) + self.neighbour_term(messages))
        return F.normalize(self.read_out(hidden), dim=-1)

    def embed(self, grids: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(grids, np.float32))
            return np.ascontiguousarray(self(x, ring_mean(x)).numpy())


class ResidualGraphEmbedder(torch.nn.Module):
    """x + a learned correction from x and its neighbours' mean; the correction starts at zero."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.hidden = torch.nn.Linear(2 * dim, HIDDEN)
        self.correction = torch.nn.Linear(HIDDEN, dim)
        torch.nn.init.zeros_(self.correction.weight)
        torch.nn.init.zeros_(self.correction.bias)

    def delta(self, nodes: torch.Tensor, messages: torch.Tensor) -> torch.Tensor:
        return self.correction(F.relu(self.hidden(torch.cat([nodes, messages], -1))))

    def forward(self, nodes: torch.Tensor, messages: torch.Tensor) -> torch.Tensor:
        return nodes + self.delta(nodes, messages)

    def embed(self, grids: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(grids, np.float32))
            return np.ascontiguousarray(self(x, ring_mean(x)).numpy())


def counterparts(settings: DetectorSettings, shape: tuple[int, int], grid: tuple[int, int]) -> list[np.ndarray]:
    """Per copy of ``settings.augmentations``: [n, 2] flat cell indices (in the golden, in the copy) showing the
    same point of the part; rotations by the rotation matrix, gain copies cell for cell."""
    centre = grid_centre(settings)
    filled = mirrored_cells(settings, shape, grid)
    rows, cols = np.meshgrid(np.arange(grid[0]), np.arange(grid[1]), indexing="ij")
    points = np.stack([STRIDE * cols.ravel() + centre, STRIDE * rows.ravel() + centre, np.ones(rows.size)])
    pairs = []
    for angle in settings.augmentations.angles():
        moved = rotation_matrix(shape, angle) @ points
        col, row = (np.round((moved - centre) / STRIDE).astype(int))
        inside = (row >= 0) & (row < grid[0]) & (col >= 0) & (col < grid[1])
        source = np.flatnonzero(inside)
        target = row[inside] * grid[1] + col[inside]
        shown = ~filled[len(pairs)].ravel()[target]
        pairs.append(np.stack([source[shown], target[shown]], 1))
    for _ in settings.augmentations.gains:
        pairs.append(np.repeat(np.arange(grid[0] * grid[1])[:, None], 2, 1))
    return pairs


def train_embedder(golden_copies: list[np.ndarray], pairs: list[np.ndarray], seed: int,
                   kind: str) -> torch.nn.Module:
    """InfoNCE over counterpart pairs: each golden cell against its counterpart in another copy of the same
    golden, the batch's other cells as negatives."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = (PatchGraphEmbedder if kind == "gcn" else ResidualGraphEmbedder)(golden_copies[0].shape[-1])
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    grids = torch.from_numpy(np.ascontiguousarray(np.stack(golden_copies), np.float32))  # [G, C, h, w, D]
    goldens, copies, dim = grids.shape[0], grids.shape[1], grids.shape[-1]
    messages = ring_mean(grids.flatten(0, 1)).reshape(goldens, copies, -1, dim)
    nodes = grids.reshape(goldens, copies, -1, dim)
    copy_of = np.concatenate([np.full(len(p), c) for c, p in enumerate(pairs) if c > 0])
    source, target = np.concatenate(pairs[1:]).T
    for _ in range(STEPS):
        picked = torch.from_numpy(rng.choice(len(copy_of), PAIRS, replace=False))
        golden = torch.from_numpy(rng.integers(0, goldens, PAIRS))
        copy, src, tgt = (torch.from_numpy(a)[picked] for a in (copy_of, source, target))
        a_nodes, b_nodes = nodes[golden, 0, src], nodes[golden, copy, tgt]
        a, b = model(a_nodes, messages[golden, 0, src]), model(b_nodes, messages[golden, copy, tgt])
        if kind == "gcn":
            logits = a @ b.T / TEMPERATURE
            labels = torch.arange(PAIRS)
            loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
        else:  # counterparts' gap relative to the raw gap, plus how far the map strays from the identity
            raw_gap = (a_nodes - b_nodes).pow(2).sum(-1).mean()
            stray = ((a - a_nodes).pow(2).sum(-1).mean() + (b - b_nodes).pow(2).sum(-1).mean()) / 2
            loss = ((a - b).pow(2).sum(-1).mean() + stray) / raw_gap
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return model.eval()


def run(data: Path, shots: list[int], seeds: list[int], variants: list[str]) -> list[dict]:
    base = replace(DetectorSettings(), pose="off", layout="off")
    category = load_category(data)
    cache = FeatureCache(base, read_rgb(category.train_files[0]))
    test_raw, extract_ms = cache.test(category.test_images)
    grid = test_raw.shape[1:3]
    pairs = counterparts(base, cache.shape, grid)
    original_embed = harness.embed
    rows = []
    for shot_count in shots:
        for seed in seeds:
            goldens = [category.train_files[i] for i in draw_shots(len(category.train_files), shot_count, seed)]
            for name in variants:
                rotations, embedder = VARIANTS[name]
                settings = replace(base, seed=seed, augmentations=replace(base.augmentations, rotations=rotations),
                                   embedder=replace(base.embedder, enabled=embedder == "fixed"))
                train_seconds = 0.0
                if embedder in ("gcn", "res"):
                    started = time.perf_counter()
                    model = train_embedder([cache.golden(p, base.augmentations)[0] for p in goldens], pairs, seed,
                                           embedder)
                    train_seconds = time.perf_counter() - started
                    harness.embed = lambda raw, _settings, model=model: model.embed(raw)
                try:
                    scored = harness._score_patchcore(cache, goldens, settings, None, test_raw, extract_ms,
                                                      cache.test_frames(category.test_images), True)
                finally:
                    harness.embed = original_embed
                labels = category.test_labels
                row = {"category": category.name, "variant": name, "shots": shot_count, "seed": seed,
                       "image_auroc": harness.auroc(scored.image_scores, labels),
                       "pixel_auroc": harness.pixel_auroc(scored.maps, category.test_masks),
                       "train_seconds": round(train_seconds, 2), "fit_seconds": round(scored.fit_seconds, 2),
                       "ms_per_image": round(scored.ms_per_image, 2)}
                print(json.dumps(row), flush=True)
                rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, action="append", required=True)
    parser.add_argument("--shots", default="1,4")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = [row for data in args.data for row in run(data, [int(s) for s in args.shots.split(",")],
                                                      [int(s) for s in args.seeds.split(",")],
                                                      args.variants.split(","))]
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
