#!/usr/bin/env python
"""Load test of inference: many varied input sizes in sequence, memory must not grow.

    python tools/analysis/load_test.py [--sizes 300] [--max-side 512] [--segmentor-sizes 40]

Runs Twins-SVT-S (and, with --segmentor-sizes, the whole UPerNet SVT-S segmentor) over
random input sizes (seeded), checks every output is finite and of the documented size, and
compares the resident memory of the last quarter of the run with the first quarter after
a warm-up at the largest size: a leak through cached masks or buffers would make it grow.
"""
import argparse
import math
import os
import os.path as osp
import random
import sys

import torch


def rss_mb():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def run(name, forward, sizes, check, tolerance_mb):
    """Forward every size; returns (peak RSS of first quarter, of last quarter)."""
    largest = max(sizes, key=lambda s: s[0] * s[1])
    forward(*largest)  # warm-up: the allocator's high-water mark
    quarter = max(1, len(sizes) // 4)
    marks = []
    for i, (h, w) in enumerate(sizes):
        outs = forward(h, w)
        check(outs, h, w)
        marks.append(rss_mb())
    first, last = max(marks[:quarter]), max(marks[-quarter:])
    grew = last - first
    verdict = 'memory did not grow' if grew <= tolerance_mb else 'MEMORY GREW'
    print(f'{name}: {len(sizes)} sizes, all outputs finite; resident memory first quarter '
          f'{first:.0f} MB, last quarter {last:.0f} MB ({grew:+.0f} MB): {verdict}', flush=True)
    return grew <= tolerance_mb


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sizes', type=int, default=300, help='backbone input sizes to run')
    parser.add_argument('--max-side', type=int, default=512)
    parser.add_argument('--segmentor-sizes', type=int, default=0,
                        help='also run the UPerNet SVT-S segmentor over this many sizes')
    parser.add_argument('--tolerance-mb', type=float, default=64)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    from mmtwins.models import TwinsSVT
    backbone = TwinsSVT(arch='small').eval()

    def sizes(n):
        return [(rng.randint(1, args.max_side), rng.randint(1, args.max_side)) for _ in range(n)]

    def forward_backbone(h, w):
        with torch.no_grad():
            return backbone(torch.randn(1, 3, h, w))

    def check_backbone(outs, h, w):
        for out, s in zip(outs, (4, 8, 16, 32)):
            assert out.shape[2:] == (math.ceil(h / s), math.ceil(w / s)), (h, w)
            assert torch.isfinite(out).all(), (h, w)

    ok = run('backbone Twins-SVT-S', forward_backbone, sizes(args.sizes), check_backbone,
             args.tolerance_mb)
    if args.segmentor_sizes:
        from mmengine.config import Config
        from mmengine.registry import init_default_scope
        from mmseg.registry import MODELS

        from mmtwins.cli.devices import replace_norm_type
        init_default_scope('mmseg')
        cfg = Config.fromfile(osp.join(osp.dirname(osp.dirname(osp.dirname(
            osp.abspath(__file__)))), 'configs', 'upernet_twins_svt_s_ade20k.py'))
        cfg.model.backbone.init_cfg = None
        replace_norm_type(cfg.model, 'SyncBN', 'BN')
        segmentor = MODELS.build(cfg.model).eval()
        segmentor.data_preprocessor.size = None  # accept any size

        def forward_segmentor(h, w):
            with torch.no_grad():
                return segmentor._forward(torch.randn(1, 3, h, w))

        def check_segmentor(logits, h, w):
            assert logits.shape[2:] == (math.ceil(h / 4), math.ceil(w / 4)), (h, w)
            assert torch.isfinite(logits).all(), (h, w)

        ok &= run('segmentor UPerNet Twins-SVT-S', forward_segmentor,
                  sizes(args.segmentor_sizes), check_segmentor, args.tolerance_mb)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
