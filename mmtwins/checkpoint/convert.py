"""Detect the layout of a Twins state dict and convert it to mmtwins' names.

Known layouts (``FORMATS``):

* ``mmtwins``: ``stages.{i}.patch_embed|blocks.{j}|peg|norm`` (ours).
* ``official``: the official code and timm: ``patch_embeds.{i}``, ``blocks.{i}.{j}``,
  ``pos_block.{i}.proj.0``, dense-prediction ``norm_list.{i}``; classifier ``norm``/``head``.
* ``mmseg``: mmsegmentation's ``twins2mmseg.py`` layout: ``patch_embeds.{i}.projection``,
  ``layers.{i}.{j}`` with GSA q/kv fused into ``attn.attn.in_proj_*`` and
  ``attn.attn.out_proj``, ``ffn.layers``, ``position_encodings.{i}``, ``norm_list.{i}``.
* ``mmpretrain``: ``patch_embeds.{i}.projection``, ``stages.{i}.{j}`` with ``ffn.layers``,
  ``position_encodings.{i}``, ``norm_after_stage{i}`` (stage ``i``'s norm; ImageNet files
  have stage 4's only, which a model without that norm ignores).
"""
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch

from .. import variants
from .io import CheckpointError

FORMATS = ('mmtwins', 'official', 'mmseg', 'mmpretrain')

_BLOCK_RENAMES = {  # block-internal names of the mm* layouts -> ours (= official)
    'ffn.layers.0.0.': 'mlp.fc1.',
    'ffn.layers.1.': 'mlp.fc2.',
    'attn.attn.out_proj.': 'attn.proj.',
}

_SIGNATURES = {
    'mmtwins': re.compile(r'^stages\.\d+\.(patch_embed|blocks|peg)\.'),
    'official': re.compile(r'^(patch_embeds\.\d+\.proj\.|blocks\.\d+\.\d+\.|pos_block\.\d+\.)'),
    'mmseg': re.compile(r'^(layers\.\d+\.\d+\.|position_encodings\.\d+\.proj\.|'
                        r'patch_embeds\.\d+\.projection\.)'),
    'mmpretrain': re.compile(r'^(stages\.\d+\.\d+\.|position_encodings\.\d+\.proj\.|'
                             r'patch_embeds\.\d+\.projection\.|norm_after_stage\d+\.)'),
}

# Wrappers seen around state dicts: mmengine/mmdet/mmseg ('state_dict'), the official
# trainer ('model'), DeepSpeed-like ('module').
_CONTAINER_KEYS = ('state_dict', 'model', 'module')
# Classifier parts of ImageNet checkpoints: not backbone weights, skipped on purpose.
_CLASSIFIER_PREFIXES = ('head.', 'norm.', 'neck.', 'fc.')


def unwrap_state_dict(obj) -> Tuple[Dict[str, torch.Tensor], Optional[str]]:
    """Return the tensors of a checkpoint object and the container key they were under."""
    container = None
    if isinstance(obj, dict):
        for key in _CONTAINER_KEYS:
            if isinstance(obj.get(key), dict):
                obj, container = obj[key], key
                break
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError(
            f'the checkpoint holds no state dict (got {type(obj).__name__}'
            f'{" with keys " + str(list(obj)[:8]) if isinstance(obj, dict) else ""}); expected '
            f'a dict of tensors, possibly under "state_dict" or "model"')
    tensors = OrderedDict((k, v) for k, v in obj.items() if isinstance(v, torch.Tensor))
    if not tensors:
        raise CheckpointError(f'the checkpoint{" " + repr(container) if container else ""} '
                              f'has no tensors (keys: {list(obj)[:8]})')
    return tensors, container


def select_prefix(state_dict: Dict[str, torch.Tensor],
                  prefix: Optional[str]) -> Tuple[Dict[str, torch.Tensor], Optional[str]]:
    """Keep the keys under ``prefix`` (stripped). Without a prefix, whole mm models
    (``backbone.``) and DDP wrappers (``module.``) are recognised automatically."""
    if prefix is None:
        keys = list(state_dict)
        if all(k.startswith('module.') for k in keys):
            state_dict = OrderedDict((k[len('module.'):], v) for k, v in state_dict.items())
            keys = list(state_dict)
        if any(k.startswith('backbone.') for k in keys):
            prefix = 'backbone.'
        else:
            return state_dict, None
    if prefix and not prefix.endswith('.'):
        prefix += '.'
    picked = OrderedDict((k[len(prefix):], v) for k, v in state_dict.items()
                         if k.startswith(prefix))
    if not picked:
        tops = sorted({k.split('.', 1)[0] + '.' for k in state_dict})
        raise CheckpointError(f'no tensor of the checkpoint starts with prefix {prefix!r}; '
                              f'its top-level prefixes are {tops[:10]}')
    return picked, prefix


def detect_format(state_dict: Dict[str, torch.Tensor]) -> Optional[str]:
    """Name of the layout (one of ``FORMATS``) the keys follow best, or None."""
    scores = {fmt: sum(1 for k in state_dict if sig.match(k)) for fmt, sig in _SIGNATURES.items()}
    best = max(scores, key=scores.get)
    if scores[best] == 0:
        return None
    if best == 'mmpretrain' and scores['mmseg'] == scores['mmpretrain']:
        return 'mmseg'  # only shared keys matched (patch embeds, PEGs)
    return best


