"""Test (evaluate) a checkpoint of an mmdet or mmseg config.

    python tools/test.py CONFIG CHECKPOINT_OR_URL [--work-dir DIR] [--out FILE_OR_DIR]
                         [--show-dir DIR] [--amp] [--compile] [--cfg-options k=v ...]
                         [--launcher pytorch]
"""
import argparse
import json
import os.path as osp
import sys

from ..checkpoint import CheckpointError, resolve_checkpoint_path
from ..checkpoint.download import is_url
from ..errors import ConfigError
from .config_checks import load_config
from .data_checks import check_data
from .devices import adapt_to_device
from .run import (add_run_args, build_runner, default_work_dir, enable_amp_inference,
                  enable_compile, enable_shape_buckets, parse_run_args, run_main)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Evaluate a detector or segmentor with a Twins backbone')
    parser.add_argument('config', help='config file (mmdet or mmseg scope)')
    parser.add_argument('checkpoint', help='checkpoint file or URL (downloaded once into '
                        "torch's hub cache)")
    parser.add_argument('--work-dir', help='where logs and metrics go')
    parser.add_argument('--out', help='detection: a .pkl file of raw predictions; '
                        'segmentation: a directory of predicted label maps (PNG)')
    parser.add_argument('--show-dir', help='write pictures of the predictions here')
    parser.add_argument('--show', action='store_true', help='show pictures in a window')
    parser.add_argument('--wait-time', type=float, default=2, help='seconds per shown picture')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: bf16 autocast on CPU, fp16 on GPU (test_cfg '
                        'fp16=True); post-processing stays fp32')
    add_run_args(parser, 'test_dataloader.batch_size=1')
    return parse_run_args(parser, argv)


def enable_pictures(cfg, args) -> None:
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise ConfigError('--show/--show-dir: the config has no default_hooks.visualization')
    hook['draw'] = True
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        show_dir = osp.abspath(args.show_dir)
        if cfg.default_scope == 'mmdet':
            hook['test_out_dir'] = show_dir
        else:
            hook['interval'] = 1
            cfg.visualizer['save_dir'] = show_dir


def enable_outputs(cfg, out: str) -> None:
    if cfg.default_scope == 'mmdet':
        if not out.endswith(('.pkl', '.pickle')):
            raise ConfigError('--out must be a .pkl file for detection configs')
        evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) \
            else [cfg.test_evaluator]
        cfg.test_evaluator = evaluators + [dict(type='DumpDetResults', out_file_path=out)]
    else:
        cfg.test_evaluator['output_dir'] = out
        cfg.test_evaluator['keep_results'] = True


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    # a local file or hub id, checked here; a URL is left to the runner, whose loader
    # (mmtwins.checkpoint.schemes) downloads it once per node into torch's hub cache
    checkpoint = args.checkpoint if is_url(args.checkpoint) \
        else resolve_checkpoint_path(args.checkpoint)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)
    cfg.load_from = checkpoint
    # the trained weights replace the backbone's ImageNet initialisation: don't fetch it
    backbone = cfg.model.get('backbone', {})
    if isinstance(backbone.get('init_cfg'), dict) and \
            backbone['init_cfg'].get('type') == 'Pretrained':
        backbone['init_cfg'] = None
    if args.show or args.show_dir:
        enable_pictures(cfg, args)
    if args.out:
        enable_outputs(cfg, args.out)
    if args.amp:
        print(f'[mmtwins] mixed precision: {enable_amp_inference(cfg)}', flush=True)
    if args.compile or args.compile_mode:
        enable_compile(cfg, args.compile_mode)
    if args.shape_buckets is not None:
        enable_shape_buckets(cfg, args.shape_buckets)
    check_data(cfg, ['test_dataloader'])
    adapt_to_device(cfg, args.launcher)
    runner = build_runner(cfg)
    try:
        metrics = runner.test()
    except CheckpointError as exc:
        from ..model_zoo import find
        entry = find(args.checkpoint)
        if entry is None or osp.basename(args.config) == entry['config']:
            raise
        raise CheckpointError(f'{exc}\n{args.checkpoint} is a published checkpoint: run it '
                              f"with configs/{entry['config']}") from None
    if runner.rank == 0:
        printable = {}
        for key, value in metrics.items():
            try:
                printable[key] = round(float(value), 4)
            except (TypeError, ValueError):
                continue
        print('[mmtwins] metrics: ' + json.dumps(printable), flush=True)
    return 0


def cli() -> int:
    """Console-script entry point (mmtwins-test)."""
    return run_main(main)


if __name__ == '__main__':
    sys.exit(run_main(main))
