"""The backbones' arguments, checked and resolved: plain functions of the family and the
values given, apart from the model (:mod:`mmtwins.models.backbones.twins`), which calls them.
The architecture comes in three forms (a variant name, an arch dict as mmpretrain's, mmseg's
per-stage keyword lists), the LayerNorm eps as ``norm_eps`` or mmseg's and mmpretrain's
``norm_cfg``. Every refusal is a ValueError or TypeError that says what to give instead."""
import os
from numbers import Real
from typing import List, Optional, Tuple

from torch import nn

from . import variants

#: eps of the block and stage-output LayerNorms of the official code and timm
DEFAULT_NORM_EPS = 1e-6


def resolve_architecture(family: str, arch, flat: dict, default_arch: str = 'small'
                         ) -> Tuple[str, dict]:
    """``(arch_name, arch_settings)`` from ``arch`` (a name or a dict), or from the
    per-stage lists given as keyword arguments (``flat``, the form of mmseg's configs).

    A dict of either form that equals a named variant is that variant."""
    required, name = variants.REQUIRED_KEYS[family], variants.CLASS_NAMES[family]
    if not flat:
        return resolve_arch(family, arch)
    given = list(flat)
    if not (isinstance(arch, str) and arch == default_arch):
        raise ValueError(
            f'{name} got arch={arch!r} and the per-stage list(s) {given} as keyword '
            f'arguments: state the architecture in one form, either arch (a '
            f'variant name or a dict of per-stage lists) or the per-stage keyword '
            f'arguments of mmseg\'s configs ({list(required)}), not both')
    for key, value in flat.items():
        if not isinstance(value, (list, tuple)):
            raise TypeError(f'{key} must be a per-stage list (one entry per stage), got '
                            f'{type(value).__name__}: {value!r}')
        number = Real if key == 'mlp_ratios' else int
        if any(isinstance(v, bool) or not isinstance(v, number) for v in value):
            kind = 'numbers' if number is Real else 'ints'
            raise TypeError(f'{key} must be a list of {kind}, got {value!r}')
    names = {k: k for k in flat}
    if 'windiow_sizes' in flat:  # mmseg's spelling
        if 'window_sizes' in flat:
            raise ValueError("got both window_sizes and windiow_sizes (mmseg's spelling of "
                             "the same argument): give one of them")
        flat = dict(flat)
        flat['window_sizes'] = flat.pop('windiow_sizes')
        names['window_sizes'] = 'windiow_sizes'
    if 'window_sizes' in flat and 'window_sizes' not in required:
        raise ValueError(
            f'{names["window_sizes"]}: {name} has no window attention (every '
            f'{family} block is global sub-sampled attention); remove it, or use '
            f'TwinsSVT for window attention')
    missing = [k for k in required if k not in flat]
    if missing:
        raise ValueError(
            f'{name} got the per-stage list(s) {given} as keyword arguments '
            f'(the form of mmseg\'s configs) but not {missing}: give all of '
            f'{list(required)} (mmtwins does not fill in mmseg\'s class defaults), '
            f'or name a variant instead: arch={sorted(variants.arch_zoo(family))}')
    return check_settings(family, flat, lambda key: names.get(key, key))


