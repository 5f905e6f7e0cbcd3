"""Detect the layout of a Twins state dict and convert it to mmtwins' names.

Known layouts (``CHECKPOINT_FORMATS``, one entry each; ``FORMATS``: their names):

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
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import torch

from .. import variants
from .io import CheckpointError


@dataclass(frozen=True)
class CheckpointFormat:
    """One checkpoint layout: how its keys are recognised and renamed to mmtwins' names.

    A new layout is one entry of :data:`CHECKPOINT_FORMATS` (and a writer of it in
    ``tests/helpers/twins_formats.py``).

    Attributes:
        name: what messages and ``fmt=`` call it.
        signature: keys that this layout has; detection picks the layout with the most
            matching keys, the earlier entry on a tie.
        rules: ``(pattern, replacement)`` pairs; a key takes the first that matches, and a
            key that none matches is not a backbone weight.
        block_renames: ``(old, new)`` substrings renamed inside a renamed key (blocks).
        fused_in_proj: GSA's q/k/v fused into ``attn.attn.in_proj_*`` (split into our
            ``q`` and ``kv``).
    """
    name: str
    signature: str
    rules: Tuple[Tuple[str, str], ...]
    block_renames: Tuple[Tuple[str, str], ...] = ()
    fused_in_proj: bool = False

    def rename(self, key: str) -> Optional[str]:
        for pattern, repl in self.rules:
            new, n = re.subn(pattern, repl, key)
            if n:
                for old, rep in self.block_renames:
                    new = new.replace(old, rep)
                return new
        return None


# block-internal names of the mm* layouts -> ours (= official)
_MM_BLOCKS = (('ffn.layers.0.0.', 'mlp.fc1.'), ('ffn.layers.1.', 'mlp.fc2.'),
              ('attn.attn.out_proj.', 'attn.proj.'))
_MM_EMBEDS = ((r'^patch_embeds\.(\d+)\.projection\.', r'stages.\1.patch_embed.proj.'),
              (r'^patch_embeds\.(\d+)\.norm\.', r'stages.\1.patch_embed.norm.'),
              (r'^position_encodings\.(\d+)\.proj\.', r'stages.\1.peg.proj.'))

CHECKPOINT_FORMATS: Tuple[CheckpointFormat, ...] = (
    CheckpointFormat(
        'mmtwins', r'^stages\.\d+\.(patch_embed|blocks|peg)\.',
        rules=((r'^(stages\.\d+\.(patch_embed|blocks|peg|norm)\.)', r'\1'),)),
    CheckpointFormat(
        'official', r'^(patch_embeds\.\d+\.proj\.|blocks\.\d+\.\d+\.|pos_block\.\d+\.)',
        rules=((r'^patch_embeds\.(\d+)\.(proj|norm)\.', r'stages.\1.patch_embed.\2.'),
               (r'^blocks\.(\d+)\.(\d+)\.', r'stages.\1.blocks.\2.'),
               (r'^pos_block\.(\d+)\.proj\.0\.', r'stages.\1.peg.proj.'),
               (r'^norm_list\.(\d+)\.', r'stages.\1.norm.'))),
    CheckpointFormat(
        'mmseg', r'^(layers\.\d+\.\d+\.|position_encodings\.\d+\.proj\.|'
                 r'patch_embeds\.\d+\.projection\.)',
        rules=_MM_EMBEDS + ((r'^layers\.(\d+)\.(\d+)\.', r'stages.\1.blocks.\2.'),
                            (r'^norm_list\.(\d+)\.', r'stages.\1.norm.')),
        block_renames=_MM_BLOCKS, fused_in_proj=True),
    CheckpointFormat(
        'mmpretrain', r'^(stages\.\d+\.\d+\.|position_encodings\.\d+\.proj\.|'
                      r'patch_embeds\.\d+\.projection\.|norm_after_stage\d+\.)',
        rules=_MM_EMBEDS + ((r'^stages\.(\d+)\.(\d+)\.', r'stages.\1.blocks.\2.'),
                            (r'^norm_after_stage(\d+)\.', r'stages.\1.norm.')),
        block_renames=_MM_BLOCKS),
)
_BY_NAME = {f.name: f for f in CHECKPOINT_FORMATS}
FORMATS = tuple(_BY_NAME)


def checkpoint_format(name: str) -> CheckpointFormat:
    if name not in _BY_NAME:
        raise ValueError(f'unknown checkpoint format {name!r}; choose from {FORMATS}')
    return _BY_NAME[name]


def rename_key(key: str, fmt: str) -> Optional[str]:
    """mmtwins' name of ``key`` of a ``fmt``-layout state dict; None if it is not a backbone
    weight of that layout."""
    return checkpoint_format(fmt).rename(key)


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
    """Name of the layout (one of ``FORMATS``) the keys follow best (on a tie the earlier of
    :data:`CHECKPOINT_FORMATS`, e.g. mmseg over mmpretrain when only the keys they share
    match), or None."""
    best, best_score = None, 0
    for fmt in CHECKPOINT_FORMATS:
        signature = re.compile(fmt.signature)
        score = sum(1 for k in state_dict if signature.match(k))
        if score > best_score:
            best, best_score = fmt.name, score
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
    layout = checkpoint_format(fmt)
    out: Dict[str, torch.Tensor] = OrderedDict()
    ignored: List[str] = []
    unknown: List[str] = []
    for key, value in state_dict.items():
        new = layout.rename(key)
        if new is None:
            if key.startswith(_CLASSIFIER_PREFIXES):
                ignored.append(key)
            else:
                unknown.append(key)
            continue
        if layout.fused_in_proj and new.endswith(('attn.attn.in_proj_weight',
                                                  'attn.attn.in_proj_bias')):
            _split_in_proj(new, value, out)
        else:
            out[new] = value
    return out, ignored, unknown


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
