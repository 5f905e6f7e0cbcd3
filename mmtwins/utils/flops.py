"""Counting FLOPs with the attention products, shared by the benchmark and get_flops tools."""
import contextlib
from typing import Callable, Dict

import torch
from torch import nn


@contextlib.contextmanager
def plain_attention(model: nn.Module):
    """Run mmtwins' attention as explicit matmuls (counted by torch's FLOP counter, which
    does not know the CPU flash-attention kernel), then restore the previous setting."""
    backbones = [m for m in model.modules()
                 if isinstance(getattr(type(m), 'attn_impl', None), property)]
    previous = [m.attn_impl for m in backbones]
    for m in backbones:
        m.attn_impl = 'math'
    try:
        yield
    finally:
        for m, value in zip(backbones, previous):
            m.attn_impl = value


def count_flops(fn: Callable[[], object], model: nn.Module = None) -> Dict[str, int]:
    """FLOPs of ``fn()`` by operator (multiply and add counted separately: 2 per MAC),
    with mmtwins' attention matmuls included."""
    from torch.utils.flop_counter import FlopCounterMode
    ctx = plain_attention(model) if model is not None else contextlib.nullcontext()
    counter = FlopCounterMode(display=False)
    with ctx, counter, torch.no_grad():
        fn()
    per_op = {str(op).split('.')[-1]: n for op, n in counter.get_flop_counts()['Global'].items()}
    per_op['total'] = counter.get_total_flops()
    return per_op
