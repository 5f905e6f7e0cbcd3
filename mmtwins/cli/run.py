"""Plumbing shared by the commands: run options, the runner, and one-message errors."""
import os
import os.path as osp
import pickle
import sys

from ..errors import MMTwinsError

#: torch.compile's modes, for ``--compile MODE``
COMPILE_MODES = ('default', 'reduce-overhead', 'max-autotune', 'max-autotune-no-cudagraphs')


def add_run_args(parser, example_option: str) -> None:
    """The options tools/train.py and tools/test.py share: --cfg-options and the launcher."""
    from mmengine.config import DictAction
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help=f'override config entries, e.g. {example_option}')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument('--compile', action='store_true',
                        help="torch.compile (mmengine's compile setting): the training step, "
                        'and backbone, neck and decode head for validation and testing; the '
                        'first iterations compile, slowly')
    parser.add_argument('--compile-mode', choices=COMPILE_MODES,
                        help="--compile with this torch.compile mode, e.g. reduce-overhead "
                        '(CUDA graphs, recorded once per input shape: batch-1 latency on a GPU)')
    parser.add_argument('--shape-buckets', nargs='*', metavar='HxW', type=_bucket,
                        help='validation and testing: pad each batch to the smallest of these '
                        'sizes that holds it (ShapeBucketHook), so a compiled network sees a '
                        "few input shapes; no sizes: from the test pipeline's Resize")


def _bucket(text):
    import argparse

    from ..engine.shape_buckets import parse_bucket
    try:
        return parse_bucket(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def enable_compile(cfg, mode=None) -> None:
    """``--compile`` / ``--compile-mode MODE``: mmengine's ``compile`` setting (its
    train_step), with torch.compile's ``mode`` if given, and
    :class:`~mmtwins.engine.CompileForInferenceHook` for validation and testing."""
    from .config_checks import add_hook_once
    if mode is not None:
        options = cfg.compile if isinstance(cfg.get('compile'), dict) else {}
        cfg.compile = dict(options, mode=mode)
    elif not cfg.get('compile'):
        cfg.compile = True
    add_hook_once(cfg, 'CompileForInferenceHook')


def enable_shape_buckets(cfg, buckets, loader: str = 'test_dataloader') -> None:
    """``--shape-buckets [HxW ...]``: :class:`~mmtwins.engine.ShapeBucketHook` with these
    ``(height, width)`` sizes, or ``'auto'`` for none (checked now against ``loader``'s
    pipeline: a ConfigError when it has nothing to size them from); replaces one the config
    has."""
    from ..engine.shape_buckets import auto_buckets, loader_pipeline
    from .config_checks import set_hook
    if not buckets:
        auto_buckets(loader_pipeline(cfg, loader))
    set_hook(cfg, 'ShapeBucketHook',
             buckets=[list(b) for b in buckets] if buckets else 'auto')


def enable_amp_inference(cfg, loops=('test_cfg',)) -> str:
    """``--amp`` at test time, the way mmengine reads it: ``fp16=True`` in the given loop
    settings, plus :class:`~mmtwins.engine.FP32PostProcessingHook` (once). Returns what
    autocast will use here."""
    import torch

    from ..engine.amp import autocast_dtype
    from .config_checks import add_hook_once
    for key in loops:
        loop = cfg.get(key) or dict(type='TestLoop' if key == 'test_cfg' else 'ValLoop')
        loop['fp16'] = True
        cfg[key] = loop
    add_hook_once(cfg, 'FP32PostProcessingHook')
    device_type = 'cuda' if torch.cuda.is_available() else 'cpu'
    autocast_dtype(device_type)  # warns once where bf16 is slow
    return 'fp16 autocast (CUDA)' if device_type == 'cuda' else 'bf16 autocast (CPU)'


def parse_run_args(parser, argv=None):
    """Parse, and give torch.distributed.launch's --local_rank to mmengine as LOCAL_RANK."""
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_runner(cfg):
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def default_work_dir(config_path: str) -> str:
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def _close_process_group() -> None:
    """End a distributed run's process group before the interpreter exits: left to exit, a
    gloo group's threads were once destroyed still running ("terminate called without an
    active exception", SIGABRT on rank 0 after a finished 2-process training on a busy
    machine)."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def run_main(main, argv=None) -> int:
    """Run a CLI ``main``; user errors end with one clear message and exit status 1."""
    try:
        status = main(argv) or 0
        _close_process_group()
        return status
    except MMTwinsError as exc:
        print(f'\nerror: {exc}', file=sys.stderr, flush=True)
        return 1
    except pickle.UnpicklingError as exc:
        # mmengine's load_from / resume go through torch.load(weights_only=True) with our
        # allow-list (allow_mmengine_checkpoints): anything else in a checkpoint is refused
        from ..checkpoint.io import unpickling_detail
        detail = unpickling_detail(exc)
        print(f'\nerror: refusing to load a checkpoint: it contains pickled Python objects '
              f'that are not plain weights, and unpickling them could run arbitrary code. '
              f'Only genuine mmengine/mmdet/mmseg checkpoints are accepted.\nDetails: {detail}',
              file=sys.stderr, flush=True)
        return 1