def resolve_arch(family: str, arch) -> Tuple[str, dict]:
    """``(arch_name, arch_settings)`` from ``arch``: a name of ``family``'s variants or a
    dict of per-stage lists (mmpretrain's form)."""
    required, aliases = variants.REQUIRED_KEYS[family], variants.alias_table(family)
    if isinstance(arch, str):
        key = arch.lower()
        if key in aliases:
            name = aliases[key]
            return name, {k: list(v) for k, v in variants.arch_zoo(family)[name].items()}
        other = next(f for f in variants.FAMILIES if f != family)
        hint = ''
        if key in variants.alias_table(other):
            hint = (f' ({arch!r} is a {other} architecture: use '
                    f'{variants.CLASS_NAMES[other]})')
        raise ValueError(f'unknown {family} arch {arch!r}{hint}; choose one of '
                         f'{sorted(aliases)} or pass a dict with keys '
                         f'{list(required)}')
    if not isinstance(arch, dict):
        raise TypeError(f'arch must be a str or a dict, got {type(arch).__name__}')
    unknown = sorted(set(arch) - set(required) - set(variants.OPTIONAL_KEYS))
    if unknown:
        hint = ''
        if 'windiow_sizes' in unknown and 'window_sizes' in required:
            hint = " (mmseg's windiow_sizes is spelled window_sizes in an arch dict)"
        elif 'window_sizes' in unknown and 'window_sizes' not in required:
            hint = f' ({family} has no window attention: use TwinsSVT for it)'
        raise ValueError(f'unknown key(s) {unknown} in the {family} arch dict{hint}; '
                         f'expected exactly {list(required)} (optionally with '
                         f'{list(variants.OPTIONAL_KEYS)}, as mmpretrain\'s arch dicts)')
    missing = [k for k in required if k not in arch]
    if missing:
        raise ValueError(f'the {family} arch dict misses key(s) {missing}')
    return check_settings(family, arch, lambda key: f'arch[{key!r}]')


def check_settings(family: str, arch: dict, label) -> Tuple[str, dict]:
    """Check the per-stage lists of ``arch`` (required keys present); ``label(key)``
    names a list in messages. Returns ``(arch_name, arch_settings)``: a named variant
    when the lists are one's, else ``'custom'`` (with ``patch_sizes`` and ``strides``
    only when they differ from every Twins' ``[4, 2, 2, 2]``)."""
    required = variants.REQUIRED_KEYS[family]
    settings = {}
    num_stages = None
    first = required[0]
    keys = list(required) + [k for k in variants.OPTIONAL_KEYS if k in arch]
    for key in keys:
        value = arch[key]
        if not isinstance(value, (list, tuple)) or not value:
            raise ValueError(f'{label(key)} must be a non-empty per-stage list, '
                             f'got {value!r}')
        if num_stages is None:
            num_stages = len(value)
        elif len(value) != num_stages:
            raise ValueError(f'{label(key)} has {len(value)} entries but '
                             f'{label(first)} has {num_stages}: every '
                             f'per-stage list must have one entry per stage')
        number = Real if key == 'mlp_ratios' else int
        for v in value:
            if isinstance(v, bool) or not isinstance(v, number) or v <= 0:
                kind = 'numbers' if number is Real else 'ints'
                raise ValueError(f'{label(key)} must hold positive {kind}, got {value!r}')
        settings[key] = list(value)
    for i, (dims, heads) in enumerate(zip(settings['embed_dims'], settings['num_heads'])):
        if dims % heads:
            raise ValueError(f"{label('embed_dims')}[{i}] ({dims}) is not a multiple of "
                             f"{label('num_heads')}[{i}] ({heads})")
    patch_sizes = settings.pop('patch_sizes', None)
    strides = settings.pop('strides', None)
    if (patch_sizes is None) != (strides is None):
        given, absent = (('patch_sizes', 'strides') if strides is None
                         else ('strides', 'patch_sizes'))
        raise ValueError(f'{label(given)} without {label(absent)}: give both (equal, as '
                         f'mmtwins\' patch embeddings are non-overlapping) or neither '
                         f'(every Twins uses {default_strides(num_stages)})')
    if strides is not None:
        differ = [i for i, (p, s) in enumerate(zip(patch_sizes, strides)) if p != s]
        if differ:
            raise ValueError(
                f'{label("patch_sizes")} {patch_sizes} differ from {label("strides")} '
                f'{strides} at stage(s) {differ}: mmtwins implements non-overlapping '
                f'patch embeddings only (a convolution with kernel size = stride); give '
                f'equal patch_sizes and strides (every Twins uses '
                f'{default_strides(num_stages)})')
        if strides != default_strides(num_stages):
            settings.update(patch_sizes=patch_sizes, strides=strides)
            return 'custom', settings
    variant = variants.match(family, settings)
    if variant is not None:
        return variant.size, variant.arch()
    return 'custom', settings


