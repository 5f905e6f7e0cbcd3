"""Shared set-up of ``tools/train.py`` and ``tools/test.py`` for mmdet and mmseg configs."""
import difflib
import os
import os.path as osp
import pickle
import re
import subprocess
import sys
import tempfile
import zipfile
from typing import Any, Dict, Optional

import torch
from mmengine.config import Config

from ..checkpoint import CheckpointError, allow_mmengine_checkpoints

SUPPORTED_SCOPES = ('mmdet', 'mmseg')
REPO_CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')


class UserError(RuntimeError):
    """A mistake in the command line, config or data: shown as one message, no traceback."""


def add_run_args(parser, example_option: str) -> None:
    """The options tools/train.py and tools/test.py share: --cfg-options and the launcher."""
    from mmengine.config import DictAction
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help=f'override config entries, e.g. {example_option}')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_run_args(parser, argv=None):
    """Parse, and give torch.distributed.launch's --local_rank to mmengine as LOCAL_RANK."""
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def load_config(path: str, cfg_options: Optional[Dict[str, Any]] = None) -> Config:
    """Read a config, check its scope and apply ``--cfg-options``."""
    if not osp.isfile(path):
        hint = ''
        if osp.isdir(REPO_CONFIGS):
            names = sorted(f for f in os.listdir(REPO_CONFIGS) if f.endswith('.py'))
            close = difflib.get_close_matches(osp.basename(path), names, n=3, cutoff=0.5)
            if close:
                hint = ' Did you mean ' + ', '.join(f'configs/{c}' for c in close) + '?'
            else:
                hint = f' The shipped configs are in {REPO_CONFIGS}.'
        raise UserError(f'config file not found: {path}.{hint}')
    allow_mmengine_checkpoints()
    import mmtwins  # noqa: F401  (registers our modules even if custom_imports is missing)
    cfg = Config.fromfile(path)
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    scope = cfg.get('default_scope')
    if scope not in SUPPORTED_SCOPES:
        raise UserError(f'{path} has default_scope={scope!r}; mmtwins tools run mmdet and mmseg '
                        f'configs (default_scope in {SUPPORTED_SCOPES})')
    ensure_checkpoint_check(cfg)
    return cfg


def ensure_checkpoint_check(cfg: Config) -> None:
    """Add :class:`~mmtwins.engine.CheckpointCompatibilityHook` to ``custom_hooks`` when a
    config (e.g. a user's, which replaced the list) does not have it."""
    hooks = list(cfg.get('custom_hooks') or [])
    names = ('CheckpointCompatibilityHook', 'mmtwins.CheckpointCompatibilityHook')
    if not any(isinstance(h, dict) and h.get('type') in names for h in hooks):
        cfg.custom_hooks = hooks + [dict(type='CheckpointCompatibilityHook')]


# decode heads with a global-pooling branch (1x1 map): BatchNorm needs > 1 value there
_POOLING_HEADS = {'UPerHead': 'its pooling pyramid', 'PSPHead': 'its pooling pyramid',
                  'ASPPHead': 'its image-pooling branch',
                  'DepthwiseSeparableASPPHead': 'its image-pooling branch'}


def check_batch_norm_batch(cfg: Config, world_size: int = 1) -> None:
    """Stop before training when BatchNorm would see a single value per channel.

    A decode head with a global-pooling branch (UPerHead, PSPHead, ASPP) pools each image
    to 1x1; with one image per BatchNorm batch, torch fails deep inside the first
    iteration ("Expected more than 1 value per channel when training").
    """
    loader = cfg.get('train_dataloader') or {}
    batch = loader.get('batch_size')
    if not isinstance(batch, int) or batch > 1:
        return
    for head_key in ('decode_head', 'auxiliary_head'):
        heads = cfg.model.get(head_key)
        for head in heads if isinstance(heads, (list, tuple)) else [heads]:
            if not isinstance(head, dict) or head.get('type') not in _POOLING_HEADS:
                continue
            if head.get('type') in ('UPerHead', 'PSPHead') and \
                    1 not in tuple(head.get('pool_scales', (1, 2, 3, 6))):
                continue
            norm = (head.get('norm_cfg') or {}).get('type')
            # SyncBN normalises over every process's images; BN over this process's only
            if norm == 'BN' or (norm == 'SyncBN' and world_size == 1):
                raise UserError(
                    f'train_dataloader.batch_size=1 with {norm} in the {head["type"]} '
                    f'({head_key}): {_POOLING_HEADS[head["type"]]} pools each image to 1x1, '
                    f'so BatchNorm sees one value per channel and training fails '
                    f'("Expected more than 1 value per channel when training"). Use 2 or more '
                    f'images per process (--cfg-options train_dataloader.batch_size=2), '
                    f'SyncBN over several GPUs, or a norm that works on single images '
                    f"(model.{head_key}.norm_cfg=dict(type='GN', num_groups=32)).")