def _split_in_proj(key: str, tensor: torch.Tensor, out: Dict[str, torch.Tensor]) -> None:
    """mmseg's fused ``in_proj`` (rows q, k, v) -> our ``q`` (rows q) and ``kv`` (k, v)."""
    head, kind = key.rsplit('attn.attn.in_proj_', 1)  # kind: 'weight' or 'bias'
    dims = tensor.shape[0] // 3
    out[f'{head}attn.q.{kind}'] = tensor[:dims].clone()
    out[f'{head}attn.kv.{kind}'] = tensor[dims:].clone()


def convert_state_dict(state_dict: Dict[str, torch.Tensor], fmt: str
                       ) -> Tuple[Dict[str, torch.Tensor], List[str], List[str]]:
    """Rename ``state_dict`` from layout ``fmt`` to mmtwins' names.

    Returns:
        ``(converted, ignored, unknown)``: the converted tensors; source keys that are not
        backbone weights (classifier head and final norm); source keys that no rule knows.
    """
    if fmt not in FORMATS:
        raise ValueError(f'unknown checkpoint format {fmt!r}; choose from {FORMATS}')
    out: Dict[str, torch.Tensor] = OrderedDict()
    ignored: List[str] = []
    unknown: List[str] = []
    for key, value in state_dict.items():
        new = _rename(key, fmt)
        if new is None:
            if key.startswith(_CLASSIFIER_PREFIXES):
                ignored.append(key)
            else:
                unknown.append(key)
            continue
        if new.endswith(('attn.attn.in_proj_weight', 'attn.attn.in_proj_bias')):
            _split_in_proj(new, value, out)
        else:
            out[new] = value
    return out, ignored, unknown


def _rename(key: str, fmt: str) -> Optional[str]:
    if fmt == 'mmtwins':
        ours = _SIGNATURES['mmtwins'].match(key) or re.match(r'^stages\.\d+\.norm\.', key)
        return key if ours else None
    if fmt == 'official':
        rules = [(r'^patch_embeds\.(\d+)\.(proj|norm)\.', r'stages.\1.patch_embed.\2.'),
                 (r'^blocks\.(\d+)\.(\d+)\.', r'stages.\1.blocks.\2.'),
                 (r'^pos_block\.(\d+)\.proj\.0\.', r'stages.\1.peg.proj.'),
                 (r'^norm_list\.(\d+)\.', r'stages.\1.norm.')]
    else:
        blocks = r'^layers\.(\d+)\.(\d+)\.' if fmt == 'mmseg' else r'^stages\.(\d+)\.(\d+)\.'
        rules = [(r'^patch_embeds\.(\d+)\.projection\.', r'stages.\1.patch_embed.proj.'),
                 (r'^patch_embeds\.(\d+)\.norm\.', r'stages.\1.patch_embed.norm.'),
                 (blocks, r'stages.\1.blocks.\2.'),
                 (r'^position_encodings\.(\d+)\.proj\.', r'stages.\1.peg.proj.'),
                 (r'^norm_list\.(\d+)\.' if fmt == 'mmseg' else r'^norm_after_stage(\d+)\.',
                  r'stages.\1.norm.')]
    for pattern, repl in rules:
        new, n = re.subn(pattern, repl, key)
        if n:
            if fmt != 'official':
                for old, rep in _BLOCK_RENAMES.items():
                    new = new.replace(old, rep)
            return new
    return None


def to_mmtwins(obj, prefix: Optional[str] = None, fmt: Optional[str] = None) -> dict:
    """Convert a loaded checkpoint object (any known layout) to mmtwins' state dict.

    Returns:
        dict with ``state_dict`` (converted tensors), ``format``, ``prefix`` (the one
        used, or None), ``ignored`` and ``unknown`` source keys.
    """
    tensors, _ = unwrap_state_dict(obj)
    tensors, used_prefix = select_prefix(tensors, prefix)
    if fmt is None:
        fmt = detect_format(tensors)
    if fmt is None:
        sample = list(tensors)[:6]
        raise CheckpointError(
            f'no Twins backbone tensors found in the checkpoint (first keys: {sample}). '
            f'Expected the official/timm, mmseg, mmpretrain or mmtwins layout; for a whole '
            f'detector/segmentor give init_cfg prefix="backbone."')
    converted, ignored, unknown = convert_state_dict(tensors, fmt)
    return dict(state_dict=converted, format=fmt, prefix=used_prefix, ignored=ignored,
                unknown=unknown)


def describe_arch(state_dict: Dict[str, torch.Tensor]) -> str:
    """Human-readable guess of the variant of an mmtwins-layout state dict."""
    dims, depths = [], []
    i = 0
    while f'stages.{i}.patch_embed.proj.weight' in state_dict:
        dims.append(state_dict[f'stages.{i}.patch_embed.proj.weight'].shape[0])
        depths.append(len({k.split('.')[3] for k in state_dict
                           if k.startswith(f'stages.{i}.blocks.')}))
        i += 1
    if not dims:
        return 'unknown variant'
    family = variants.SVT if any('.attn.qkv.' in k for k in state_dict) else variants.PCPVT
    variant = variants.identify(family, dims, depths)
    if variant is not None:
        return f'{variant.title} (embed_dims {dims}, depths {depths})'
    return f'a {family} with embed_dims {dims}, depths {depths}'
