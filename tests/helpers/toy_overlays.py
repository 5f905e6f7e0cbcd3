"""User-style configs for the end-to-end tests: each inherits a shipped config by absolute
path and points it at tiny toy data, small images and a few iterations, as a user's own
project would."""
import os.path as osp

from helpers import REPO_ROOT

CONFIGS = osp.join(REPO_ROOT, 'configs')

SEG = '''
_base_ = [{base!r}]
data_root = {data_root!r}
crop_size = (64, 64)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(160, 64), ratio_range=(0.9, 1.1), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(160, 64), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
model = dict(data_preprocessor=dict(size=crop_size), backbone=dict(init_cfg=None))
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_iters={iters}, val_interval={iters})
{lr}param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end={iters})]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval={ckpt_interval}))
randomness = dict(seed=0)
'''

DET = '''
_base_ = [{base!r}]
data_root = {data_root!r}
img_scale = {img_scale!r}
model = dict(backbone=dict(init_cfg=None))
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask={masks}),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask={masks}),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1))
randomness = dict(seed=0)
'''


def seg_overlay(tmp_path, config, data_root, iters=4, lr=6e-4, ckpt_interval=None,
                name='user_seg.py', extra=''):
    """``config``: a name under configs/ (inherited by absolute path) or ``mmtwins::NAME``;
    ``lr=None`` keeps the config's; ``extra``: lines appended (e.g. ``model.update(...)``)."""
    base = config if config.startswith('mmtwins::') else osp.join(CONFIGS, config)
    lr_line = f'optim_wrapper = dict(optimizer=dict(lr={lr}))\n' if lr is not None else ''
    text = SEG.format(base=base, data_root=str(data_root), iters=iters,
                      lr=lr_line, ckpt_interval=ckpt_interval or iters) + extra
    path = tmp_path / name
    path.write_text(text)
    return path


def det_overlay(tmp_path, config, data_root, masks=False, img_scale=(192, 128),
                name='user_det.py', extra=''):
    """``config`` as for :func:`seg_overlay`; ``extra``: lines appended."""
    base = config if config.startswith('mmtwins::') else osp.join(CONFIGS, config)
    text = DET.format(base=base, data_root=str(data_root).rstrip('/') + '/',
                      img_scale=img_scale, masks=masks) + extra
    path = tmp_path / name
    path.write_text(text)
    return path
