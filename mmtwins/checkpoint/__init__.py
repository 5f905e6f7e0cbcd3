"""Reading, converting and loading Twins checkpoints of every known layout.

* :func:`load_pretrained`: what ``init_cfg=dict(type='Pretrained', ...)`` runs.
* :func:`load_checkpoint_as_mmtwins`: read + convert a file to mmtwins' names.
* :func:`load_file`: read a file safely (``weights_only=True`` or safetensors).
"""
from .convert import (FORMATS, convert_state_dict, describe_arch, detect_format, to_mmtwins,
                      unwrap_state_dict)
from .io import (CheckpointError, CheckpointNotFoundError, allow_mmengine_checkpoints, load_file,
                 read_local_checkpoints_safely, resolve_checkpoint_path, safe_globals)
from .load import (backbone_load_pre_hook, check_state_dict, load_checkpoint_as_mmtwins,
                   load_pretrained, where_to_get)

__all__ = [
    'FORMATS', 'CheckpointError', 'CheckpointNotFoundError', 'allow_mmengine_checkpoints',
    'load_file', 'read_local_checkpoints_safely', 'resolve_checkpoint_path', 'safe_globals',
    'unwrap_state_dict', 'detect_format', 'convert_state_dict', 'to_mmtwins', 'describe_arch',
    'check_state_dict', 'load_checkpoint_as_mmtwins', 'load_pretrained', 'where_to_get',
    'backbone_load_pre_hook'
]
