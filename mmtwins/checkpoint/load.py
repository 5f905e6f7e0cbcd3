"""Load pretrained weights into a Twins backbone: all formats, all-or-nothing."""
import re
from collections import OrderedDict
from typing import Dict, List, Optional

import torch
from torch import nn

from .. import variants
from .convert import convert_state_dict, describe_arch, detect_format, to_mmtwins
from .io import CheckpointError, CheckpointNotFoundError
from .resolve import read_checkpoint


def where_to_get(model: nn.Module) -> str:
    """Where the ImageNet weights of ``model``'s variant are published, and what to do."""
    family, arch = getattr(model, 'family', None), getattr(model, 'arch_name', None)
    lines = []
    variant = variants.lookup(family, arch) if family and arch else None
    if variant is not None:
        lines.append(f'ImageNet-1k weights of {variant.title} are published as '
                     f'{variant.mmseg_url} (mmseg layout), on the Hugging Face hub as '
                     f'{variant.hub_id} (model.safetensors; checkpoint=\'{variant.hub_id}\' '
                     f'loads it with huggingface_hub) and in the official Twins release '
                     f'({variant.official}.pth); every one loads as it is.')
    lines.append('Point the config at a local copy with --cfg-options '
                 'model.backbone.init_cfg.checkpoint=PATH (or convert it once with python '
                 'tools/model_converters/twins2mmtwins.py SRC DST); to train from scratch use '
                 '--cfg-options model.backbone.init_cfg=None.')
    return '\n'.join(lines)


_STAGE_NORM = re.compile(r'^stages\.\d+\.norm\.(weight|bias)$')


def load_checkpoint_as_mmtwins(checkpoint: str, prefix: Optional[str] = None,
                               map_location: Optional[str] = 'cpu') -> dict:
    """Read ``checkpoint`` (path or URL) safely and convert it to mmtwins' names.

    Returns the dict of :func:`mmtwins.checkpoint.convert.to_mmtwins`.
    """
    obj = read_checkpoint(checkpoint, map_location=map_location)
    try:
        return to_mmtwins(obj, prefix=prefix)
    except CheckpointError as exc:
        raise CheckpointError(f'{checkpoint}: {exc}') from None


def check_state_dict(model: nn.Module, state_dict: Dict[str, torch.Tensor],
                     source: str = 'checkpoint', allow_missing_stage_norms: bool = True,
                     hint: str = '', ignore_surplus_stage_norms: Optional[bool] = None) -> dict:
    """Match a converted state dict against ``model``; raise unless it loads completely.

    With ``allow_missing_stage_norms`` (pretrained weights), stage norms
    (``stages.{i}.norm``) may differ between the file and the model: a model norm the file
    lacks keeps its initialisation (ImageNet checkpoints have none, or mmpretrain's only the
    last), and a file norm the model does not have (``norm_after_stage`` off there) is
    ignored (``ignore_surplus_stage_norms``, by default as ``allow_missing_stage_norms``).
    Everything else must be present with the model's shapes. ``hint`` is appended to the error
    message.

    Returns:
        dict with ``matched`` (the tensors to load), ``expected_missing`` keys and
        ``ignored`` keys (stage norms the model does not have).
    """
    own = model.state_dict()
    mismatched = [k for k, v in state_dict.items() if k in own and own[k].shape != v.shape]
    unexpected = [k for k in state_dict if k not in own]
    missing = [k for k in own if k not in state_dict]
    if ignore_surplus_stage_norms is None:
        ignore_surplus_stage_norms = allow_missing_stage_norms
    expected_missing = [k for k in missing if _STAGE_NORM.match(k)] \
        if allow_missing_stage_norms else []
    ignored = [k for k in unexpected if _STAGE_NORM.match(k)] if ignore_surplus_stage_norms \
        else []
    missing = [k for k in missing if k not in expected_missing]
    unexpected = [k for k in unexpected if k not in ignored]
    matched = {k: v for k, v in state_dict.items()
               if k in own and own[k].shape == v.shape}
    problems = mismatch_report(state_dict, own, mismatched, missing, unexpected)
    if problems or not matched:
        headline = ('no tensor of it matches the model' if not matched
                    else 'it does not fit the model')
        raise CheckpointError(
            f'{source}: {headline}; nothing was loaded.\n'
            f'The model is {describe_arch(own)}; the checkpoint holds '
            f'{describe_arch(state_dict)}.\n' + '\n'.join(problems)
            + (f'\n{hint}' if hint else ''))
    return dict(matched=matched, expected_missing=expected_missing, ignored=ignored)