def default_strides(num_stages: int) -> List[int]:
    """Patch size = stride of each stage in every Twins: 4, then 2 per later stage."""
    return [4] + [2] * (num_stages - 1)


def init_cfg_of(pretrained, init_cfg):
    """The backbone's ``init_cfg``, checked; mmseg's segmentors pass ``pretrained`` (a path,
    URL or hub id), which stands for ``dict(type='Pretrained', checkpoint=pretrained)``."""
    if pretrained is not None:
        if not isinstance(pretrained, (str, os.PathLike)):
            raise TypeError(f'pretrained must be a checkpoint path, URL or hub id (str), '
                            f'got {type(pretrained).__name__}: {pretrained!r}')
        if init_cfg is not None:
            raise ValueError('give either pretrained or init_cfg, not both')
        init_cfg = dict(type='Pretrained', checkpoint=pretrained)
    check_init_cfg(init_cfg)
    return init_cfg


def check_plain_arguments(*, in_channels, frozen_stages, num_stages: int, window_padding,
                          window_padding_modes: Tuple[str, ...], drop_rate, attn_drop_rate,
                          drop_path_rate, qkv_bias) -> None:
    """The arguments that are single values with a range or a type."""
    if not isinstance(in_channels, int) or in_channels <= 0:
        raise ValueError(f'in_channels must be a positive int, got {in_channels!r}')
    if not isinstance(frozen_stages, int) or not -1 <= frozen_stages <= num_stages:
        raise ValueError(f'frozen_stages must be an int in [-1, {num_stages}] (-1 or 0: '
                         f'nothing frozen; k: stages 1..k frozen), got {frozen_stages!r}')
    if window_padding not in window_padding_modes:
        raise ValueError(f'window_padding must be one of {window_padding_modes}, '
                         f'got {window_padding!r}')
    for name, rate in (('drop_rate', drop_rate), ('attn_drop_rate', attn_drop_rate),
                       ('drop_path_rate', drop_path_rate)):
        if not isinstance(rate, Real) or not 0.0 <= rate < 1.0:
            raise ValueError(f'{name} must be a number in [0, 1), got {rate!r}')
    if not isinstance(qkv_bias, bool):
        raise TypeError(f'qkv_bias must be a bool, got {type(qkv_bias).__name__}: '
                        f'{qkv_bias!r}')


