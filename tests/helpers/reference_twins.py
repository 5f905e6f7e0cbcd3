"""A plain, slow reference Twins for the tests, written independently of mmtwins.

It follows the official code's structure and key names (``patch_embeds``, ``blocks``,
``pos_block.{i}.proj.0``, ``norm_list``), computes attention with explicit loops over
windows and heads, and implements the window padding behaviours literally:

* ``'zero'``: the official detection code / timm: the normed token map is zero-padded to a
  multiple of the window and padded tokens take part in attention;
* ``'mask'``: each window attends only among its real tokens (padded keys are simply not
  there), which is what a correct key mask must reproduce.

Inputs whose sides are not multiples of the patch / sr sizes are zero-padded bottom/right
(the documented mmtwins behaviour; at multiples of 32 nothing is padded and this is the
official model).
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


def _softmax_attention(q, k, v):
    """q (Lq, d), k (Lk, d), v (Lk, d) -> (Lq, d), one head, explicit softmax."""
    logits = q @ k.t() / math.sqrt(q.shape[-1])
    weights = torch.exp(logits - logits.max(dim=-1, keepdim=True).values)
    weights = weights / weights.sum(dim=-1, keepdim=True)
    return weights @ v


def _multihead(q, k, v, heads):
    """q (Lq, C), k/v (Lk, C): loop over heads."""
    d = q.shape[-1] // heads
    return torch.cat([_softmax_attention(q[:, h * d:(h + 1) * d], k[:, h * d:(h + 1) * d],
                                         v[:, h * d:(h + 1) * d]) for h in range(heads)], dim=-1)


class RefGSA(nn.Module):
    def __init__(self, dim, heads, sr):
        super().__init__()
        self.heads, self.sr_ratio = heads, sr
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        if sr > 1:
            self.sr = nn.Conv2d(dim, dim, sr, sr)
            self.norm = nn.LayerNorm(dim, eps=1e-5)

    def forward(self, x, H, W, mode):
        B, N, C = x.shape
        outs = []
        for b in range(B):
            tokens = x[b]  # (N, C)
            src = tokens
            if self.sr_ratio > 1:
                r = self.sr_ratio
                img = tokens.t().reshape(1, C, H, W)
                Hp, Wp = math.ceil(H / r) * r, math.ceil(W / r) * r
                canvas = img.new_zeros(1, C, Hp, Wp)
                canvas[:, :, :H, :W] = img
                src = self.norm(self.sr(canvas).reshape(C, -1).t())
            kv = self.kv(src)
            outs.append(_multihead(self.q(tokens), kv[:, :C], kv[:, C:], self.heads))
        return self.proj(torch.stack(outs))


class RefLSA(nn.Module):
    def __init__(self, dim, heads, ws):
        super().__init__()
        self.heads, self.ws = heads, ws
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, H, W, mode):
        B, N, C = x.shape
        ws = self.ws
        Hp, Wp = math.ceil(H / ws) * ws, math.ceil(W / ws) * ws
        out = x.new_zeros(B, H, W, C)
        for b in range(B):
            grid = x.new_zeros(Hp, Wp, C)
            grid[:H, :W] = x[b].reshape(H, W, C)
            for top in range(0, Hp, ws):
                for left in range(0, Wp, ws):
                    if mode == 'zero':
                        rows, cols = ws, ws
                    else:  # only the real tokens of this window
                        rows, cols = min(ws, H - top), min(ws, W - left)
                    win = grid[top:top + rows, left:left + cols].reshape(-1, C)
                    qkv = self.qkv(win)
                    res = _multihead(qkv[:, :C], qkv[:, C:2 * C], qkv[:, 2 * C:], self.heads)
                    res = res.reshape(rows, cols, C)
                    h_real, w_real = min(rows, H - top), min(cols, W - left)
                    out[b, top:top + h_real, left:left + w_real] = res[:h_real, :w_real]
        return self.proj(out.reshape(B, N, C))


class RefBlock(nn.Module):
    def __init__(self, dim, heads, mlp_ratio, sr, ws):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = RefLSA(dim, heads, ws) if ws else RefGSA(dim, heads, sr)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Module()
        self.mlp.fc1 = nn.Linear(dim, int(dim * mlp_ratio))
        self.mlp.fc2 = nn.Linear(int(dim * mlp_ratio), dim)

    def forward(self, x, H, W, mode):
        x = x + self.attn(self.norm1(x), H, W, mode)
        return x + self.mlp.fc2(F.gelu(self.mlp.fc1(self.norm2(x))))


class RefPatchEmbed(nn.Module):
    def __init__(self, cin, dim, p):
        super().__init__()
        self.p = p
        self.proj = nn.Conv2d(cin, dim, p, p)
        self.norm = nn.LayerNorm(dim, eps=1e-5)

    def forward(self, x):
        B, C, H, W = x.shape
        Hp, Wp = math.ceil(H / self.p) * self.p, math.ceil(W / self.p) * self.p
        canvas = x.new_zeros(B, C, Hp, Wp)
        canvas[:, :, :H, :W] = x
        y = self.proj(canvas)
        return self.norm(y.flatten(2).transpose(1, 2)), y.shape[2], y.shape[3]


class RefPosCNN(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.proj = nn.Sequential(nn.Conv2d(dim, dim, 3, 1, 1, groups=dim))

    def forward(self, x, H, W):
        B, N, C = x.shape
        img = x.transpose(1, 2).reshape(B, C, H, W)
        return (self.proj(img) + img).flatten(2).transpose(1, 2)


class RefTwins(nn.Module):
    """Official-layout Twins (PCPVT when ``window_sizes`` is None, else SVT)."""

    def __init__(self, embed_dims, depths, num_heads, mlp_ratios, sr_ratios,
                 window_sizes=None, norm_list=False):
        super().__init__()
        self.depths = depths
        self.patch_embeds = nn.ModuleList(
            RefPatchEmbed(3 if i == 0 else embed_dims[i - 1], d, 4 if i == 0 else 2)
            for i, d in enumerate(embed_dims))
        self.blocks = nn.ModuleList(
            nn.ModuleList(
                RefBlock(embed_dims[i], num_heads[i], mlp_ratios[i], sr_ratios[i],
                         window_sizes[i] if window_sizes and j % 2 == 0 else None)
                for j in range(depths[i]))
            for i in range(len(depths)))
        self.pos_block = nn.ModuleList(RefPosCNN(d) for d in embed_dims)
        if norm_list:
            self.norm_list = nn.ModuleList(nn.LayerNorm(d, eps=1e-6) for d in embed_dims)
        else:
            self.norm_list = None

    @torch.no_grad()
    def forward(self, x, mode='zero'):
        outs = []
        for i in range(len(self.depths)):
            x, H, W = self.patch_embeds[i](x)
            for j, blk in enumerate(self.blocks[i]):
                x = blk(x, H, W, mode)
                if j == 0:
                    x = self.pos_block[i](x, H, W)
            if self.norm_list is not None:
                x = self.norm_list[i](x)
            x = x.reshape(x.shape[0], H, W, -1).permute(0, 3, 1, 2)
            outs.append(x)
        return outs


def randomize_(module: nn.Module, seed: int = 0) -> nn.Module:
    """Fill every parameter with random values of a sensible scale (deterministic)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith('bias'):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
            elif p.dim() == 1:  # norm weights
                p.copy_(1 + torch.randn(p.shape, generator=gen) * 0.1)
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(fan_in))
    return module
