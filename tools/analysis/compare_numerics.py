#!/usr/bin/env python
"""How much mmseg's numerics change a trained segmentor's predictions.

    python tools/analysis/compare_numerics.py CONFIG CHECKPOINT IMAGE_OR_DIR [--device cpu]

mmseg trained its Twins checkpoints with its own implementation: block and stage LayerNorms
with eps 1e-5 (official: 1e-6) and a window mask that is off when only one side of a map
needs padding. mmtwins runs the official numerics by default; ``norm_eps=1e-5`` with
``window_padding='mmseg'`` reproduces mmseg's. This tool runs both on the given images and
prints, per image and overall, the relative difference of the logits and the share of
pixels whose predicted class changes.
"""
import argparse
import os
import os.path as osp
import sys

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='an mmseg-scope config of mmtwins')
    parser.add_argument('checkpoint', help='trained segmentor checkpoint (file or URL)')
    parser.add_argument('images', help='an image or a directory of images')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='key=value overrides, as for tools/test.py')
    return parser.parse_args(argv)


def build(config, checkpoint, device, options, **backbone):
    from mmseg.apis import init_model

    from mmtwins.cli.config_checks import load_config
    from mmtwins.cli.devices import replace_norm_type
    cfg = load_config(config, options)
    cfg.model.backbone.init_cfg = None
    cfg.model.backbone.update(backbone)
    if device == 'cpu':
        replace_norm_type(cfg.model, 'SyncBN', 'BN')
    return init_model(cfg, checkpoint, device=device)


def compare(official, mmseg_like, images):
    """Yield (image, relative logit difference, share of changed pixels)."""
    import torch
    from mmseg.apis import inference_model
    for path in images:
        with torch.no_grad():
            a = inference_model(official, path)
            b = inference_model(mmseg_like, path)
        la, lb = a.seg_logits.data.float(), b.seg_logits.data.float()
        rel = ((la - lb).norm() / lb.norm().clamp_min(1e-12)).item()
        changed = (a.pred_sem_seg.data != b.pred_sem_seg.data).float().mean().item()
        yield path, rel, changed


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmtwins.checkpoint import resolve_checkpoint_path
    if osp.isdir(args.images):
        images = sorted(osp.join(args.images, f) for f in os.listdir(args.images)
                        if f.lower().endswith(IMAGE_EXTENSIONS))
    elif osp.isfile(args.images):
        images = [args.images]
    else:
        print(f'error: no such image or directory: {args.images}', file=sys.stderr)
        return 1
    if not images:
        print(f'error: no images in {args.images}', file=sys.stderr)
        return 1
    checkpoint = resolve_checkpoint_path(args.checkpoint)
    official = build(args.config, checkpoint, args.device, args.cfg_options)
    mmseg_like = build(args.config, checkpoint, args.device, args.cfg_options, norm_eps=1e-5,
                       window_padding='mmseg')
    rels, changes = [], []
    for path, rel, changed in compare(official, mmseg_like, images):
        rels.append(rel)
        changes.append(changed)
        print(f'{osp.basename(path)}: logits rel. diff {rel:.2e}, '
              f'changed pixels {100 * changed:.3f}%')
    print(f'official vs mmseg numerics over {len(images)} image(s): logits rel. diff mean '
          f'{sum(rels) / len(rels):.2e} (max {max(rels):.2e}); changed pixels mean '
          f'{100 * sum(changes) / len(changes):.3f}% (max {100 * max(changes):.3f}%)')
    return 0


if __name__ == '__main__':
    from mmtwins.cli.run import run_main
    sys.exit(run_main(main))
