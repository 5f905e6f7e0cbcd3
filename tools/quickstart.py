#!/usr/bin/env python
"""Train and evaluate the quick-start config on toy ADE20K and draw its predictions.

    python tools/quickstart.py [--work-dir work_dirs/quickstart] [--data-dir data/toy]
"""
import argparse
import glob
import os.path as osp
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = 'configs/toy/upernet_twins_svt_s_toy_ade20k.py'


def run(cmd):
    print('\n$ ' + ' '.join(cmd), flush=True)
    subprocess.run(cmd, cwd=REPO, check=True)


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
    args = parser.parse_args()
    py = sys.executable
    ade_root = osp.join(args.data_dir, 'ade', 'ADEChallengeData2016')
    if not osp.isdir(ade_root):
        run([py, '-m', 'mmtwins.toydata', 'ade20k', '--out', osp.join(args.data_dir, 'ade')])
    data_opt = [f'{k}.dataset.data_root={ade_root}'
                for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    work = args.work_dir
    run([py, 'tools/train.py', CONFIG, '--work-dir', work, '--cfg-options'] + data_opt)
    checkpoint = osp.join(work, 'iter_40.pth')
    vis_dir = osp.join(work, 'predictions')
    run([py, 'tools/test.py', CONFIG, checkpoint, '--work-dir', work, '--show-dir', vis_dir,
         '--cfg-options'] + data_opt)
    pictures = sorted(glob.glob(osp.join(vis_dir, '**', '*.png'), recursive=True))
    if not pictures:
        print(f'no pictures were written under {vis_dir}', file=sys.stderr)
        return 1
    sheet = osp.join(work, 'predictions.png')
    size = tile(pictures[:6], sheet)
    run([py, 'tools/analysis/plot_curves.py', work, '--out', osp.join(work, 'curves.png')])
    logs = sorted(glob.glob(osp.join(work, '*', '*.log')))
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
