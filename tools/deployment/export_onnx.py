#!/usr/bin/env python
"""Export a Twins backbone to ONNX at a fixed input size, and check it against PyTorch.

    python tools/deployment/export_onnx.py --shape 512 512 --out twins.onnx \\
        [--config CONFIG | --arch svt_s] [--checkpoint CKPT] [--batch 1] [--check]

Input ``image`` (B, 3, H, W), normalised as in training; outputs ``level1``..``level4``, the
NCHW maps at strides 4, 8, 16, 32. ``--check`` runs the file with onnxruntime on a random
input and compares with PyTorch (exit status 1 above ``--atol``).
"""
import argparse
import sys

import torch

from mmtwins.cli.backbone import add_backbone_args, load_backbone


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_backbone_args(parser)
    parser.add_argument('--shape', nargs=2, type=int, required=True, metavar=('H', 'W'))
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--out', required=True, help='.onnx file to write')
    parser.add_argument('--opset', type=int, default=18)
    parser.add_argument('--check', action='store_true', help='compare with onnxruntime')
    parser.add_argument('--atol', type=float, default=1e-4)
    args = parser.parse_args(argv)
    backbone = load_backbone(args)
    x = torch.randn(args.batch, 3, *args.shape)
    names = [f'level{i + 1}' for i in backbone.out_indices]
    torch.onnx.export(backbone, (x,), args.out, input_names=['image'], output_names=names,
                      opset_version=args.opset, dynamo=True)
    with torch.no_grad():
        shapes = [tuple(o.shape) for o in backbone(x)]
    print(f'wrote {args.out}: input image {tuple(x.shape)}, outputs '
          + ', '.join(f'{n} {s}' for n, s in zip(names, shapes)))
    if args.check:
        import onnxruntime as ort
        session = ort.InferenceSession(args.out, providers=['CPUExecutionProvider'])
        probe = torch.randn_like(x)
        got = session.run(None, {'image': probe.numpy()})
        with torch.no_grad():
            want = backbone(probe)
        diff = max(float(abs(g - w.numpy()).max()) for g, w in zip(got, want))
        print(f'onnxruntime vs PyTorch: max abs difference {diff:.2e} (tolerance {args.atol})')
        return 0 if diff <= args.atol else 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
