"""Train an mmdet or mmseg config (the config's ``default_scope`` decides).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--compile]
                          [--auto-scale-lr] [--cfg-options k=v ...] [--launcher pytorch]
"""
import argparse
import os
import sys

from ..checkpoint.download import is_url
from ..engine.checkpointing import find_resumable_checkpoint
from ..errors import CheckpointNotFoundError, ConfigError
from .config_checks import (add_hook_once, check_batch_norm_batch, ensure_atomic_checkpoints,
                            load_config)
from .data_checks import check_data
from .devices import adapt_to_device
from .run import (add_run_args, build_runner, default_work_dir, enable_compile,
                  enable_shape_buckets, parse_run_args, run_main)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train a detector or segmentor with a Twins backbone')
    parser.add_argument('config', help='config file (mmdet or mmseg scope)')
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT (a file or an http(s) URL), or with no value from '
                             'the newest complete checkpoint of the work dir (a fresh start if '
                             'there is none)')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: fp16 with loss scaling on GPU, bf16 on CPU')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by (total batch size / auto_scale_lr.base_batch_size)')
    add_run_args(parser, 'train_cfg.max_iters=100')
    return parse_run_args(parser, argv)


def enable_amp(cfg) -> None:
    import torch
    wrapper = cfg.optim_wrapper
    if wrapper.get('type') in ('AmpOptimWrapper', 'AutocastOptimWrapper'):
        print(f'[mmtwins] mixed precision already on ({wrapper["type"]})', flush=True)
    elif torch.cuda.is_available():
        wrapper['type'] = 'AmpOptimWrapper'
        wrapper['loss_scale'] = 'dynamic'
    else:
        wrapper['type'] = 'AutocastOptimWrapper'
        wrapper['dtype'] = 'bfloat16'
    # RoIAlign and post-processing in fp32 (mmcv has no bf16 RoIAlign)
    add_hook_once(cfg, 'FP32PostProcessingHook')


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)
    if args.amp:
        enable_amp(cfg)
    if args.compile or args.compile_mode:
        enable_compile(cfg, args.compile_mode)
    if args.shape_buckets is not None:
        enable_shape_buckets(cfg, args.shape_buckets, 'val_dataloader')
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise ConfigError('--auto-scale-lr: the config has no auto_scale_lr.base_batch_size')
        cfg.auto_scale_lr.enable = True
    ensure_atomic_checkpoints(cfg)
    if args.resume == 'auto':
        latest = find_resumable_checkpoint(cfg.work_dir)
        if latest is None:
            print(f'[mmtwins] --resume: no complete checkpoint in {cfg.work_dir}; '
                  f'training from the start', flush=True)
        cfg.resume = latest is not None
        cfg.load_from = latest
    elif args.resume is not None:
        if not is_url(args.resume) and not os.path.isfile(args.resume):
            raise CheckpointNotFoundError(f'--resume {args.resume}: no such checkpoint file (give '
                                          f'a file or an http(s) URL)')
        cfg.resume = True
        cfg.load_from = args.resume
    import torch

    # SyncBN normalises over every process's images (on GPUs; on CPU it becomes BN)
    world = 1 if args.launcher == 'none' or not torch.cuda.is_available() else int(
        os.environ.get('WORLD_SIZE') or os.environ.get('SLURM_NTASKS') or 1)
    check_batch_norm_batch(cfg, world)
    check_data(cfg, ['train_dataloader'] + (['val_dataloader'] if cfg.get('val_cfg') else []))
    adapt_to_device(cfg, args.launcher)
    runner = build_runner(cfg)
    runner.train()
    return 0


def cli() -> int:
    """Console-script entry point (mmtwins-train)."""
    return run_main(main)


if __name__ == '__main__':
    sys.exit(run_main(main))