def mismatch_report(checkpoint: Dict[str, torch.Tensor], own: Dict[str, torch.Tensor],
                    mismatched: List[str], missing: List[str],
                    unexpected: List[str]) -> List[str]:
    """Lines that say which tensors differ in shape, are missing or have no place."""
    problems = []
    if mismatched:
        rows = [f'{k}: checkpoint {tuple(checkpoint[k].shape)} vs model {tuple(own[k].shape)}'
                for k in mismatched[:8]]
        more = f' (and {len(mismatched) - 8} more)' if len(mismatched) > 8 else ''
        problems.append(f'{len(mismatched)} tensor(s) have other shapes{more}:\n  '
                        + '\n  '.join(rows))
    if unexpected:
        problems.append(f'{len(unexpected)} tensor(s) have no place in the model: '
                        f'{_short(unexpected)}')
    if missing:
        problems.append(f'{len(missing)} model tensor(s) are missing from the checkpoint: '
                        f'{_short(missing)}')
    return problems


def _short(keys, n: int = 6) -> str:
    return ', '.join(keys[:n]) + (f', ... ({len(keys) - n} more)' if len(keys) > n else '')


def load_pretrained(model: nn.Module, checkpoint: str, prefix: Optional[str] = None,
                    map_location: Optional[str] = 'cpu', logger=None) -> dict:
    """Load a Twins checkpoint of any known layout into ``model``, or raise.

    The file is read with ``weights_only=True`` (or safetensors), its layout detected and
    converted, then checked tensor by tensor; the model is only touched once every check
    passed, so a failure never leaves it half loaded. A one-line summary is logged.

    Args:
        model: a :class:`~mmtwins.models.TwinsPCPVT` / :class:`~mmtwins.models.TwinsSVT`.
        checkpoint: local path or http(s) URL.
        prefix: prefix of the backbone inside a whole model (``'backbone.'`` is detected
            automatically).
        map_location: passed to ``torch.load``.
        logger: an mmengine logger name or instance; default: the current MMLogger.

    Returns:
        dict with ``format``, ``loaded``, ``expected_missing``, ``ignored`` (keys).
    """
    try:
        info = load_checkpoint_as_mmtwins(checkpoint, prefix=prefix, map_location=map_location)
    except CheckpointNotFoundError as exc:
        raise CheckpointNotFoundError(f'{exc}\n{where_to_get(model)}') from None
    if info['unknown']:
        raise CheckpointError(
            f'{checkpoint} ({info["format"]} layout) has {len(info["unknown"])} tensor(s) that '
            f'are not Twins backbone weights: {_short(info["unknown"])}; nothing was loaded. '
            f'For a whole model pass the backbone prefix (init_cfg prefix=...).')
    result = check_state_dict(model, info['state_dict'], source=str(checkpoint))
    with torch.no_grad():
        own = model.state_dict()
        for k, v in result['matched'].items():
            own[k].copy_(v)
    ignored = info['ignored'] + result['ignored']
    summary = dict(format=info['format'], loaded=sorted(result['matched']),
                   expected_missing=result['expected_missing'], ignored=ignored)
    from mmengine.logging import print_log
    msg = (f'mmtwins: loaded {len(result["matched"])}/{len(own)} tensors from {checkpoint} '
           f'({info["format"]} layout{", prefix " + repr(info["prefix"]) if info["prefix"] else ""}'
           f'); expected missing {len(result["expected_missing"])}'
           f'{" (stage norms, kept at init)" if result["expected_missing"] else ""}; '
           f'ignored {len(ignored)}'
           f'{" (" + _short(ignored, 4) + ")" if ignored else ""}; '
           f'unexpected 0')
    print_log(msg, logger=logger if logger is not None else 'current')
    return summary


WHOLE_MODEL_HINT = (
    'Load a checkpoint of the same variant and family as the config (a whole model trained '
    'with this backbone), or pick the config that matches the checkpoint. ImageNet '
    '(backbone-only) weights go through model.backbone.init_cfg=dict(type=\'Pretrained\', '
    'checkpoint=...), which also takes the backbone of another model with '
    'prefix=\'backbone.\'.')