def check_cfg_options(cfg: Config, options: Dict[str, Any]) -> None:
    """Refuse ``--cfg-options`` whose path does not exist up to its last key (a typo would
    otherwise silently add an unused key); the last key may be new (a new argument)."""
    for key in options:
        node: Any = cfg._cfg_dict
        parts = key.split('.')
        for depth, part in enumerate(parts[:-1]):
            if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                where = '.'.join(parts[:depth]) or 'the config'
                keys = list(node) if isinstance(node, dict) else f'{len(node)} items'
                close = difflib.get_close_matches(part, list(node), n=1) \
                    if isinstance(node, dict) else []
                hint = f' Did you mean {close[0]!r}?' if close else ''
                raise UserError(f'--cfg-options {key}: {where} has no key {part!r} '
                                f'(it has: {keys}).{hint}')
        if not isinstance(node, (dict, list, tuple)):
            raise UserError(f'--cfg-options {key}: {".".join(parts[:-1])} is not a dict')


DATASET_HINTS = {
    'mmdet': ('COCO 2017 (https://cocodataset.org): annotations/instances_{train,val}2017.json, '
              'train2017/, val2017/', 'python -m mmtwins.toydata coco --out data/toy/coco'),
    'mmseg': ('ADE20K (ADEChallengeData2016.zip from the MIT Scene Parsing benchmark): '
              'images/ and annotations/ with training/ and validation/',
              'python -m mmtwins.toydata ade20k --out data/toy/ade'),
}


def _dataset_roots(node: Any):
    """(data_root, dataset dict) pairs of a dataset config, through dataset wrappers."""
    if isinstance(node, dict):
        if 'data_root' in node:
            yield node['data_root'], node
        for key in ('dataset', 'datasets'):
            yield from _dataset_roots(node.get(key))
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _dataset_roots(item)


def check_data(cfg: Config, loaders) -> None:
    """Stop with a clear message when a dataloader's data root or annotation file is missing."""
    for name in loaders:
        loader = cfg.get(name)
        if not loader:
            continue
        for root, dataset in _dataset_roots(loader.get('dataset')):
            ann = dataset.get('ann_file') or ''
            missing = None
            if root and not osp.isdir(root):
                missing = f'data root {root!r}'
            elif ann and not osp.isfile(osp.join(root or '', ann)):
                missing = f'annotation file {osp.join(root or "", ann)!r}'
            if missing:
                layout, toy = DATASET_HINTS.get(cfg.get('default_scope'), ('', ''))
                raise UserError(
                    f'{name}: the {missing} does not exist (from {os.getcwd()}).\n'
                    f'Prepare the dataset there ({layout}), or point the config at your copy, '
                    f'e.g. --cfg-options {name}.dataset.data_root=PATH (train, val and test '
                    f'loaders each have one); for a small synthetic stand-in: {toy}')


def replace_norm_type(node: Any, old: str, new: str) -> int:
    """Replace ``type=old`` by ``type=new`` in every norm config dict below ``node``."""
    count = 0
    if isinstance(node, dict):
        if node.get('type') == old:
            node['type'] = new
            count += 1
        for value in node.values():
            count += replace_norm_type(value, old, new)
    elif isinstance(node, (list, tuple)):
        for value in node:
            count += replace_norm_type(value, old, new)
    return count


def adapt_to_device(cfg: Config, launcher: str) -> None:
    """Make a GPU recipe run on the CPU when there is no GPU.

    SyncBN becomes BN (SyncBN needs GPUs across processes), the process group uses gloo,
    and DDP wraps the CPU model without ``device_ids``.
    """
    if torch.cuda.is_available():
        return
    if replace_norm_type(cfg.model, 'SyncBN', 'BN'):
        print('[mmtwins] no GPU: SyncBN -> BN', flush=True)
    env_cfg = cfg.setdefault('env_cfg', {})
    env_cfg['cudnn_benchmark'] = False
    env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    if launcher == 'none':
        return
    init_cpu_process_group(launcher)
    cfg.model_wrapper_cfg = dict(
        type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))


