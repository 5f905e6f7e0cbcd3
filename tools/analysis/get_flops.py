#!/usr/bin/env python
"""Parameters and FLOPs of a config's model (backbone and whole), attention included.

    python tools/analysis/get_flops.py CONFIG [--shape H W]
    python tools/analysis/get_flops.py --table [--output docs/model_zoo.md]

FLOPs follow the paper's convention: one multiply-add counts as one FLOP (so these are
GMACs). They are counted on a real forward pass by torch's FLOP counter, with mmtwins'
attention run as explicit matmuls so that the attention products (q @ k^T, attn @ v) are
counted, not only the linear and conv layers. Default input: 512x512 for segmentation
(test mode, the decode head without the auxiliary head), 800x1280 for detection.
"""
import argparse
import glob
import importlib
import os.path as osp
import sys

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

DEFAULT_SHAPE = {'mmseg': (512, 512), 'mmdet': (800, 1280)}


def build_model(config):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmtwins  # noqa: F401
    from mmtwins.cli.devices import replace_norm_type
    cfg = Config.fromfile(config)
    init_default_scope(cfg.default_scope)
    cfg.model.backbone.init_cfg = None
    replace_norm_type(cfg.model, 'SyncBN', 'BN')
    registry = importlib.import_module(f'{cfg.default_scope}.registry').MODELS
    return cfg, registry.build(cfg.model).eval()


def dummy_samples(scope, h, w):
    meta = dict(img_shape=(h, w), pad_shape=(h, w), ori_shape=(h, w), scale_factor=(1.0, 1.0),
                batch_input_shape=(h, w))
    if scope == 'mmdet':
        from mmdet.structures import DetDataSample
        return [DetDataSample(metainfo=meta)]
    from mmseg.structures import SegDataSample
    return [SegDataSample(metainfo=meta)]


def measure(config, shape=None):
    """Dict of params and GFLOPs (multiply-adds) of backbone and whole model."""
    from mmtwins.utils.flops import count_flops
    cfg, model = build_model(config)
    h, w = shape or DEFAULT_SHAPE[cfg.default_scope]
    x = torch.randn(1, 3, h, w)
    samples = dummy_samples(cfg.default_scope, h, w)
    whole = count_flops(lambda: model._forward(x, samples), model)['total'] / 2
    backbone = count_flops(lambda: model.backbone(x), model.backbone)
    attention = sum(n for op, n in backbone.items() if op in ('bmm', 'matmul', 'baddbmm')) / 2
    return dict(
        config=osp.relpath(config, REPO), shape=(h, w),
        params=sum(p.numel() for p in model.parameters()),
        backbone_params=sum(p.numel() for p in model.backbone.parameters()),
        flops=whole, backbone_flops=backbone['total'] / 2, attention_flops=attention)


def print_one(r):
    print(f'config:          {r["config"]}')
    print(f'input shape:     1x3x{r["shape"][0]}x{r["shape"][1]}')
    print(f'params:          {r["params"] / 1e6:.2f} M '
          f'(backbone {r["backbone_params"] / 1e6:.2f} M)')
    print(f'FLOPs:           {r["flops"] / 1e9:.1f} G (backbone {r["backbone_flops"] / 1e9:.1f} G, '
          f'of which attention matmuls {r["attention_flops"] / 1e9:.2f} G)')
    print('FLOPs count multiply-adds (the paper convention), attention products included.')


TABLE_BEGIN = '<!-- get_flops table begin -->'
TABLE_END = '<!-- get_flops table end -->'


def write_table(output):
    rows = []
    for config in sorted(glob.glob(osp.join(REPO, 'configs', '*.py'))):
        r = measure(config)
        rows.append(r)
        print(f'{r["config"]:55s} {r["params"] / 1e6:7.2f} M {r["flops"] / 1e9:7.1f} G',
              flush=True)
    lines = [TABLE_BEGIN,
             '| config | input | params (M) | backbone params (M) | FLOPs (G) '
             '| backbone FLOPs (G) |',
             '|---|---|---|---|---|---|']
    for r in rows:
        lines.append(f'| `{r["config"]}` | {r["shape"][0]}x{r["shape"][1]} | '
                     f'{r["params"] / 1e6:.2f} | {r["backbone_params"] / 1e6:.2f} | '
                     f'{r["flops"] / 1e9:.1f} | {r["backbone_flops"] / 1e9:.1f} |')
    lines.append(TABLE_END)
    table = '\n'.join(lines)
    text = open(output).read() if osp.exists(output) else ''
    if TABLE_BEGIN in text and TABLE_END in text:
        head, rest = text.split(TABLE_BEGIN, 1)
        text = head + table + rest.split(TABLE_END, 1)[1]
    else:
        text = (text.rstrip() + '\n\n' if text else '# Model zoo: parameters and FLOPs\n\n'
                'Written by `python tools/analysis/get_flops.py --table`. FLOPs count '
                'multiply-adds, attention matmuls included; segmentation at 512x512 (decode '
                'head, no auxiliary head), detection at 800x1280.\n\n') + table + '\n'
    with open(output, 'w') as f:
        f.write(text)
    print(f'wrote {output}')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', nargs='?')
    parser.add_argument('--shape', nargs=2, type=int, metavar=('H', 'W'))
    parser.add_argument('--table', action='store_true', help='all configs into --output')
    parser.add_argument('--output', default=osp.join(REPO, 'docs', 'model_zoo.md'))
    args = parser.parse_args(argv)
    if args.table:
        write_table(args.output)
        return 0
    if not args.config:
        parser.error('give a CONFIG or --table')
    if not osp.isfile(args.config):
        print(f'error: config file not found: {args.config}', file=sys.stderr)
        return 1
    print_one(measure(args.config, tuple(args.shape) if args.shape else None))
    return 0


if __name__ == '__main__':
    sys.exit(main())