def convert_backbone_part(module: nn.Module, part: Dict[str, torch.Tensor],
                          prefix: str = '') -> dict:
    """Convert the backbone part of a whole-model state dict (keys without ``prefix``) to
    mmtwins' names and check that it fits ``module`` completely, or raise.

    Returns:
        dict with ``state_dict`` (the converted tensors), ``format`` and ``ignored`` (the
        ImageNet classifier's keys, dropped).
    """
    where = f'under {prefix!r}' if prefix else 'in the state dict'
    family = getattr(module, 'family', type(module).__name__)
    if not part:
        raise CheckpointError(
            f'loading weights into a model with a {family} backbone: the checkpoint has no '
            f'backbone tensors {where}; nothing was loaded (the backbone would stay random). '
            + WHOLE_MODEL_HINT)
    fmt = detect_format(part)
    if fmt is None:
        raise CheckpointError(
            f'loading weights into a model with a {family} backbone: the tensors {where} are '
            f'not a Twins backbone in any known layout (first keys: {list(part)[:4]}); '
            f'nothing was loaded. ' + WHOLE_MODEL_HINT)
    converted, ignored, unknown = convert_state_dict(part, fmt)
    if unknown:
        raise CheckpointError(
            f'loading weights into a model with a {family} backbone: {len(unknown)} tensor(s) '
            f'{where} ({fmt} layout) are not Twins backbone weights: {_short(unknown)}; '
            f'nothing was loaded. ' + WHOLE_MODEL_HINT)
    source = f'the backbone part of the checkpoint ({prefix!r}, {fmt} layout)' if prefix \
        else f'the state dict ({fmt} layout)'
    # an mmpretrain classifier's last stage norm is its final norm: kept where the model has
    # that norm, ignored where it has none (as the official/timm classifier's 'norm')
    result = check_state_dict(module, converted, source=source, allow_missing_stage_norms=False,
                              hint=WHOLE_MODEL_HINT,
                              ignore_surplus_stage_norms=fmt == 'mmpretrain')
    return dict(state_dict=result['matched'], format=fmt, ignored=ignored + result['ignored'])


def _nested_container(state_dict: dict) -> Optional[str]:
    """The key of a container of tensors (``'model'``, ``'state_dict'``, ``'module'``) in a
    dict that holds no tensors of its own, or None."""
    if any(isinstance(v, torch.Tensor) for v in state_dict.values()):
        return None
    for key in ('model', 'state_dict', 'module'):
        value = state_dict.get(key)
        if isinstance(value, dict) and any(isinstance(v, torch.Tensor) for v in value.values()):
            return key
    return None


def backbone_load_pre_hook(module: nn.Module, state_dict: dict, prefix: str, local_metadata,
                           strict, missing_keys: List[str], unexpected_keys: List[str],
                           error_msgs: List[str]) -> None:
    """``load_state_dict`` pre-hook of the Twins backbones: every known layout, completely.

    Every way a checkpoint reaches a model goes through ``_load_from_state_dict`` of the
    backbone: ``torch.nn.Module.load_state_dict``, mmengine's ``load_checkpoint`` (used by
    ``load_from``, ``--resume``, ``tools/test.py``, ``mmseg.apis.init_model``,
    ``mmdet.apis.init_detector`` and the inferencers) and ``PretrainedInit``. This hook
    rewrites the backbone's part of ``state_dict`` (the keys under ``prefix``) from the
    official/timm, mmseg or mmpretrain layout to mmtwins' names, drops the ImageNet
    classifier (``head``, ``norm``), and raises :class:`CheckpointError` before anything is
    copied when that part does not fit the model completely (another variant or family,
    missing or extra tensors): the caller's model is never left with a random or
    half-loaded backbone.
    """
    keys = [k for k in state_dict if k.startswith(prefix)]
    part = OrderedDict((k[len(prefix):], state_dict[k]) for k in keys
                       if isinstance(state_dict[k], torch.Tensor))
    # a bare backbone given a whole checkpoint as its state dict (mmengine's load_checkpoint
    # reads 'state_dict' only; the official trainer saves {'model': ...}): its tensors, as
    # mmtwins' own loader reads such files. (A parent module hands its children only their
    # own keys, so under a prefix such a file shows up as no tensors at all.)
    container = _nested_container(state_dict) if not part and not prefix else None
    if container is not None:
        nested = state_dict.pop(container)
        keys = [k for k, v in nested.items() if isinstance(v, torch.Tensor)]
        part = OrderedDict((k, nested[k]) for k in keys)
        state_dict.update(part)
    info = convert_backbone_part(module, part, prefix)
    for k in keys:
        del state_dict[k]
    for k, v in info['state_dict'].items():
        state_dict[prefix + k] = v
    fmt, ignored = info['format'], info['ignored']
    module.last_load = dict(format=fmt, prefix=prefix, loaded=len(info['state_dict']),
                            ignored=ignored)
    if fmt != 'mmtwins' or ignored:  # (loads of our own layout, e.g. a checked whole model
        # handed over by CheckpointCompatibilityHook, have nothing to report)
        from mmengine.logging import print_log
        print_log(f'mmtwins: backbone {prefix!r}: {len(info["state_dict"])} tensors in the '
                  f'{fmt} layout, converted to mmtwins\' names'
                  + (f'; ignored {len(ignored)} ImageNet classifier tensor(s)' if ignored else ''),
                  logger='current')
