"""Fold each BatchNorm that directly follows a convolution into that convolution's weights.

Frozen BN is an affine map per channel, so conv -> BN equals one conv with rescaled weights and a
bias: the same function up to float rounding, with one pass over the activations fewer.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import fx, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


class Traced(nn.Module):
    """``net`` as the root module of a trace whose forward is ``forward`` (e.g. ``backbone.extract``)."""

    def __init__(self, net: nn.Module, forward: Callable[[torch.Tensor], object]) -> None:
        super().__init__()
        self.net = net
        self._forward = forward

    def forward(self, x: torch.Tensor) -> object:
        return self._forward(x)


def fold_batchnorm(net: nn.Module, forward: Callable[[torch.Tensor], object]) -> int:
    """Fold, in place, every eval-mode conv -> BN pair that ``forward`` runs; returns how many.

    ``forward`` calls ``net``'s modules (e.g. ``backbone.extract``); the graph is traced through it
    so that only pairs where the convolution's output feeds nothing but the BN are folded.
    """
    graph = fx.symbolic_trace(Traced(net, forward)).graph
    modules = dict(net.named_modules())
    folded = 0
    for node in graph.nodes:
        if node.op != "call_module" or not isinstance(modules.get(_name(node)), nn.BatchNorm2d):
            continue
        source = node.args[0]
        if not (isinstance(source, fx.Node) and source.op == "call_module" and len(source.users) == 1
                and isinstance(modules.get(_name(source)), nn.Conv2d)):
            continue
        conv_name, bn_name = _name(source), _name(node)
        _replace(net, conv_name, fuse_conv_bn_eval(modules[conv_name], modules[bn_name]))
        _replace(net, bn_name, nn.Identity())
        folded += 1
    return folded


def _name(node: fx.Node) -> str:
    return str(node.target).removeprefix("net.")


def _replace(net: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(net.get_submodule(parent_name) if parent_name else net, child, module)
