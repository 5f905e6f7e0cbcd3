"""Reading, converting and loading Twins checkpoints of every known layout.

* :func:`load_pretrained`: what ``init_cfg=dict(type='Pretrained', ...)`` runs.
* :func:`load_checkpoint_as_mmtwins`: read + convert a file to mmtwins' names.
* :func:`load_file`: read a file safely (``weights_only=True`` or safetensors).
* :func:`read_checkpoint`: the same for a path, URL or hub id (:func:`resolve_checkpoint_path`).
* :func:`register_safe_loaders`: mmengine's loaders of every scheme read with ``load_file``.
"""
from .convert import (CHECKPOINT_FORMATS, FORMATS, CheckpointFormat, convert_state_dict,
                      describe_arch, detect_format, rename_key, to_mmtwins, unwrap_state_dict)
from .download import ChecksumError
from .io import (CheckpointError, CheckpointNotFoundError, allow_mmengine_checkpoints, load_file,
                 safe_globals)
from .load import (backbone_load_pre_hook, check_state_dict, load_checkpoint_as_mmtwins,
                   load_pretrained, where_to_get)
from .resolve import read_checkpoint, resolve_checkpoint_path
from .schemes import register_safe_loaders

__all__ = [
    'CHECKPOINT_FORMATS', 'CheckpointFormat', 'FORMATS', 'rename_key', 'CheckpointError',
    'CheckpointNotFoundError', 'ChecksumError',
    'allow_mmengine_checkpoints', 'load_file', 'read_checkpoint', 'register_safe_loaders',
    'resolve_checkpoint_path', 'safe_globals',
    'unwrap_state_dict', 'detect_format', 'convert_state_dict', 'to_mmtwins', 'describe_arch',
    'check_state_dict', 'load_checkpoint_as_mmtwins', 'load_pretrained', 'where_to_get',
    'backbone_load_pre_hook'
]
