"""Whole detector/segmentor checkpoints against a model: complete, or refused, or explained.

The backbone part is converted and checked by the backbone itself
(:func:`mmtwins.checkpoint.load.backbone_load_pre_hook`, on every loading path). This
module checks the rest of the model (necks, heads) for the doors that mmtwins controls
(``tools/test.py``, ``tools/demo.py``, and through
:class:`mmtwins.engine.CheckpointCompatibilityHook` every runner: ``load_from``,
``--resume``, the hosts' own ``train.py``/``test.py``), and says in one line what was
loaded and what was skipped, instead of mmengine's lists of keys.

Only one difference is tolerated, and only when fine-tuning: the layers whose size is the
number of classes (``conv_seg``, ``fc_cls``, ...) may differ in their first dimension. They
keep their initialisation.
"""
from collections import OrderedDict
from typing import Dict, List, Optional

import torch
from torch import nn

from .. import variants
from .io import CheckpointError
from .load import convert_backbone_part, mismatch_report
from .resolve import read_checkpoint

# last module names of the layers whose output size is the number of classes (mmseg's
# decode heads; mmdet's RetinaNet, ATSS, FCOS, Faster/Mask R-CNN, Mask2Former, DINO)
CLASS_LAYERS = ('conv_seg', 'conv_cls', 'retina_cls', 'atss_cls', 'fcos_cls', 'fc_cls',
                'fc_reg', 'conv_logits', 'cls_embed', 'cls_branches')


def backbone_prefixes(model: nn.Module) -> List[str]:
    """State-dict prefixes of the Twins backbones inside ``model`` (e.g. ``'backbone.'``)."""
    # recognised by their family attribute: checkpoint/ does not import models/
    return [f'{name}.' if name else '' for name, m in model.named_modules()
            if getattr(m, 'family', None) in variants.FAMILIES and hasattr(m, 'arch_settings')]


def _is_class_layer(key: str, ckpt_shape, model_shape) -> bool:
    if len(ckpt_shape) != len(model_shape) or ckpt_shape[1:] != model_shape[1:]:
        return False
    return any(name in CLASS_LAYERS for name in key.split('.')[:-1])


def _short(keys: List[str], n: int = 4) -> str:
    return ', '.join(keys[:n]) + (f', ... ({len(keys) - n} more)' if len(keys) > n else '')


def check_whole_model(model: nn.Module, state_dict: Dict[str, torch.Tensor],
                      source: str = 'checkpoint', fine_tune: bool = False) -> dict:
    """Compare a whole-model ``state_dict`` with ``model`` outside its Twins backbones.

    Args:
        model: the detector or segmentor (not wrapped).
        state_dict: the checkpoint's ``state_dict`` (``module.`` already stripped).
        source: how to name the checkpoint in messages.
        fine_tune: tolerate class-count layers of another size (they are reported in
            ``skipped`` and should keep their initialisation).

    Returns:
        dict with ``loaded`` (number of tensors that will load), ``total`` (tensors of the
        model), ``skipped`` (class-count keys), ``classes`` (``(checkpoint, model)`` first
        dimension of the first skipped tensor, or None), ``backbone`` (``{prefix: layout}``),
        ``converted`` (``{prefix: the backbone's tensors in mmtwins' layout}``).

    Raises:
        CheckpointError: anything else differs; nothing should be loaded.
    """
    own = OrderedDict((k, v) for k, v in model.state_dict().items()
                      if 'num_batches_tracked' not in k)
    prefixes = backbone_prefixes(model)

    def in_backbone(key: str) -> bool:
        return any(key.startswith(p) for p in prefixes)

    backbone, converted = {}, {}
    for p in prefixes:  # first, with the backbone's own message (e.g. another variant)
        part = {k[len(p):]: v for k, v in state_dict.items()
                if k.startswith(p) and isinstance(v, torch.Tensor)}
        module = model.get_submodule(p.rstrip('.')) if p else model
        info = convert_backbone_part(module, part, p)
        backbone[p], converted[p] = info['format'], info['state_dict']
    ckpt = {k: v for k, v in state_dict.items() if not in_backbone(k)
            and isinstance(v, torch.Tensor) and 'num_batches_tracked' not in k}
    rest = {k: v for k, v in own.items() if not in_backbone(k)}
    missing = [k for k in rest if k not in ckpt]
    unexpected = [k for k in ckpt if k not in rest]
    mismatched = [k for k in rest if k in ckpt and ckpt[k].shape != rest[k].shape]
    skipped = [k for k in mismatched if _is_class_layer(k, ckpt[k].shape, rest[k].shape)]
    classes = None
    if skipped:
        classes = (ckpt[skipped[0]].shape[0], rest[skipped[0]].shape[0])
    others = [k for k in mismatched if k not in skipped]
    problems = mismatch_report(ckpt, rest, others, missing, unexpected)
    if problems:
        raise CheckpointError(
            f'{source} does not fit the model outside its backbone (another head, neck or '
            'method); nothing was loaded.\n' + '\n'.join(problems) + '\nUse the config the '
            'checkpoint was trained with; to start a new model from its backbone only, set '
            "model.backbone.init_cfg=dict(type='Pretrained', checkpoint=..., "
            "prefix='backbone.') instead of load_from.")
    if skipped and not fine_tune:
        raise CheckpointError(
            f'{source} was trained for another number of classes than the config '
            f'({skipped[0]}: {classes[0]} rows in the checkpoint, {classes[1]} in the model; '
            f'{len(skipped)} such tensor(s)); nothing was loaded. Evaluate it '
            f'with the config it was trained with; to fine-tune it on your classes, use '
            f'load_from in a training run.')
    return dict(loaded=len(own) - len(skipped), total=len(own), skipped=skipped,
                classes=classes, backbone=backbone, converted=converted)


