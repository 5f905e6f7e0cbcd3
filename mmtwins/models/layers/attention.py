"""The two spatial attentions of Twins: global sub-sampled (GSA) and locally-grouped (LSA).

Both compute attention through :func:`attention`, whose kernel is one setting,
``attn_impl`` (:data:`ATTN_IMPLS`), resolved for each call in :func:`resolve_attn_impl`:

* ``'sdpa'``: ``torch.nn.functional.scaled_dot_product_attention`` (torch picks flash,
  memory-efficient or cuDNN kernels);
* ``'math'``: explicit matmul + softmax (the reference path; what FLOP counting and
  exporters that rewrite SDPA need);
* ``'auto'`` (default): ``'sdpa'``, except where ``'math'`` was measured faster
  (:func:`auto_kernel`): on the CPU in half precision in inference, and in training for short
  key sequences (LSA windows, GSA at common crop sizes); on CUDA in fp32 in training for long
  key sequences (GSA at 800x1344).

On the CPU, ``'math'`` over a large attention matrix without gradients runs in blocks of
queries (:func:`math_block_rows`), with the same values.

A new kernel is a new name in :data:`ATTN_IMPLS`, its rule in :func:`auto_kernel` and its
branch in :func:`attention`.
"""
import contextlib
from typing import Callable, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .tracing import is_tracing

WINDOW_PADDING_MODES = ('mask', 'zero', 'mmseg')


#: the values of the ``attn_impl`` setting (backbones, blocks and attention modules)
ATTN_IMPLS = ('auto', 'sdpa', 'math')


def check_attn_impl(attn_impl) -> str:
    if attn_impl not in ATTN_IMPLS:
        raise ValueError(f'attn_impl must be one of {ATTN_IMPLS}, got {attn_impl!r}')
    return attn_impl


def attn_impl_setting(attn_impl: Optional[str] = None, fused_attn: Optional[bool] = None) -> str:
    """The ``attn_impl`` setting from the backbone's arguments: ``attn_impl`` itself, or the
    hosts' spelling ``fused_attn`` (timm's: True is ``'auto'``, False is ``'math'``);
    ``'auto'`` when neither is given. Both given and disagreeing is a ValueError."""
    if fused_attn is not None and not isinstance(fused_attn, bool):
        raise TypeError(f'fused_attn must be a bool, got {type(fused_attn).__name__}: '
                        f'{fused_attn!r}')
    if attn_impl is None:
        return 'math' if fused_attn is False else 'auto'
    check_attn_impl(attn_impl)
    if fused_attn is not None and fused_attn != (attn_impl != 'math'):
        raise ValueError(f'fused_attn={fused_attn} disagrees with attn_impl={attn_impl!r}: '
                         f'give one of them (fused_attn=False is attn_impl=\'math\')')
    return attn_impl


#: on the CPU in half precision with gradients, the longest key sequence for which ``'auto'``
#: takes the explicit path: measured in bf16 on 2 cores of an AMD EPYC with AVX512-BF16
#: (2026-12-05), matmul + softmax (forward and backward) took 0.2-0.7x of torch's fused
#: kernel's time for 49 keys (LSA windows) and 256-384 (GSA at 512x512), and 0.9-1.4x for
#: 512-1050 (GSA at 800x1344). Without gradients the explicit path (in blocks of queries
#: where the weights are large) took 0.61-0.83x of the fused kernel's time for 18 of 21 shapes
#: of 512-2000 keys, 0.96-1.11x for the other 3, and was the faster for every GSA and LSA call
#: of SVT-S and PCPVT-S at 512x512 and 800x1344 (docs/benchmarks.md)
CPU_HALF_MATH_MAX_KEYS = 384

#: on the CPU without gradients, the explicit path runs in blocks of queries whose attention
#: weights take about this many bytes, where the whole matrix would take more than
#: :data:`CPU_ATTN_WHOLE_MAX_BYTES` (a fresh mapping from the OS, faulted in page by page, that
#: leaves the caches between the two matmuls; blocks are reused from the heap)
CPU_ATTN_BLOCK_BYTES = 4 * 2**20
CPU_ATTN_WHOLE_MAX_BYTES = 32 * 2**20
MIN_BLOCK_ROWS = 64


