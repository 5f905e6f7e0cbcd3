"""Checks of a config before a run: it exists, its scope, ``--cfg-options`` paths, the
checkpoint-compatibility hook, and batch sizes BatchNorm can train with."""
import difflib
import os
import os.path as osp
from typing import Any, Dict, Optional

from mmengine.config import Config

from ..checkpoint import allow_mmengine_checkpoints
from ..errors import ConfigError, InputNotFoundError

SUPPORTED_SCOPES = ('mmdet', 'mmseg')
REPO_CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')


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
        raise InputNotFoundError(f'config file not found: {path}.{hint}')
    allow_mmengine_checkpoints()
    import mmtwins  # noqa: F401  (registers our modules even if custom_imports is missing)
    try:
        cfg = Config.fromfile(path)
    except FileNotFoundError as exc:  # a _base_ that does not exist (mmtwins::, mmseg::, path)
        raise InputNotFoundError(f'{path}: {exc}') from exc
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    scope = cfg.get('default_scope')
    if scope not in SUPPORTED_SCOPES:
        raise ConfigError(f'{path} has default_scope={scope!r}; mmtwins tools run mmdet and mmseg '
                          f'configs (default_scope in {SUPPORTED_SCOPES})')
    ensure_checkpoint_check(cfg)
    return cfg


def ensure_atomic_checkpoints(cfg: Config) -> None:
    """Give the checkpoint hook our atomic file backend when a config (e.g. a user's that
    replaced ``default_hooks.checkpoint``) does not choose a backend itself; our shipped
    configs set it, so runs through the hosts' own scripts have it too."""
    from ..engine.checkpointing import BACKEND_ARGS
    hook = (cfg.get('default_hooks') or {}).get('checkpoint')
    if isinstance(hook, dict) and hook.get('type') in ('CheckpointHook', None) and \
            not hook.get('backend_args') and not hook.get('file_client_args') and \
            not hook.get('out_dir'):
        hook['backend_args'] = dict(BACKEND_ARGS)


def _is_hook(hook, hook_type: str) -> bool:
    """Whether a ``custom_hooks`` entry is a hook of that type (plain or ``mmtwins.`` name)."""
    return isinstance(hook, dict) and hook.get('type') in (hook_type, f'mmtwins.{hook_type}')


def add_hook_once(cfg: Config, hook_type: str) -> None:
    """Append ``dict(type=hook_type)`` to ``cfg.custom_hooks`` unless a hook of that type
    is there already."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(_is_hook(h, hook_type) for h in hooks):
        cfg.custom_hooks = hooks + [dict(type=hook_type)]


def set_hook(cfg: Config, hook_type: str, **kwargs) -> None:
    """Put ``dict(type=hook_type, **kwargs)`` last in ``cfg.custom_hooks``, in place of any
    hook of that type there."""
    hooks = [h for h in (cfg.get('custom_hooks') or []) if not _is_hook(h, hook_type)]
    cfg.custom_hooks = hooks + [dict(type=hook_type, **kwargs)]


def ensure_checkpoint_check(cfg: Config) -> None:
    """Add :class:`~mmtwins.engine.CheckpointCompatibilityHook` to ``custom_hooks`` when a
    config (e.g. a user's, which replaced the list) does not have it."""
    add_hook_once(cfg, 'CheckpointCompatibilityHook')


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
                raise ConfigError(
                    f'train_dataloader.batch_size=1 with {norm} in the {head["type"]} '
                    f'({head_key}): {_POOLING_HEADS[head["type"]]} pools each image to 1x1, '
                    f'so BatchNorm sees one value per channel and training fails '
                    f'("Expected more than 1 value per channel when training"). Use 2 or more '
                    f'images per process (--cfg-options train_dataloader.batch_size=2), '
                    f'SyncBN over several GPUs, or a norm that works on single images '
                    f"(model.{head_key}.norm_cfg=dict(type='GN', num_groups=32)).")


#: how alike a new last key of --cfg-options and an existing key must be to call it a typo
#: ('max_iterz'/'max_iters' 0.89; 'norm_eval'/'norm_cfg' 0.59 stays a new key)
TYPO_CUTOFF = 0.8


def check_cfg_options(cfg: Config, options: Dict[str, Any]) -> None:
    """Refuse ``--cfg-options`` whose path does not exist up to its last key (a typo would
    otherwise silently add an unused key), and a last key that does not exist where a close one
    does (``train_cfg.max_iterz``: "did you mean 'max_iters'?"); a last key unlike every key
    there is added, as mmengine does (a new argument)."""
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
                raise ConfigError(f'--cfg-options {key}: {where} has no key {part!r} '
                                  f'(it has: {keys}).{hint}')
        if not isinstance(node, (dict, list, tuple)):
            raise ConfigError(f'--cfg-options {key}: {".".join(parts[:-1])} is not a dict')
        last = parts[-1]
        if isinstance(node, dict) and last not in node:
            close = difflib.get_close_matches(last, [str(k) for k in node], n=1,
                                              cutoff=TYPO_CUTOFF)
            if close:
                where = '.'.join(parts[:-1]) or 'the config'
                raise ConfigError(
                    f'--cfg-options {key}: {where} has no key {last!r}; did you mean '
                    f'{close[0]!r}? (To add a new key {last!r} next to {close[0]!r}, set it in '
                    f'a config file that inherits this one.)')
