"""Run a trained model on images and write annotated pictures.

    python tools/demo.py IMAGE_OR_DIR CONFIG CHECKPOINT --out-dir DIR [--device cpu] [--amp]

Detection, instance segmentation or semantic segmentation, as the config decides, through
mmdet's ``DetInferencer`` / mmseg's ``MMSegInferencer``. The checkpoint (a file or a URL)
is read with mmtwins' safe reader (a file that would run code is refused), must fit the
config's model completely (its backbone in any Twins layout), and its class names label the
pictures; a checkpoint without class names gets the config dataset's.
"""
import argparse
import contextlib
import os
import os.path as osp
import sys

from ..errors import InputNotFoundError
from .config_checks import load_config
from .devices import replace_norm_type
from .run import run_main

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('inputs', help='an image file or a directory of images')
    parser.add_argument('config', help='config file (mmdet or mmseg scope)')
    parser.add_argument('checkpoint', help='trained checkpoint (file or URL)')
    parser.add_argument('--out-dir', required=True, help='where the pictures are written')
    parser.add_argument('--device', default=None, help='cpu or cuda (default: cuda if any)')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='detection: draw boxes above this score')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: bf16 autocast on CPU, fp16 on GPU; '
                        'post-processing stays fp32')
    return parser.parse_args(argv)


def list_images(path):
    if osp.isfile(path):
        return [path]
    if osp.isdir(path):
        images = sorted(osp.join(path, f) for f in os.listdir(path)
                        if f.lower().endswith(IMAGE_EXTENSIONS))
        if images:
            return images
        raise InputNotFoundError(f'no images ({", ".join(IMAGE_EXTENSIONS)}) in {path}')
    raise InputNotFoundError(f'input not found: {path}')


def config_dataset_meta(cfg) -> dict:
    """Classes and palette of the config's test dataset (its class's METAINFO, updated by
    the config's ``metainfo``), without reading any data."""
    from mmengine.registry import DATASETS, init_default_scope
    init_default_scope(cfg.default_scope)
    dataset = cfg.test_dataloader.dataset
    while 'dataset' in dataset and 'type' in dataset['dataset']:  # dataset wrappers
        dataset = dataset['dataset']
    try:
        meta = dict(DATASETS.build(dict(dataset, lazy_init=True)).metainfo)
    except Exception:  # e.g. a data root that only exists on the training machine
        cls = DATASETS.get(dataset['type'])
        meta = dict(getattr(cls, 'METAINFO', {}), **dict(dataset.get('metainfo') or {}))
    return {k.lower(): v for k, v in meta.items()}


def checkpoint_dataset_meta(checkpoint) -> dict:
    """Class names (and palette) saved in a checkpoint: mmengine's ``dataset_meta`` or the
    mmcv 1.x ``CLASSES``/``PALETTE``; empty when it has none."""
    meta = checkpoint.get('meta', {}) if isinstance(checkpoint, dict) else {}
    if not isinstance(meta, dict):
        return {}
    if isinstance(meta.get('dataset_meta'), dict) and meta['dataset_meta'].get('classes'):
        return {k.lower(): v for k, v in meta['dataset_meta'].items()}
    if meta.get('CLASSES'):
        found = {'classes': tuple(meta['CLASSES'])}
        if meta.get('PALETTE') is not None:
            found['palette'] = [tuple(c) for c in meta['PALETTE']]
        return found
    return {}


def _palette(n: int) -> list:
    import numpy as np
    state = np.random.RandomState(42)  # the same colours on every run
    return [tuple(int(c) for c in state.randint(0, 256, 3)) for _ in range(n)]


def main(argv=None) -> int:
    args = parse_args(argv)
    import warnings

    import torch
    from mmengine.logging import print_log

    from ..checkpoint.whole_model import load_whole_model, read_whole_checkpoint, summary_line
    images = list_images(args.inputs)
    # read with mmtwins' safe reader: a file that would run code is refused here
    checkpoint, state_dict = read_whole_checkpoint(args.checkpoint)
    cfg = load_config(args.config)
    cfg.model.backbone.init_cfg = None  # the trained weights replace ImageNet's
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if device == 'cpu':
        replace_norm_type(cfg.model, 'SyncBN', 'BN')
    os.makedirs(args.out_dir, exist_ok=True)
    with warnings.catch_warnings():
        # built without weights (mmtwins loads them below): silence the inferencers'
        # "randomly initialized" / "default classes" warnings, which do not apply
        warnings.simplefilter('ignore')
        if cfg.default_scope == 'mmdet':
            from mmdet.apis import DetInferencer
            inferencer = DetInferencer(model=cfg, weights=None, device=device,
                                       show_progress=False)
        else:
            from mmseg.apis import MMSegInferencer
            inferencer = MMSegInferencer(model=cfg, weights=None, device=device)
    model = inferencer.model
    # the whole model must fit (the backbone part is converted from any Twins layout; the
    # summary line below covers it)
    report = load_whole_model(model, state_dict, source=args.checkpoint)
    print_log(summary_line(report, args.checkpoint), logger='current')
    meta = checkpoint_dataset_meta(checkpoint)
    origin = 'the checkpoint'
    if not meta:
        meta, origin = config_dataset_meta(cfg), 'the config (the checkpoint has none)'
    classes = tuple(meta.get('classes') or ())
    palette = meta.get('palette') or model.dataset_meta.get('palette')
    if not isinstance(palette, (list, tuple)) or len(palette) < len(classes):
        palette = _palette(len(classes))
    model.dataset_meta = dict(model.dataset_meta, classes=classes, palette=palette)
    if cfg.default_scope == 'mmdet':
        inferencer.visualizer.dataset_meta = model.dataset_meta
    print(f'[mmtwins] class names from {origin}: {len(classes)} classes', flush=True)
    precision = contextlib.nullcontext()
    if args.amp:
        from ..engine.amp import autocast_dtype, keep_postprocessing_fp32
        keep_postprocessing_fp32(model)
        device_type = 'cuda' if str(device).startswith('cuda') else 'cpu'
        dtype = autocast_dtype(device_type)
        precision = torch.autocast(device_type, dtype=dtype)
        print(f'[mmtwins] mixed precision: {str(dtype)[6:]} autocast ({device_type}), '
              f'post-processing in fp32', flush=True)
    with precision:
        if cfg.default_scope == 'mmdet':
            inferencer(images, out_dir=args.out_dir, pred_score_thr=args.score_thr,
                       no_save_pred=True)
        else:
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
