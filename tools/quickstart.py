#!/usr/bin/env python
"""Train and evaluate the quick-start config on toy ADE20K and draw its predictions.

    python tools/quickstart.py [--work-dir work_dirs/quickstart] [--data-dir data/toy] [--iters 40]
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = 'configs/toy/upernet_twins_svt_s_toy_ade20k.py'
_ITER = re.compile(r'Iter\(train\) \[\s*(\d+)/(\d+)\].*?\bloss: ([0-9.]+)')
_METRICS = '[mmtwins] metrics: '


def progress(line):
    """What a newcomer sees of a tool's output: progress, warnings of ours, results."""
    m = _ITER.search(line)
    if m:
        return f'  iteration {m.group(1)}/{m.group(2)}  loss {float(m.group(3)):.3f}'
    if line.startswith(_METRICS):
        metrics = json.loads(line[len(_METRICS):])
        return '  ' + ', '.join(f'{k} {v}' for k, v in metrics.items())
    if line.startswith('[mmtwins]') or line.startswith('error:'):
        return '  ' + line
    return None


def run(title, cmd, log_path):
    """Run a step; its full output goes to ``log_path``, the terminal gets the stage, its
    progress and results (and the end of the log if it fails)."""
    print(f'\n== {title}', flush=True)
    print(f'   $ {" ".join(cmd)}\n   (full output: {log_path})', flush=True)
    os.makedirs(osp.dirname(osp.abspath(log_path)), exist_ok=True)
    start = time.time()
    with open(log_path, 'w') as log:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, bufsize=1)
        tail = []
        for line in proc.stdout:
            log.write(line)
            tail = (tail + [line])[-40:]
            shown = progress(line.rstrip('\n'))
            if shown:
                print(shown, flush=True)
        code = proc.wait()
    if code != 0:
        sys.stderr.write(''.join(tail))
        raise SystemExit(f'\n{title} failed (exit status {code}); full output: {log_path}')
    print(f'   done in {time.time() - start:.0f} s', flush=True)


def tile(paths, out_path, columns=2, scale=2):
    """One picture of several visualizations (each: ground truth | prediction), enlarged."""
    from PIL import Image
    images = [Image.open(p).convert('RGB') for p in paths]
    images = [i.resize((i.width * scale, i.height * scale), Image.NEAREST) for i in images]
    w = max(i.width for i in images)
    h = max(i.height for i in images)
    rows = (len(images) + columns - 1) // columns
    sheet = Image.new('RGB', (w * columns, h * rows), 'white')
    for k, img in enumerate(images):
        sheet.paste(img, ((k % columns) * w, (k // columns) * h))
    sheet.save(out_path)
    return sheet.size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/quickstart')
    parser.add_argument('--data-dir', default='data/toy')
    parser.add_argument('--iters', type=int, default=40,
                        help='training iterations (40; mIoU is evaluated every 10, or at the end)')
    args = parser.parse_args()
    if args.iters < 1:
        parser.error(f'--iters must be at least 1, got {args.iters}')
    py = sys.executable
    ade_root = osp.join(args.data_dir, 'ade', 'ADEChallengeData2016')
    work = args.work_dir
    logs_dir = osp.join(work, 'quickstart_logs')
    if not osp.isdir(ade_root):
        run('1/4 data: toy ADE20K', [py, '-m', 'mmtwins.utils.toydata', 'ade20k', '--out',
                                     osp.join(args.data_dir, 'ade')],
            osp.join(logs_dir, 'data.log'))
    else:
        print(f'\n== 1/4 data: toy ADE20K already at {ade_root}')
    data_opt = [f'{k}.dataset.data_root={ade_root}'
                for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    iters = [f'train_cfg.max_iters={args.iters}',
             f'train_cfg.val_interval={min(10, args.iters)}',
             f'default_hooks.checkpoint.interval={args.iters}']
    run(f'2/4 training UPerNet Twins-SVT-S ({args.iters} iterations)',
        [py, 'tools/train.py', CONFIG, '--work-dir', work, '--cfg-options'] + data_opt + iters,
        osp.join(logs_dir, 'train.log'))
    checkpoint = osp.join(work, f'iter_{args.iters}.pth')
    vis_dir = osp.join(work, 'predictions')
    run('3/4 evaluation on the toy validation set',
        [py, 'tools/test.py', CONFIG, checkpoint, '--work-dir', work, '--show-dir', vis_dir,
         '--cfg-options'] + data_opt, osp.join(logs_dir, 'test.log'))
    pictures = sorted(glob.glob(osp.join(vis_dir, '**', '*.png'), recursive=True))
    if not pictures:
        print(f'no pictures were written under {vis_dir}', file=sys.stderr)
        return 1
    sheet = osp.join(work, 'predictions.png')
    size = tile(pictures[:6], sheet)
    run('4/4 pictures', [py, 'tools/analysis/plot_curves.py', work, '--out',
                         osp.join(work, 'curves.png')], osp.join(logs_dir, 'curves.log'))
    logs = sorted(p for p in glob.glob(osp.join(work, '*', '*.log')) if logs_dir not in p)
    print('\nquick start done:')
    print(f'  picture (ground truth | prediction, {len(pictures[:6])} validation images, '
          f'{size[0]}x{size[1]}): {osp.abspath(sheet)}')
    print(f'  all pictures: {osp.abspath(vis_dir)}')
    print(f'  curves:       {osp.abspath(osp.join(work, "curves.png"))}')
    print(f'  checkpoint:   {osp.abspath(checkpoint)}')
    print('  logs:         ' + ', '.join(osp.abspath(p) for p in logs))
    return 0


if __name__ == '__main__':
    sys.exit(main())