def init_cpu_process_group(launcher: str) -> None:
    """mmengine's ``init_dist`` selects a CUDA device; on CPU we start gloo ourselves."""
    import torch.distributed as dist
    if dist.is_initialized():
        return
    if launcher == 'slurm':
        rank, world = int(os.environ['SLURM_PROCID']), int(os.environ['SLURM_NTASKS'])
        if 'MASTER_ADDR' not in os.environ:
            nodes = os.environ.get('SLURM_NODELIST', '127.0.0.1')
            out = subprocess.run(['scontrol', 'show', 'hostname', nodes], capture_output=True,
                                 text=True)
            os.environ['MASTER_ADDR'] = (out.stdout.split() or ['127.0.0.1'])[0]
        os.environ.setdefault('MASTER_PORT', '29500')
        os.environ.update(RANK=str(rank), WORLD_SIZE=str(world),
                          LOCAL_RANK=os.environ.get('SLURM_LOCALID', '0'))
    elif launcher != 'pytorch':
        raise UserError(f'launcher {launcher!r} needs GPUs; use pytorch or slurm on CPU')
    dist.init_process_group(backend='gloo')


def _atomic_put(self, obj: bytes, filepath) -> None:
    """LocalBackend.put that never leaves a half-written file under the final name."""
    filepath = os.fspath(filepath)
    directory = osp.dirname(osp.abspath(filepath))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f'.{osp.basename(filepath)}.',
                               suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(obj)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def use_atomic_checkpoint_writes() -> None:
    """Checkpoints (and other files mmengine writes through its local backend) are
    written to a temporary file and renamed when complete: a job killed while saving
    leaves the previous checkpoints intact and no truncated one."""
    from mmengine.fileio.backends.local_backend import LocalBackend
    LocalBackend.put = _atomic_put


_CKPT_NAME = re.compile(r'^(iter|epoch)_(\d+)\.pth$')


def is_complete_checkpoint(path: str) -> bool:
    """A torch zip checkpoint whose central directory is intact (truncated files fail)."""
    try:
        with zipfile.ZipFile(path) as z:
            return any(n.endswith('data.pkl') for n in z.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def find_resumable_checkpoint(work_dir: str) -> Optional[str]:
    """The newest complete ``iter_N.pth``/``epoch_N.pth`` of a work dir, or None.

    Unlike mmengine's ``last_checkpoint`` pointer, this survives a job killed while it
    was writing a checkpoint or the pointer: unreadable files are skipped, with a note.
    """
    if not osp.isdir(work_dir):
        return None
    found = sorted(((int(m.group(2)), name) for name in os.listdir(work_dir)
                    if (m := _CKPT_NAME.match(name))), reverse=True)
    for _, name in found:
        path = osp.join(work_dir, name)
        if is_complete_checkpoint(path):
            return path
        print(f'[mmtwins] skipping {path}: incomplete or corrupt checkpoint', flush=True)
    return None


def build_runner(cfg: Config):
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def default_work_dir(config_path: str) -> str:
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def run_main(main, argv=None) -> int:
    """Run a CLI ``main``; user errors end with one clear message and exit status 1."""
    try:
        return main(argv) or 0
    except (UserError, CheckpointError) as exc:
        print(f'\nerror: {exc}', file=sys.stderr, flush=True)
        return 1
    except pickle.UnpicklingError as exc:
        # mmengine's load_from / resume go through torch.load(weights_only=True) with our
        # allow-list (allow_mmengine_checkpoints): anything else in a checkpoint is refused
        detail = next((ln.strip() for ln in str(exc).splitlines() if 'GLOBAL' in ln
                       or 'Unsupported' in ln), str(exc).splitlines()[0] if str(exc) else '')
        print(f'\nerror: refusing to load a checkpoint: it contains pickled Python objects '
              f'that are not plain weights, and unpickling them could run arbitrary code. '
              f'Only genuine mmengine/mmdet/mmseg checkpoints are accepted.\nDetails: {detail}',
              file=sys.stderr, flush=True)
        return 1