def resolve_norm_eps(norm_cfg, norm_eps: Optional[float]) -> float:
    """The eps of the block and stage-output LayerNorms from ``norm_cfg`` (mmseg's and
    mmpretrain's argument; eps 1e-5 unless it gives one, as those libraries build) and
    ``norm_eps`` (1e-6 when neither is given). An explicit ``norm_eps`` that disagrees
    with ``norm_cfg``'s eps is refused. The patch-embedding and sub-sampling LayerNorms
    keep the official 1e-5 (mmseg's and mmpretrain's too when norm_cfg gives no eps)."""
    if norm_eps is not None and (isinstance(norm_eps, bool) or not isinstance(norm_eps, Real)
                                 or not norm_eps > 0):
        raise ValueError(f'norm_eps must be a positive number, got {norm_eps!r}')
    if norm_cfg is None:
        return DEFAULT_NORM_EPS if norm_eps is None else norm_eps
    if not isinstance(norm_cfg, dict):
        raise TypeError(f"norm_cfg must be a dict such as dict(type='LN'), got "
                        f'{type(norm_cfg).__name__}: {norm_cfg!r}')
    kind = norm_cfg.get('type')
    if kind is None:
        raise ValueError(f"norm_cfg {norm_cfg} has no 'type'; the Twins backbones use "
                         f"LayerNorm: norm_cfg=dict(type='LN')")
    if not (kind is nn.LayerNorm or (isinstance(kind, str) and kind in ('LN', 'LayerNorm'))):
        raise ValueError(
            f'norm_cfg type {kind!r} is not supported: mmtwins\' Twins backbones use '
            f"LayerNorm only (as every Twins model and checkpoint); give norm_cfg="
            f"dict(type='LN') (optionally with eps) or leave norm_cfg out")
    unknown = sorted(set(norm_cfg) - {'type', 'eps', 'requires_grad'})
    if unknown:
        raise ValueError(f'norm_cfg key(s) {unknown} are not supported: mmtwins builds '
                         f'plain LayerNorms and takes only type, eps and requires_grad=True '
                         f'from norm_cfg')
    requires_grad = norm_cfg.get('requires_grad', True)
    if not isinstance(requires_grad, bool):
        raise TypeError(f"norm_cfg['requires_grad'] must be a bool, got "
                        f'{type(requires_grad).__name__}: {requires_grad!r}')
    if not requires_grad:
        raise ValueError(
            "norm_cfg requires_grad=False (frozen LayerNorms) is not implemented: freeze "
            "whole stages with frozen_stages=k, or give the norms lr_mult=0.0 in the "
            "optimizer's paramwise_cfg (custom_keys)")
    eps = norm_cfg.get('eps', 1e-5)  # torch's LayerNorm default, what mmseg builds
    if isinstance(eps, bool) or not isinstance(eps, Real):
        raise TypeError(f"norm_cfg['eps'] must be a number, got {type(eps).__name__}: "
                        f'{eps!r}')
    if not eps > 0:
        raise ValueError(f"norm_cfg['eps'] must be positive, got {eps!r}")
    if norm_eps is not None and norm_eps != eps:
        raise ValueError(
            f"norm_eps={norm_eps!r} disagrees with norm_cfg's eps {eps!r} (1e-5 when "
            f'norm_cfg gives none): give the LayerNorm eps once, in norm_cfg or in '
            f'norm_eps')
    return float(eps)


def check_init_cfg(init_cfg) -> None:
    cfgs = init_cfg if isinstance(init_cfg, list) else [init_cfg]
    for cfg in cfgs:
        if cfg is None and init_cfg is None:
            continue
        if not isinstance(cfg, dict):
            raise TypeError(
                f'init_cfg must be None, a dict or a list of dicts (e.g. '
                f"dict(type='Pretrained', checkpoint=PATH_OR_URL)), got "
                f'{type(cfg).__name__}: {cfg!r}')
        if 'type' not in cfg:
            raise ValueError(f"init_cfg {cfg} has no 'type' (e.g. type='Pretrained')")
        checkpoint = cfg.get('checkpoint')
        if cfg['type'] == 'Pretrained' and checkpoint is not None and \
                not isinstance(checkpoint, (str, os.PathLike)):
            raise TypeError(f"init_cfg['checkpoint'] must be a path, URL or hub id (str), "
                            f'got {type(checkpoint).__name__}: {checkpoint!r}')


def check_out_indices(out_indices, num_stages: int) -> Tuple[int, ...]:
    if isinstance(out_indices, int):
        out_indices = (out_indices,)
    if not isinstance(out_indices, (list, tuple)) or not out_indices:
        raise ValueError(f'out_indices must be a non-empty sequence of stage indices, '
                         f'got {out_indices!r}')
    result = []
    for i in out_indices:
        if isinstance(i, bool) or not isinstance(i, int) or not -num_stages <= i < num_stages:
            raise ValueError(f'out_indices {tuple(out_indices)!r}: {i!r} is not a stage '
                             f'index in [0, {num_stages - 1}]')
        result.append(i % num_stages)
    if len(set(result)) != len(result):
        raise ValueError(f'out_indices {tuple(out_indices)!r} repeats a stage')
    return tuple(sorted(result))


def check_norm_after_stage(value, num_stages: int, default: bool) -> List[bool]:
    if value is None:
        value = default
    if isinstance(value, bool):
        return [value] * num_stages
    if (not isinstance(value, (list, tuple)) or len(value) != num_stages
            or not all(isinstance(v, bool) for v in value)):
        raise ValueError(f'norm_after_stage must be a bool or {num_stages} bools, '
                         f'got {value!r}')
    return list(value)
