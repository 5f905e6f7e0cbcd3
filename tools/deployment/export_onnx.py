#!/usr/bin/env python
"""Export a Twins backbone to ONNX at any input size, and check it against PyTorch with ONNX
Runtime.

    python tools/deployment/export_onnx.py --shape 512 512 --out twins.onnx \\
        [--config CONFIG | --arch svt_s] [--checkpoint CKPT] [--batch 1] [--dynamic] [--check]

Input ``image`` (B, 3, H, W), normalised as the config's data preprocessor does (RGB,
``(x - mean) / std``; the mean and std are printed). Outputs ``level1``..``level4``, the NCHW
maps at strides 4, 8, 16, 32. The graph holds the input size it was exported at; with
``--dynamic`` it takes any batch size, height and width.

``--check`` runs the file with ONNX Runtime on a random input (and with ``--dynamic``, at
another size too) and compares with PyTorch: the largest difference relative to the largest
output value must stay within ``--rtol`` (1e-4); exit status 1 when it does not.

Whole segmentors and detectors (with their post-processing: classes, boxes after NMS, masks)
deploy through mmdeploy, at any size: ``python tools/deployment/deploy.py CONFIG CHECKPOINT
IMAGE --work-dir DIR`` (docs/deployment.md). ``--whole`` says so.
"""
import argparse
import sys

import torch

from mmtwins.cli.backbone import add_backbone_args, load_backbone
from mmtwins.cli.run import run_main
from mmtwins.deployment.onnx import compare, export, normalisation, ort_session


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_backbone_args(parser)
    parser.add_argument('--whole', action='store_true',
                        help='whole models deploy through mmdeploy: tools/deployment/deploy.py')
    parser.add_argument('--shape', nargs=2, type=int, required=True, metavar=('H', 'W'))
    parser.add_argument('--dynamic', action='store_true',
                        help='any batch size, height and width; --check also runs two other '
                        'sizes')
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--out', required=True, help='.onnx file to write')
    parser.add_argument('--opset', type=int, default=18)
    parser.add_argument('--check', action='store_true', help='compare with onnxruntime')
    parser.add_argument('--rtol', type=float, default=1e-4,
                        help='--check: largest difference / largest output value (1e-4)')
    args = parser.parse_args(argv)
    if args.whole:
        parser.error('whole segmentors and detectors deploy through mmdeploy, at any size and '
                     'with their post-processing: python tools/deployment/deploy.py CONFIG '
                     'CHECKPOINT IMAGE --work-dir DIR (docs/deployment.md); this tool exports '
                     'the backbone')
    x = torch.randn(args.batch, 3, *args.shape)
    module = load_backbone(args)
    names = [f'level{i + 1}' for i in module.out_indices]
    cfg = None
    if args.config:
        from mmtwins.cli.config_checks import load_config
        cfg = load_config(args.config)
    print(f'input normalisation: {normalisation(cfg)}')
    export(module, x, args.out, names, args.opset, dynamic=args.dynamic)
    with torch.no_grad():
        outs = module(x)
    outs = outs if isinstance(outs, (tuple, list)) else (outs,)
    print(f'wrote {args.out}: input image {tuple(x.shape)}, outputs '
          + ', '.join(f'{n} {tuple(o.shape)}' for n, o in zip(names, outs)))
    if args.check:
        session = ort_session(args.out)
        probes = [torch.randn_like(x)]
        if args.dynamic:  # and sizes other than the traced one, one not a multiple of 32
            probes.append(torch.randn(args.batch + 1, 3, x.shape[2] + 32, x.shape[3] + 64))
            probes.append(torch.randn(args.batch, 3, x.shape[2] + 13, max(x.shape[3] - 27, 1)))
        worst = 0.0
        for probe in probes:
            got = session.run(None, {'image': probe.numpy()})
            with torch.no_grad():
                want = module(probe)
            want = want if isinstance(want, (tuple, list)) else (want,)
            diff = compare(got, want)
            worst = max(worst, diff)
            print(f'onnxruntime vs PyTorch at {tuple(probe.shape[2:])}: max difference '
                  f'{diff:.2e} of the largest output value (tolerance {args.rtol})')
        return 0 if worst <= args.rtol else 1
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
