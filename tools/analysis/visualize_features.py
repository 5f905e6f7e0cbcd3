#!/usr/bin/env python
"""What a Twins backbone sees: its four pyramid levels, and for one pixel the attention
weights of a window attention (LSA) and a global sub-sampled attention (GSA) block.

    python tools/analysis/visualize_features.py IMAGE --out features.png \\
        [--config CONFIG | --arch svt_s] [--checkpoint CKPT] \\
        [--pixel Y X] [--stage 1] [--size 512]

Writes one PNG: the image with the chosen pixel, the mean activation magnitude of each
pyramid level, and where the pixel's query attends in the stage's first LSA block (its 7x7
window) and first GSA block (the whole image, through the sub-sampled keys).
"""
import argparse
import math
import os.path as osp
import sys

import numpy as np
import torch
import torch.nn.functional as F

from mmtwins.cli.backbone import add_backbone_args, load_backbone

MEAN, STD = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)


def attention_of_pixel(block, x, hw, pixel):
    """Weights (averaged over heads) of the query at ``pixel`` of this block's attention,
    as a map over the token grid ``hw``."""
    attn = block.attn
    H, W = hw
    y, x_ = pixel
    tokens = block.norm1(x)[0]  # (N, C)
    C = tokens.shape[-1]
    heads = attn.num_heads
    weights = torch.zeros(H, W)
    if block.attn_type == 'lsa':
        ws = attn.window_size
        top, left = (y // ws) * ws, (x_ // ws) * ws
        rows, cols = min(ws, H - top), min(ws, W - left)  # real tokens of the window
        grid = tokens.view(H, W, C)[top:top + rows, left:left + cols].reshape(-1, C)
        qkv = attn.qkv(grid).view(-1, 3, heads, C // heads)
        q = qkv[(y - top) * cols + (x_ - left), 0]  # (heads, hd)
        k = qkv[:, 1]  # (L, heads, hd)
        w = torch.einsum('hd,lhd->hl', q, k).mul(q.shape[-1] ** -0.5).softmax(-1).mean(0)
        weights[top:top + rows, left:left + cols] = w.view(rows, cols)
        return weights
    q = attn.q(tokens[y * W + x_]).view(heads, C // heads)
    if attn.sr_ratio > 1:
        r = attn.sr_ratio
        src = tokens.t().reshape(1, C, H, W)
        src = F.pad(src, (0, (-W) % r, 0, (-H) % r))
        src = attn.sr(src)
        kh, kw = src.shape[-2:]
        src = attn.norm(src.flatten(2).transpose(1, 2))[0]
    else:
        kh, kw, src = H, W, tokens
    k = attn.kv(src).view(-1, 2, heads, C // heads)[:, 0]
    w = torch.einsum('hd,lhd->hl', q, k).mul(q.shape[-1] ** -0.5).softmax(-1).mean(0)
    w = w.view(kh, kw)
    r = max(attn.sr_ratio, 1)
    # each sub-sampled key stands for an r x r patch of tokens: spread its weight over it
    w = w.repeat_interleave(r, 0).repeat_interleave(r, 1) / (r * r)
    return w[:H, :W]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('image')
    parser.add_argument('--out', required=True, help='PNG to write')
    add_backbone_args(parser)
    parser.add_argument('--pixel', nargs=2, type=int, metavar=('Y', 'X'),
                        help='pixel of the resized image (default: the centre)')
    parser.add_argument('--stage', type=int, default=1, help='stage (1-4) of the attentions')
    parser.add_argument('--size', type=int, default=512, help='long side of the input')
    args = parser.parse_args(argv)
    from PIL import Image
    if not osp.isfile(args.image):
        print(f'error: image not found: {args.image}', file=sys.stderr)
        return 1
    img = Image.open(args.image).convert('RGB')
    scale = args.size / max(img.size)
    img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))))
    rgb = np.asarray(img).astype(np.float32)
    x = torch.from_numpy((rgb - MEAN) / STD).permute(2, 0, 1)[None].float()
    h, w = rgb.shape[:2]
    py, px = args.pixel or (h // 2, w // 2)
    if not (0 <= py < h and 0 <= px < w):
        print(f'error: pixel ({py}, {px}) is outside the {h}x{w} resized image', file=sys.stderr)
        return 1
    backbone = load_backbone(args)
    stage_idx = args.stage - 1
    if not 0 <= stage_idx < len(backbone.stages):
        print(f'error: --stage must be in 1..{len(backbone.stages)}', file=sys.stderr)
        return 1

    captured = {}

    def grab(module, inputs):
        captured.setdefault(id(module), (inputs[0].detach(), inputs[1]))

    stage = backbone.stages[stage_idx]
    chosen = {}
    for block in stage.blocks:
        chosen.setdefault(block.attn_type, block)
    handles = [b.register_forward_pre_hook(grab) for b in chosen.values()]
    with torch.no_grad():
        feats = backbone(x)
        stride = 4 * 2 ** stage_idx
        maps = {}
        for kind, block in chosen.items():
            tokens, hw = captured[id(block)]
            pixel = (min(py // stride, hw[0] - 1), min(px // stride, hw[1] - 1))
            maps[kind] = attention_of_pixel(block, tokens, hw, pixel).numpy()
    for handle in handles:
        handle.remove()

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    panels = 1 + len(feats) + len(maps)
    cols = 4
    rows = math.ceil(panels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis('off')
    axes.flat[0].imshow(rgb.astype(np.uint8))
    axes.flat[0].plot([px], [py], 'r+', markersize=14, markeredgewidth=2)
    axes.flat[0].set_title(f'input {h}x{w}, pixel ({py}, {px})')
    for i, f in enumerate(feats):
        ax = axes.flat[1 + i]
        ax.imshow(f[0].norm(dim=0).numpy(), cmap='viridis')
        ax.set_title(f'level {i + 1}: stride {backbone.out_strides[i]}, '
                     f'{f.shape[1]} ch, {f.shape[2]}x{f.shape[3]}')
    names = {'lsa': 'window attention (LSA)', 'gsa': 'global sub-sampled attention (GSA)'}
    for j, (kind, weights) in enumerate(sorted(maps.items(), key=lambda kv: kv[0] != 'lsa')):
        ax = axes.flat[1 + len(feats) + j]
        ax.imshow(rgb.astype(np.uint8))
        up = np.kron(weights, np.ones((stride, stride)))[:h, :w]
        ax.imshow(up, cmap='inferno', alpha=0.6)
        ax.plot([px], [py], 'c+', markersize=14, markeredgewidth=2)
        ax.set_title(f'stage {args.stage} {names[kind]}')
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f'wrote {args.out}: {len(feats)} pyramid levels, attention maps: '
          f'{", ".join(sorted(maps))}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
