"""Run a trained model on images and write annotated pictures.

    python tools/demo.py IMAGE_OR_DIR CONFIG CHECKPOINT --out-dir DIR [--device cpu]

Detection, instance segmentation or semantic segmentation, as the config decides, through
mmdet's ``DetInferencer`` / mmseg's ``MMSegInferencer``. The checkpoint is checked with
mmtwins' safe reader first: a file that would run code is refused.
"""
import argparse
import os
import os.path as osp
import sys

from .common import UserError, load_config, replace_norm_type, run_main

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('inputs', help='an image file or a directory of images')
    parser.add_argument('config', help='config file (mmdet or mmseg scope)')
    parser.add_argument('checkpoint', help='trained checkpoint')
    parser.add_argument('--out-dir', required=True, help='where the pictures are written')
    parser.add_argument('--device', default=None, help='cpu or cuda (default: cuda if any)')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='detection: draw boxes above this score')
    return parser.parse_args(argv)


def list_images(path):
    if osp.isfile(path):
        return [path]
    if osp.isdir(path):
        images = sorted(osp.join(path, f) for f in os.listdir(path)
                        if f.lower().endswith(IMAGE_EXTENSIONS))
        if images:
            return images
        raise UserError(f'no images ({", ".join(IMAGE_EXTENSIONS)}) in {path}')
    raise UserError(f'input not found: {path}')


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from ..checkpoint import load_file
    images = list_images(args.inputs)
    if not osp.isfile(args.checkpoint):
        raise UserError(f'checkpoint not found: {args.checkpoint}')
    load_file(args.checkpoint)  # refuses code-executing pickles before anything else
    cfg = load_config(args.config)
    cfg.model.backbone.init_cfg = None  # the trained weights replace ImageNet's
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if device == 'cpu':
        replace_norm_type(cfg.model, 'SyncBN', 'BN')
    os.makedirs(args.out_dir, exist_ok=True)
    if cfg.default_scope == 'mmdet':
        from mmdet.apis import DetInferencer
        inferencer = DetInferencer(model=cfg, weights=args.checkpoint, device=device,
                                   show_progress=False)
        inferencer(images, out_dir=args.out_dir, pred_score_thr=args.score_thr,
                   no_save_pred=True)
    else:
        from mmseg.apis import MMSegInferencer
        inferencer = MMSegInferencer(model=cfg, weights=args.checkpoint, device=device)
        inferencer(images, out_dir=args.out_dir, show=False)
    vis_dir = osp.join(args.out_dir, 'vis')
    written = [f for f in os.listdir(vis_dir) if f.lower().endswith(IMAGE_EXTENSIONS)] \
        if osp.isdir(vis_dir) else []
    print(f'[mmtwins] wrote {len(written)} picture(s) to {osp.abspath(vis_dir)}')
    return 0


def cli() -> int:
    """Console-script entry point (mmtwins-demo)."""
    return run_main(main)


if __name__ == '__main__':
    sys.exit(run_main(main))
