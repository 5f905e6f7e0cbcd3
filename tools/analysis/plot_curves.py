#!/usr/bin/env python
"""Plot training curves (loss, learning rate, validation metrics) of a work dir to a PNG.

    python tools/analysis/plot_curves.py WORK_DIR [--keys loss mIoU] [--out curves.png]

Reads mmengine's ``<work_dir>/<timestamp>/vis_data/scalars.json`` of every run in the work
dir (a resumed run continues the curve), one panel per key.
"""
import argparse
import json
import os
import os.path as osp
import sys


def read_scalars(work_dir):
    records = []
    runs = sorted(d for d in os.listdir(work_dir)
                  if osp.isfile(osp.join(work_dir, d, 'vis_data', 'scalars.json')))
    for run in runs:
        with open(osp.join(work_dir, run, 'vis_data', 'scalars.json')) as f:
            records += [json.loads(line) for line in f if line.strip()]
    return records


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('work_dir')
    parser.add_argument('--keys', nargs='+', default=None,
                        help='scalars to plot (default: loss, lr and every metric found)')
    parser.add_argument('--out', default=None, help='PNG path (default: WORK_DIR/curves.png)')
    parser.add_argument('--width', type=float, default=6.0, help='inches per panel')
    args = parser.parse_args(argv)
    if not osp.isdir(args.work_dir):
        print(f'error: no such work dir: {args.work_dir}', file=sys.stderr)
        return 1
    records = read_scalars(args.work_dir)
    if not records:
        print(f'error: no vis_data/scalars.json under {args.work_dir}', file=sys.stderr)
        return 1
    found = {k for r in records for k, v in r.items()
             if k not in ('step', 'epoch', 'iter') and isinstance(v, (int, float))}
    skip = ('lr', 'base_lr', 'time', 'data_time', 'memory', 'eta')
    metrics = sorted(k for k in found
                     if 'loss' not in k and k not in skip and not k.endswith('acc_seg'))
    keys = args.keys or [k for k in ('loss', 'lr') if k in found] + metrics
    missing = [k for k in keys if k not in found]
    if missing:
        print(f'error: {missing} not in the logs; available: {sorted(found)}', file=sys.stderr)
        return 1
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(keys), figsize=(args.width * len(keys), 4), squeeze=False)
    for ax, key in zip(axes[0], keys):
        points = [(r['step'], r[key]) for r in records if key in r and 'step' in r]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker='.' if len(points) < 50
                else None)
        if points and key in metrics:  # an evaluation's figure, as a number too
            ax.annotate(f'{points[-1][1]:.4g}', points[-1], textcoords='offset points',
                        xytext=(-4, 6), ha='right')
        ax.set_title(key)
        ax.set_xlabel('iteration' if 'epoch' not in records[-1] else 'step')
        ax.grid(alpha=0.3)
    fig.suptitle(osp.basename(osp.abspath(args.work_dir)))
    fig.tight_layout()
    out = args.out or osp.join(args.work_dir, 'curves.png')
    fig.savefig(out, dpi=100)
    print(f'wrote {out} ({", ".join(keys)})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