#: on CUDA in fp32 with gradients, the longest key sequence for which ``'auto'`` takes torch's
#: fused kernel (fp32 has no flash kernel; the memory-efficient one is slow in the backward over
#: long sequences). Measured on an H200 (2026-12-04) for whole training steps at 2x3x800x1344,
#: where every GSA layer has 1050 keys: the explicit path took 0.73x (PCPVT-S), 0.89x (SVT-S)
#: and 0.95x (SVT-B) of the fused kernel's time; at 2x3x512x512 (256 keys) the fused kernel was
#: the faster or level. The explicit path keeps the ``(..., L, S)`` weights for the backward:
#: more memory (``attn_impl='sdpa'`` keeps the fused kernel)
CUDA_FP32_GRAD_SDPA_MAX_KEYS = 512


def math_block_rows(q: Tensor, k: Tensor) -> int:
    """Queries per block of the explicit path, or 0 to run all at once: blocks on the CPU
    when no gradient is needed and the ``(..., L, S)`` weights exceed
    :data:`CPU_ATTN_WHOLE_MAX_BYTES`; never while traced for export or compiled."""
    if (q.device.type != 'cpu' or is_tracing() or torch.compiler.is_compiling()
            or (torch.is_grad_enabled() and (q.requires_grad or k.requires_grad))):
        return 0
    L, S = q.shape[-2], k.shape[-2]
    row_bytes = (q.numel() // max(q.shape[-1] * L, 1)) * S * q.element_size()
    if row_bytes * L <= CPU_ATTN_WHOLE_MAX_BYTES:
        return 0
    return max(MIN_BLOCK_ROWS, CPU_ATTN_BLOCK_BYTES // row_bytes)


def auto_kernel(device_type: str, dtype: torch.dtype, keys: Optional[int] = None,
                grad: bool = False) -> str:
    """The kernel ``'auto'`` takes for attention on ``device_type`` in ``dtype`` over
    ``keys`` keys (None: short), ``grad`` when gradients are needed:

    * CPU, half precision: ``'math'`` without gradients (in blocks of queries where the
      weights are large, :func:`math_block_rows`) and, with gradients, for up to
      :data:`CPU_HALF_MATH_MAX_KEYS` keys, where torch's CPU flash kernel is slower;
    * CUDA, fp32, with gradients: ``'math'`` for more than
      :data:`CUDA_FP32_GRAD_SDPA_MAX_KEYS` keys;
    * else ``'sdpa'``.
    """
    half = dtype in (torch.bfloat16, torch.float16)
    if device_type == 'cpu' and half:
        return 'math' if keys is None or keys <= CPU_HALF_MATH_MAX_KEYS or not grad else 'sdpa'
    if (device_type == 'cuda' and not half and grad and keys is not None
            and keys > CUDA_FP32_GRAD_SDPA_MAX_KEYS):
        return 'math'
    return 'sdpa'


def resolve_attn_impl(attn_impl: str, q: Tensor, k: Optional[Tensor] = None) -> str:
    """The kernel (``'sdpa'`` or ``'math'``) that runs attention of ``q`` over keys ``k``
    under the setting ``attn_impl``; for ``'auto'``, :func:`auto_kernel`'s choice for these
    tensors. While the model is traced for export, ``'math'`` whatever the setting: its
    matmuls, softmax and boolean mask export as plain ONNX ops, where exporting SDPA with a
    boolean mask fails in mmdeploy's rewriter of it."""
    if is_tracing():
        return 'math'
    if attn_impl != 'auto':
        return attn_impl
    keys = None if k is None else k.shape[-2]
    grad = torch.is_grad_enabled() and (q.requires_grad or (k is not None and k.requires_grad))
    return auto_kernel(q.device.type, q.dtype, keys, grad)


#: callables that see every attention call (:func:`observe_attention_calls`)
_OBSERVERS = []


@contextlib.contextmanager
def observe_attention_calls(fn: Callable[[Tensor, Tensor, Tensor, Optional[Tensor]], None]):
    """Inside, ``fn(q, k, v, attn_mask)`` sees each call of :func:`attention` before it runs
    (the benchmark's table of attention calls and their kernels)."""
    _OBSERVERS.append(fn)
    try:
        yield
    finally:
        _OBSERVERS.remove(fn)


def attention(q: Tensor, k: Tensor, v: Tensor, attn_mask: Optional[Tensor] = None,
              dropout_p: float = 0.0, attn_impl: str = 'auto') -> Tensor:
    """Scaled dot-product attention over the last two dims, scale ``head_dim ** -0.5``.

    Args:
        q, k, v: ``(..., L, D)``, ``(..., S, D)``, ``(..., S, D)``.
        attn_mask: boolean mask broadcastable to ``(..., L, S)``, True where a query may
            attend to a key; or None.
        dropout_p: dropout on the attention weights (pass 0 in eval mode).
        attn_impl: one of :data:`ATTN_IMPLS`, resolved by :func:`resolve_attn_impl`.
    """
    for observe in _OBSERVERS:
        observe(q, k, v, attn_mask)
    if resolve_attn_impl(attn_impl, q, k) == 'sdpa':
        return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p)
    rows = math_block_rows(q, k)
    if not rows:
        return _math_attention(q, k, v, attn_mask, dropout_p)
    per_query = attn_mask is not None and attn_mask.shape[-2] != 1
    return torch.cat([
        _math_attention(q[..., i:i + rows, :], k, v,
                        attn_mask[..., i:i + rows, :] if per_query else attn_mask, dropout_p)
        for i in range(0, q.shape[-2], rows)], dim=-2)


def _math_attention(q: Tensor, k: Tensor, v: Tensor, attn_mask: Optional[Tensor],
                    dropout_p: float) -> Tensor:
    attn = (q * (q.shape[-1] ** -0.5)) @ k.transpose(-2, -1)  # (..., L, S)
    if attn_mask is not None:
        attn = attn.masked_fill(~attn_mask, float('-inf'))
    attn = attn.softmax(dim=-1)
    if dropout_p > 0:
        attn = F.dropout(attn, p=dropout_p)
    return attn @ v


class GlobalSubsampledAttention(nn.Module):
    """Global sub-sampled attention (GSA), the spatial-reduction attention of PVT.

    Keys and values come from the token map sub-sampled by a ``sr_ratio`` x ``sr_ratio``
    strided convolution (then LayerNorm); with ``sr_ratio == 1`` it is plain global
    multi-head attention. A token map whose sides are not multiples of ``sr_ratio`` is
    zero-padded bottom/right before the convolution, so every token reaches a key (the
    official code drops the trailing ones, and fails when the map is smaller than
    ``sr_ratio``); at sides that are multiples the two agree.

    Args:
        embed_dims: channels ``C``.
        num_heads: attention heads; must divide ``embed_dims``.
        sr_ratio: spatial reduction ratio of keys/values.
        qkv_bias: bias of the q and kv projections (the output projection always has
            one).
        attn_drop: dropout on attention weights.
        proj_drop: dropout after the output projection.
        attn_impl: the attention kernel, one of :data:`ATTN_IMPLS`.
        floor: drop the trailing tokens that do not fill an ``sr_ratio`` cell instead of
            padding them, as the official code and mmseg do (maps smaller than
            ``sr_ratio``, where they fail, are still padded).
    """

    def __init__(self, embed_dims: int, num_heads: int, sr_ratio: int = 1,
                 qkv_bias: bool = True, attn_drop: float = 0.0, proj_drop: float = 0.0,
                 attn_impl: str = 'auto', floor: bool = False) -> None:
        super().__init__()
        _check_heads(embed_dims, num_heads)
        self.num_heads = num_heads
        self.sr_ratio = sr_ratio
        self.floor = floor
        self.attn_drop = attn_drop
        self.attn_impl = check_attn_impl(attn_impl)
        self.q = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)
        self.kv = nn.Linear(embed_dims, embed_dims * 2, bias=qkv_bias)  # rows: k then v
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)
        if sr_ratio > 1:
            self.sr = nn.Conv2d(embed_dims, embed_dims, kernel_size=sr_ratio, stride=sr_ratio)
            self.norm = nn.LayerNorm(embed_dims, eps=1e-5)

    def forward(self, x: Tensor, hw_shape: Tuple[int, int]) -> Tensor:
        """``x``: ``(B, H*W, C)`` tokens of an ``H x W`` map; returns the same shape."""
        B, N, C = x.shape
        heads = self.num_heads
        q = self.q(x).view(B, N, heads, C // heads).transpose(1, 2)  # (B, heads, N, hd)
        if self.sr_ratio > 1:
            H, W = hw_shape
            r = self.sr_ratio
            kv_src = x.transpose(1, 2).reshape(B, C, H, W)  # (B, C, H, W)
            if self.floor and (is_tracing() or (H >= r and W >= r)):
                pass  # the conv floors (traced: maps smaller than r are not supported)
            elif is_tracing() or H % r or W % r:
                kv_src = F.pad(kv_src, (0, (-W) % r, 0, (-H) % r))
            kv_src = self.sr(kv_src).flatten(2).transpose(1, 2)  # (B, N', C)
            kv_src = self.norm(kv_src)
        else:
            kv_src = x
        # (B, N', 2C) -> (2, B, heads, N', hd)
        kv = self.kv(kv_src).view(B, -1, 2, heads, C // heads).permute(2, 0, 3, 1, 4)
        k, v = kv.unbind(0)
        out = attention(q, k, v, dropout_p=self.attn_drop if self.training else 0.0,
                        attn_impl=self.attn_impl)  # (B, heads, N, hd)
        out = out.transpose(1, 2).reshape(B, N, C)
        return self.proj_drop(self.proj(out))


class LocallyGroupedAttention(nn.Module):
    """Locally-grouped self-attention (LSA): attention inside non-overlapping windows.

    A token map whose sides are not multiples of ``window_size`` is padded bottom/right
    (after the block's first LayerNorm). ``window_padding`` decides what the padded tokens
    do:

    * ``'mask'``: they are excluded as keys (the caller passes the mask made by
      :func:`window_padding_mask`, once per stage), so every real token attends only to
      real tokens of its window, whichever sides are padded;
    * ``'zero'``: they stay zero vectors that attend and are attended (their keys and
      values are the projection biases), as in the official detection code and timm.

    Args:
        embed_dims: channels ``C``.
        num_heads: attention heads; must divide ``embed_dims``.
        window_size: side of the square windows.
        qkv_bias: bias of the qkv projection (the output projection always has one).
        attn_drop: dropout on attention weights.
        proj_drop: dropout after the output projection.
        attn_impl: the attention kernel, one of :data:`ATTN_IMPLS`.
    """

    def __init__(self, embed_dims: int, num_heads: int, window_size: int = 7,
                 qkv_bias: bool = True, attn_drop: float = 0.0, proj_drop: float = 0.0,
                 attn_impl: str = 'auto') -> None:
        super().__init__()
        _check_heads(embed_dims, num_heads)
        self.num_heads = num_heads
        self.window_size = window_size
        self.attn_drop = attn_drop
        self.attn_impl = check_attn_impl(attn_impl)
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)  # rows: q, k, v
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: Tensor, hw_shape: Tuple[int, int],
                key_mask: Optional[Tensor] = None) -> Tensor:
        """Args:
            x: ``(B, H*W, C)`` tokens of an ``H x W`` map.
            hw_shape: ``(H, W)``.
            key_mask: from :func:`window_padding_mask` (``'mask'`` mode, made once per
                stage for this batch size), or None for zero padding / no padding.

        Returns:
            ``(B, H*W, C)``.
        """
        B, N, C = x.shape
        H, W = hw_shape
        ws = self.window_size
        heads = self.num_heads
        pad_b, pad_r = (-H) % ws, (-W) % ws
        Hp, Wp = H + pad_b, W + pad_r
        nh, nw = Hp // ws, Wp // ws
        # project the real tokens only, then pad the projections
        qkv = self.qkv(x).view(B, H, W, 3 * C)
        tracing = is_tracing()
        bias = self.qkv.bias
        if tracing and bias is not None:
            # padded tokens project to the biases, as zero padding has it, written without
            # in-place writes at symbolic offsets; where the mask excludes them as keys their
            # value does not matter ('mmseg' mode masks only some sizes: one graph for all)
            qkv = F.pad(qkv - bias, (0, 0, 0, pad_r, 0, pad_b)) + bias
        elif tracing or pad_b or pad_r:
            qkv = F.pad(qkv, (0, 0, 0, pad_r, 0, pad_b))
            if key_mask is None and bias is not None:
                # zero padding: a padded (zero) token's projections are the biases
                qkv[:, H:] = bias
                qkv[:, :, W:] = bias
        # (B, nh, ws, nw, ws, 3, heads, hd) -> (3, B*nh*nw, heads, ws*ws, hd): one copy
        qkv = qkv.view(B, nh, ws, nw, ws, 3, heads, C // heads).permute(5, 0, 1, 3, 6, 2, 4, 7)
        q, k, v = qkv.reshape(3, B * nh * nw, heads, ws * ws, C // heads).unbind(0)
        dropout_p = self.attn_drop if self.training else 0.0
        out = attention(q, k, v, attn_mask=key_mask, dropout_p=dropout_p,
                        attn_impl=self.attn_impl)  # (B*nh*nw, heads, ws*ws, hd)
        # (B, nh, nw, heads, ws, ws, hd) -> (B, nh, ws, nw, ws, heads, hd) -> (B, Hp, Wp, C)
        out = out.view(B, nh, nw, heads, ws, ws, C // heads).permute(0, 1, 4, 2, 5, 3, 6)
        out = out.reshape(B, Hp, Wp, C)
        if is_tracing() or pad_b or pad_r:
            out = out[:, :H, :W, :]
        return self.proj_drop(self.proj(out.reshape(B, N, C)))


def stage_key_mask(mode: str, hw_shape: Tuple[int, int], window_size: int,
                   batch_size: int = 1, device=None) -> Optional[Tensor]:
    """The key mask a stage's LSA blocks use in padding ``mode``, or None (zero padding).

    * ``'mask'``: :func:`window_padding_mask` whenever a side is padded.
    * ``'zero'``: never (padded tokens take part as zero vectors).
    * ``'mmseg'``: what mmseg's implementation (and the official segmentation code)
      computes: its mask marks the padded rows with ``[-pad_b:]`` and columns with
      ``[-pad_r:]``; when one of the two pads is 0, ``-0:`` selects the whole axis, every
      token counts as padding and nothing is masked. So: masked only when both the bottom
      and the right side are padded, zero padding when only one is. (In this mode the
      backbone also builds its GSA layers with ``floor=True``, as mmseg's.)
    """
    if mode == 'zero':
        return None
    H, W = hw_shape
    pad_b, pad_r = (-H) % window_size, (-W) % window_size
    if is_tracing():
        # the mask at every size (see layers.tracing); 'mmseg' masks only where both
        # sides are padded
        mask = window_padding_mask(hw_shape, window_size, batch_size, device, always=True)
        return mask | ((pad_b == 0) | (pad_r == 0)) if mode == 'mmseg' else mask
    if mode == 'mmseg' and not (pad_b and pad_r):
        return None
    return window_padding_mask(hw_shape, window_size, batch_size, device)


def window_padding_mask(hw_shape: Tuple[int, int], window_size: int, batch_size: int = 1,
                        device=None, always: bool = False) -> Optional[Tensor]:
    """Boolean key mask that removes the padding of a window partition.

    Returns None when ``H`` and ``W`` are multiples of ``window_size`` (nothing padded)
    unless ``always``; otherwise a ``(batch_size*nh*nw, 1, 1, ws*ws)`` tensor, True for real
    tokens and False for padded ones, in the window order of :class:`LocallyGroupedAttention`; it
    broadcasts over heads and queries. Every window holds at least its top-left token,
    which is real, so no query row is fully masked.
    """
    H, W = hw_shape
    ws = window_size
    pad_b, pad_r = (-H) % ws, (-W) % ws
    if not (always or pad_b or pad_r):
        return None
    Hp, Wp = H + pad_b, W + pad_r
    rows = torch.arange(Hp, device=device) < H  # (Hp,)
    cols = torch.arange(Wp, device=device) < W  # (Wp,)
    real = rows[:, None] & cols[None, :]  # (Hp, Wp)
    # (nh, ws, nw, ws) -> (nh, nw, ws, ws) -> (nh*nw, ws*ws)
    real = real.view(Hp // ws, ws, Wp // ws, ws).transpose(1, 2).reshape(-1, ws * ws)
    # windows are ordered batch-major: (B*nh*nw, 1, 1, ws*ws)
    return real.repeat(batch_size, 1)[:, None, None, :]


def _check_heads(embed_dims: int, num_heads: int) -> None:
    if num_heads <= 0 or embed_dims % num_heads:
        raise ValueError(f'embed_dims ({embed_dims}) must be a positive multiple of '
                         f'num_heads ({num_heads})')


__all__ = ['attention', 'ATTN_IMPLS', 'math_block_rows', 'attn_impl_setting', 'resolve_attn_impl',
           'auto_kernel', 'observe_attention_calls', 'GlobalSubsampledAttention',
           'LocallyGroupedAttention', 'window_padding_mask', 'stage_key_mask',
           'WINDOW_PADDING_MODES']
