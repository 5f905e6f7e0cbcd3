#!/usr/bin/env python
"""Convert a Twins checkpoint of any known layout to mmtwins' format.

    python tools/model_converters/twins2mmtwins.py SRC DST [--prefix backbone.]

SRC may be an official/timm file (.pth or .safetensors, bare or under 'model'), an mmseg
or mmpretrain file, or a whole mmdet/mmseg checkpoint (the backbone under 'backbone.').
It is read with torch.load(weights_only=True); files that need arbitrary pickled objects
are refused. DST holds {'state_dict': <mmtwins names>, 'meta': {...}} and loads with
init_cfg=dict(type='Pretrained', checkpoint=DST).
"""
import argparse
import os
import os.path as osp
import sys
import tempfile

import torch

from mmtwins import __version__
from mmtwins.checkpoint import CheckpointError, describe_arch, load_checkpoint_as_mmtwins


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='source checkpoint: local path or URL')
    parser.add_argument('dst', help='output .pth path')
    parser.add_argument('--prefix', default=None,
                        help="backbone prefix inside a whole model (default: 'backbone.' "
                             "is detected automatically)")
    parser.add_argument('--force', action='store_true', help='overwrite DST if it exists')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if osp.exists(args.dst) and not args.force:
        print(f'error: {args.dst} exists; pass --force to overwrite it', file=sys.stderr)
        return 2
    if osp.exists(args.src) and osp.exists(args.dst) and osp.samefile(args.src, args.dst):
        print('error: SRC and DST are the same file', file=sys.stderr)
        return 2
    try:
        info = load_checkpoint_as_mmtwins(args.src, prefix=args.prefix)
    except CheckpointError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    if info['unknown']:
        print(f'error: {len(info["unknown"])} tensor(s) of {args.src} are not Twins backbone '
              f'weights (e.g. {info["unknown"][:4]}); pass --prefix for a whole model',
              file=sys.stderr)
        return 1
    state_dict = {k: v.contiguous() for k, v in info['state_dict'].items()}
    meta = dict(mmtwins_version=__version__, source=str(args.src), source_format=info['format'],
                arch=describe_arch(state_dict))
    out_dir = osp.dirname(osp.abspath(args.dst))
    os.makedirs(out_dir, exist_ok=True)
    # write next to DST and rename, so DST is never left half written
    fd, tmp = tempfile.mkstemp(dir=out_dir, suffix='.tmp')
    os.close(fd)
    try:
        torch.save(dict(state_dict=state_dict, meta=meta), tmp)
        os.replace(tmp, args.dst)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    print(f'wrote {args.dst}: {len(state_dict)} tensors, {meta["arch"]}, from the '
          f'{info["format"]} layout; ignored {len(info["ignored"])} classifier tensor(s)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
