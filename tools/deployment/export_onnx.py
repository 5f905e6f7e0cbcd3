#!/usr/bin/env python
"""Export a Twins backbone, or a whole segmentor/detector network, to ONNX at a fixed input
size, and check it against PyTorch with ONNX Runtime.

    python tools/deployment/export_onnx.py --shape 512 512 --out twins.onnx \\
        [--config CONFIG | --arch svt_s] [--checkpoint CKPT] [--batch 1] [--check]
    python tools/deployment/export_onnx.py --whole --config CONFIG [--checkpoint CKPT] \\
        --shape 512 512 --out model.onnx --check

Input ``image`` (B, 3, H, W), normalised as the config's data preprocessor does (RGB,
``(x - mean) / std``; the mean and std are printed).

* backbone (default): outputs ``level1``..``level4``, the NCHW maps at strides 4, 8, 16, 32;
* ``--whole`` with a segmentation config: output ``logits`` (B, classes, H, W), the decode
  head's scores resized to the input as mmseg's whole-image inference does (argmax over
  classes is the prediction);
* ``--whole`` with a detection config: the raw dense-head outputs, before box decoding and
  NMS: ``cls_score{i}`` and ``bbox_pred{i}`` per FPN level for one-stage detectors (RetinaNet),
  the RPN's for two-stage ones (Mask R-CNN, whose RoI heads need the proposals' NMS and
  RoIAlign; export those with mmdeploy).

``--check`` runs the file with ONNX Runtime on a random input and compares with PyTorch: the
largest difference relative to the largest output value must stay within ``--rtol`` (1e-4),
and for segmentation the share of pixels whose argmax class agrees is printed. Exit status 1
when the check fails. The graph holds the input size it was exported at; with ``--dynamic``
the backbone's graph takes any batch size and any height and width that are multiples of
32 (pad images to that). Whole models export at one size: the hosts' heads fix sizes in
the graph (mmseg's ``Upsample`` turns them into Python ints).
"""
import argparse
import sys

import torch

from mmtwins.cli.backbone import add_backbone_args, load_backbone
from mmtwins.cli.run import run_main
from mmtwins.deployment.onnx import (DenseHeadOutputs, SegmentorLogits, build_whole, compare,
                                     export, normalisation, ort_session)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_backbone_args(parser)
    parser.add_argument('--whole', action='store_true',
                        help="export the config's whole network (segmentor: logits; "
                        'detector: raw dense-head outputs), not only the backbone')
    parser.add_argument('--shape', nargs=2, type=int, required=True, metavar=('H', 'W'))
    parser.add_argument('--dynamic', action='store_true',
                        help='backbone only: any batch size, and any height and width that '
                        'are multiples of 32 (--shape too); --check also runs another size')
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--out', required=True, help='.onnx file to write')
    parser.add_argument('--opset', type=int, default=18)
    parser.add_argument('--check', action='store_true', help='compare with onnxruntime')
    parser.add_argument('--rtol', type=float, default=1e-4,
                        help='--check: largest difference / largest output value (1e-4)')
    args = parser.parse_args(argv)
    if args.whole and not args.config:
        parser.error('--whole needs --config (a segmentation or detection config)')
    if args.dynamic and args.whole:
        parser.error('--dynamic exports the backbone only: in a whole segmentor or detector, '
                     "the hosts' heads fix sizes in the graph (wrong outputs at other sizes "
                     'with torch 2.13); export the whole model once per size')
    if args.dynamic and (args.shape[0] % 32 or args.shape[1] % 32):
        parser.error(f'--dynamic: --shape must be multiples of 32, got {args.shape}')
    x = torch.randn(args.batch, 3, *args.shape)
    if args.whole:
        model, cfg = build_whole(args.config, args.checkpoint)
        if cfg.default_scope == 'mmseg':
            module, names = SegmentorLogits(model).eval(), ['logits']
        else:
            module = DenseHeadOutputs(model).eval()
            with torch.no_grad():
                n = len(module(x)) // 2
            names = [f'cls_score{i}' for i in range(n)] + [f'bbox_pred{i}' for i in range(n)]
        print(f'input normalisation: {normalisation(cfg)}')
    else:
        module = load_backbone(args)
        names = [f'level{i + 1}' for i in module.out_indices]
        cfg = None
        if args.config:
            from mmtwins.cli.config_checks import load_config
            cfg = load_config(args.config)
        print(f'input normalisation: {normalisation(cfg)}')
    # a dynamic batch is traced at 2: torch.export specialises sizes of 1
    export(module, x.repeat(2, 1, 1, 1) if args.dynamic and args.batch == 1 else x, args.out,
           names, args.opset, dynamic=args.dynamic)
    with torch.no_grad():
        outs = module(x)
    outs = outs if isinstance(outs, (tuple, list)) else (outs,)
    print(f'wrote {args.out}: input image {tuple(x.shape)}, outputs '
          + ', '.join(f'{n} {tuple(o.shape)}' for n, o in zip(names, outs)))
    if args.check:
        session = ort_session(args.out)
        probes = [torch.randn_like(x)]
        if args.dynamic:  # and a size other than the traced one
            probes.append(torch.randn(args.batch, 3, x.shape[2] + 32, x.shape[3] + 64))
        worst = 0.0
        for probe in probes:
            got = session.run(None, {'image': probe.numpy()})
            with torch.no_grad():
                want = module(probe)
            want = want if isinstance(want, (tuple, list)) else (want,)
            diff = compare(got, want)
            worst = max(worst, diff)
            line = (f'onnxruntime vs PyTorch at {tuple(probe.shape[2:])}: max difference '
                    f'{diff:.2e} of the largest output value (tolerance {args.rtol})')
            if names == ['logits']:
                same = float((torch.from_numpy(got[0]).argmax(1) == want[0].argmax(1))
                             .float().mean())
                line += f'; {100 * same:.3f}% of pixels with the same class'
            print(line)
        return 0 if worst <= args.rtol else 1
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