def put_converted_backbones(state_dict: dict, report: dict) -> None:
    """Replace, in ``state_dict`` (in place), each Twins backbone's part by its tensors in
    mmtwins' layout, as :func:`check_whole_model` converted them (``report['converted']``):
    the model then loads them as they are, and its backbones have nothing to convert or to
    report (the caller's summary line covers them). Keys keep a ``module.`` prefix if the
    state dict has one."""
    wrapped = bool(state_dict) and all(k.startswith('module.') for k in state_dict)
    lead = 'module.' if wrapped else ''
    for prefix, tensors in report['converted'].items():
        for key in [k for k in state_dict if k.startswith(lead + prefix)]:
            del state_dict[key]
        for key, value in tensors.items():
            state_dict[lead + prefix + key] = value


def summary_line(report: dict, source: str, skipped_kept: bool = True) -> str:
    """The one line that says what was loaded and what was skipped, and why."""
    layouts = ', '.join(f'{(p or "backbone").rstrip(".")}: {fmt} layout'
                        + ('' if fmt == 'mmtwins' else ', converted')
                        for p, fmt in report['backbone'].items())
    line = (f'mmtwins: loaded {report["loaded"]}/{report["total"]} tensors from {source}'
            + (f' ({layouts})' if layouts else ''))
    if report['skipped']:
        ckpt_n, model_n = report['classes']
        line += (f'; skipped {len(report["skipped"])} tensor(s) sized by the number of '
                 f'classes ({_short(report["skipped"])}; {report["skipped"][0]}: {ckpt_n} rows '
                 f'in the checkpoint, {model_n} in the config)'
                 + (', they keep their initialisation' if skipped_kept else ''))
    return line


def state_dict_of(checkpoint) -> Optional[Dict[str, torch.Tensor]]:
    """The model weights of a loaded checkpoint object, as mmengine reads them."""
    if not isinstance(checkpoint, dict):
        return None
    sd = checkpoint.get('state_dict', checkpoint)
    if not isinstance(sd, dict):
        return None
    if sd and all(k.startswith('module.') for k in sd):
        sd = OrderedDict((k[len('module.'):], v) for k, v in sd.items())
    return sd


def read_whole_checkpoint(path_or_url: str):
    """Read a whole-model checkpoint (a file or URL) with mmtwins' safe reader; returns
    ``(checkpoint, state_dict)``. Raises CheckpointError when it holds no weights."""
    checkpoint = read_checkpoint(path_or_url)
    state_dict = state_dict_of(checkpoint)
    if state_dict is None:
        raise CheckpointError(f'{path_or_url} holds no model weights (state_dict)')
    return checkpoint, state_dict


def load_whole_model(model: nn.Module, state_dict: Dict[str, torch.Tensor],
                     source: str = 'checkpoint') -> dict:
    """Load a whole-model ``state_dict`` all or nothing: :func:`check_whole_model` first
    (raises before anything is loaded), then mmengine's loading (the backbone part in any
    Twins layout, through the backbone's load hook). Returns the check's report."""
    from mmengine.runner.checkpoint import load_state_dict
    report = check_whole_model(model, state_dict, source=source)
    state_dict = OrderedDict(state_dict)
    put_converted_backbones(state_dict, report)
    load_state_dict(model, state_dict, strict=False)
    return report
