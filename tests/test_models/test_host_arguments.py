"""The hosts' Twins arguments: a Twins backbone of an mmseg config (flat keyword arguments)
or of an mmpretrain config (an arch dict with ``patch_sizes`` and ``strides``) builds
mmtwins' backbone with a change of ``type`` only; what mmtwins does not implement is
refused with the reason."""
import glob
import importlib.util
import math
import os
import re

import pytest
import torch
from helpers import TINY_PCPVT, TINY_SVT
from helpers.reference_twins import randomize_
from helpers.twins_formats import to_mmseg
from mmengine.config import Config
from mmengine.registry import MODELS

from mmtwins import variants
from mmtwins.errors import CheckpointNotFoundError
from mmtwins.models import TwinsPCPVT, TwinsSVT

HOST_TYPES = {'PCPVT': TwinsPCPVT, 'SVT': TwinsSVT}  # mmseg's / mmpretrain's type -> ours
OF_FAMILY = {variants.PCPVT: TwinsPCPVT, variants.SVT: TwinsSVT}
TINY = {TwinsPCPVT: TINY_PCPVT, TwinsSVT: TINY_SVT}
FAMILIES = pytest.mark.parametrize('cls', [TwinsPCPVT, TwinsSVT], ids=['PCPVT', 'SVT'])
SIZE = 64


def mmseg_config_dir():
    """mmseg's shipped configs (found without importing mmseg), or None."""
    spec = importlib.util.find_spec('mmseg')
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], '.mim', 'configs')
    return path if os.path.isdir(path) else None


CONFIG_DIR = mmseg_config_dir()
MMSEG_CONFIGS = sorted(
    os.path.relpath(p, CONFIG_DIR)
    for p in glob.glob(os.path.join(CONFIG_DIR, 'twins', 'twins_*.py'))
    + glob.glob(os.path.join(CONFIG_DIR, '_base_', 'models', 'twins_*.py'))) if CONFIG_DIR else []


def build(cls, cfg, device='cpu'):
    """Build ``cfg`` (a host's backbone config) with its type changed to ours, nothing else."""
    with torch.device(device):
        return MODELS.build(dict(cfg, type=f'mmtwins.{cls.__name__}'))


def host_kwargs(cls, **overrides):
    """The tiny architecture as mmseg's flat keyword arguments (mmseg's spelling)."""
    kwargs = {('windiow_sizes' if k == 'window_sizes' else k): list(v)
              for k, v in TINY[cls].items()}
    kwargs.update(patch_sizes=[4, 2, 2, 2], strides=[4, 2, 2, 2])
    kwargs.update(overrides)
    return {k: v for k, v in kwargs.items() if v is not None}


def check_outputs(model, out_strides, size=(SIZE, SIZE)):
    with torch.no_grad():
        outs = model.eval()(torch.rand(1, model.in_channels, *size))
    assert [tuple(o.shape) for o in outs] == [
        (1, c, math.ceil(size[0] / s), math.ceil(size[1] / s))
        for c, s in zip(model.out_channels, out_strides)]
    assert all(torch.isfinite(o).all() for o in outs)


# --------------------------------------------------------------- mmseg's configs
@pytest.mark.skipif(not MMSEG_CONFIGS, reason="mmseg's configs are not installed")
@pytest.mark.parametrize('config', MMSEG_CONFIGS)
def test_mmseg_config_builds_with_a_new_type(config):
    backbone = Config.fromfile(os.path.join(CONFIG_DIR, config)).model.backbone.to_dict()
    cls = HOST_TYPES[backbone['type']]
    family, size = re.search(r'twins_(pcpvt|svt)-([sbl])_', os.path.basename(config)).groups()
    variant = variants.lookup(cls.family, size)
    assert variant.family == cls.family and variant.key.startswith(family)
    # one forward per family and head type is enough (the backbones of a variant's configs
    # differ only in init_cfg and drop_path_rate); the others are built on the meta device
    run = variant.size == 'small' and 'uper' not in config
    model = build(cls, backbone, device='cpu' if run else 'meta')
    assert type(model) is cls
    assert model.arch_name == variant.size and model.arch_settings == variant.arch()
    assert model.out_channels == variant.settings['embed_dims']
    assert model.out_strides == [4, 8, 16, 32]
    assert model.norm_eps == 1e-5  # norm_cfg=dict(type='LN'): torch's default, as mmseg
    assert model.qkv_bias is True and model.in_channels == backbone['in_channels']
    assert model.norm_after_stage == [backbone['norm_after_stage']] * 4
    assert model.init_cfg == backbone['init_cfg']
    rates = [b.drop_path.p for st in model.stages for b in st.blocks]
    assert rates[-1] == pytest.approx(backbone['drop_path_rate'])
    if run:
        check_outputs(model, [4, 8, 16, 32])


# --------------------------------------------------------------- mmpretrain's arch dicts
@pytest.mark.parametrize('key', list(variants.VARIANTS))
def test_mmpretrain_arch_dict_builds_as_the_named_variant(key):
    variant = variants.VARIANTS[key]
    cls = OF_FAMILY[variant.family]
    # mmpretrain's arch_zoo entries: the variant's lists plus patch_sizes and strides;
    # the other arguments as mmpretrain's ImageNet configs give them
    arch = dict(variant.arch(), patch_sizes=[4, 2, 2, 2], strides=[4, 2, 2, 2])
    cfg = dict(type=cls.__name__.replace('Twins', ''), arch=arch, in_channels=3,
               out_indices=(0, 1, 2, 3), qkv_bias=True, norm_cfg=dict(type='LN', eps=1e-6),
               norm_after_stage=[False, False, False, True], drop_rate=0.0,
               attn_drop_rate=0.0, drop_path_rate=0.3)
    small = variant.size == 'small'
    model = build(cls, cfg, device='cpu' if small else 'meta')
    assert model.arch_name == variant.size and model.arch_settings == variant.arch()
    assert model.out_channels == variant.settings['embed_dims']
    assert model.out_strides == [4, 8, 16, 32]
    assert model.norm_eps == 1e-6 and model.norm_after_stage == [False, False, False, True]
    if small:
        check_outputs(model, [4, 8, 16, 32])


@FAMILIES
def test_custom_lists_stay_custom_in_both_forms(cls):
    flat = cls(**host_kwargs(cls))
    as_dict = cls(arch=dict(TINY[cls], patch_sizes=[4, 2, 2, 2], strides=[4, 2, 2, 2]))
    assert flat.arch_name == as_dict.arch_name == 'custom'
    assert flat.arch_settings == as_dict.arch_settings == TINY[cls]
    # window_sizes (our spelling) works flat too
    if cls is TwinsSVT:
        kwargs = host_kwargs(cls, windiow_sizes=None, window_sizes=[7, 7, 7, 7])
        assert cls(**kwargs).arch_settings == TINY[cls]


def test_named_variant_lists_give_checkpoint_hints(tmp_path, monkeypatch):
    """Flat lists equal to a variant are that variant: a missing checkpoint names its
    published weights."""
    monkeypatch.chdir(tmp_path)
    variant = variants.VARIANTS['pcpvt_s']
    kwargs = {k: v for k, v in variant.arch().items()}
    model = build(TwinsPCPVT, dict(kwargs, patch_sizes=[4, 2, 2, 2], strides=[4, 2, 2, 2],
                                   init_cfg=dict(type='Pretrained', checkpoint='missing.pth')),
                  device='meta')
    assert model.arch_name == 'small'
    with pytest.raises(CheckpointNotFoundError, match=re.escape(variant.mmseg_url)) as info:
        model.init_weights()
    assert isinstance(info.value, FileNotFoundError)


# --------------------------------------------------------------- strides
@FAMILIES
@pytest.mark.parametrize('strides,out_strides', [
    ([4, 2, 2, 2], [4, 8, 16, 32]), ([2, 2, 2, 2], [2, 4, 8, 16]), ([4, 2, 2, 1], [4, 8, 16, 16])])
def test_stride_layouts(cls, strides, out_strides):
    model = cls(arch=dict(TINY[cls], patch_sizes=strides, strides=strides))
    assert model.out_strides == out_strides
    assert cls(arch=TINY[cls], out_indices=(1, 3)).out_strides == [8, 32]
    for stage, s in zip(model.stages, strides):  # non-overlapping: kernel = stride
        assert stage.patch_embed.proj.kernel_size == stage.patch_embed.proj.stride == (s, s)
    check_outputs(model, out_strides, (45, 61))  # padded at every stage
    # the flat form builds the same model; arch_settings rebuilds it
    flat = cls(**host_kwargs(cls, patch_sizes=strides, strides=strides))
    assert flat.arch_settings == model.arch_settings
    if strides == [4, 2, 2, 2]:
        assert model.arch_settings == TINY[cls]
    else:
        assert model.arch_settings == dict(TINY[cls], patch_sizes=strides, strides=strides)
    again = cls(arch=model.arch_settings).eval()
    again.load_state_dict(model.state_dict())
    x = torch.rand(1, 3, 45, 61)
    with torch.no_grad():
        for a, b in zip(again(x), model.eval()(x)):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


# --------------------------------------------------------------- qkv_bias
def to_official(state_dict):
    """mmtwins' names -> the official code's (the writers of helpers take it from there)."""
    rules = [(r'^stages\.(\d+)\.blocks\.(\d+)\.', r'blocks.\1.\2.'),
             (r'^stages\.(\d+)\.patch_embed\.', r'patch_embeds.\1.'),
             (r'^stages\.(\d+)\.peg\.proj\.', r'pos_block.\1.proj.0.'),
             (r'^stages\.(\d+)\.norm\.', r'norm_list.\1.')]
    out = {}
    for key, value in state_dict.items():
        for pattern, repl in rules:
            new, n = re.subn(pattern, repl, key)
            if n:
                out[new] = value
                break
        else:
            raise KeyError(key)
    return out


@pytest.mark.parametrize('cls,window_padding', [
    (TwinsPCPVT, 'mask'), (TwinsSVT, 'mask'), (TwinsSVT, 'zero')])  # 'zero': LSA pads biases
def test_qkv_bias_false(cls, window_padding, tmp_path):
    model = randomize_(cls(arch=TINY[cls], qkv_bias=False, window_padding=window_padding))
    attns = [b.attn for st in model.stages for b in st.blocks]
    assert {type(a).__name__ for a in attns} == (
        {'GlobalSubsampledAttention', 'LocallyGroupedAttention'} if cls is TwinsSVT
        else {'GlobalSubsampledAttention'})
    for attn in attns:
        linears = [getattr(attn, n) for n in ('q', 'kv', 'qkv') if hasattr(attn, n)]
        assert linears and all(m.bias is None for m in linears)
        assert attn.proj.bias is not None
    state = model.state_dict()
    assert not any(k.endswith(('.q.bias', '.kv.bias', '.qkv.bias')) for k in state)
    # independent computation: the same weights with zero biases in a qkv_bias=True model
    ref = cls(arch=TINY[cls], qkv_bias=True, window_padding=window_padding).eval()
    full = dict(state)
    for key, value in ref.state_dict().items():
        if key not in full:
            assert key.endswith(('.q.bias', '.kv.bias', '.qkv.bias')), key
            full[key] = torch.zeros_like(value)
    ref.load_state_dict(full)
    x = torch.rand(1, 3, 45, 61)  # windows padded on both sides, sub-sampling padded
    with torch.no_grad():
        want = ref(x)
        for a, b in zip(model.eval()(x), want):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    if window_padding == 'zero':
        return
    # its checkpoints load and convert: ours, the official and mmseg's layouts, as a file
    official = to_official(state)
    path = str(tmp_path / 'nobias.pth')
    torch.save({'model': official}, path)
    for source in (state, official, to_mmseg(official), None):
        fresh = cls(arch=TINY[cls], qkv_bias=False, window_padding=window_padding,
                    init_cfg=dict(type='Pretrained', checkpoint=path) if source is None
                    else None)
        if source is None:
            fresh.init_weights()
        else:
            fresh.load_state_dict(source)
        with torch.no_grad():
            for a, b in zip(fresh.eval()(x), want):
                torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    # a checkpoint with biases has no place in a bias-free model: refused, not half-loaded
    with pytest.raises(ValueError, match='no place in the model'):
        cls(arch=TINY[cls], qkv_bias=False).load_state_dict(ref.state_dict())


# --------------------------------------------------------------- refusals
@FAMILIES
@pytest.mark.parametrize('kwargs,match', [
    (dict(patch_sizes=[7, 3, 3, 3]), 'non-overlapping patch embeddings only'),
    (dict(patch_sizes=None), 'strides without patch_sizes'),
    (dict(norm_cfg=dict(type='BN')), "norm_cfg type 'BN' is not supported: .*LayerNorm only"),
    (dict(norm_cfg=dict(type='SyncBN', requires_grad=True)), 'LayerNorm only'),
    (dict(norm_cfg=dict(type='LN', requires_grad=False)), 'requires_grad=False .* frozen_stages'),
    (dict(norm_cfg=dict(type='LN', momentum=0.1)), r"key\(s\) \['momentum'\] are not supported"),
    (dict(norm_cfg=dict(eps=1e-6)), "no 'type'"),
    (dict(norm_cfg=dict(type='LN', eps=0.0)), 'must be positive'),
    (dict(norm_cfg=dict(type='LN', eps=1e-6), norm_eps=1e-5), 'disagrees'),
    # an explicit norm_eps equal to its default is still an explicit, disagreeing value
    (dict(norm_cfg=dict(type='LN', eps=1e-5), norm_eps=1e-6), 'disagrees'),
    (dict(norm_cfg=dict(type='LN'), norm_eps=1e-6), 'disagrees'),
    (dict(arch='base'), "arch='base' and the per-stage list.*one form"),
    (dict(arch=TINY_PCPVT), 'one form'),
    (dict(sr_ratios=None), r"but not \['sr_ratios'\].*does not fill in mmseg's class defaults"),
    (dict(embed_dims=[16, 32, 32]), 'depths has 4 entries but embed_dims has 3'),
    (dict(depths=[2, 0, 2, 2]), 'depths must hold positive ints'),
    (dict(num_heads=[3, 2, 2, 4]), r'embed_dims\[0\] \(16\) is not a multiple of num_heads'),
])
def test_unsupported_arguments_are_refused_with_the_reason(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**host_kwargs(cls, **kwargs))


@pytest.mark.parametrize('cls,kwargs,match', [
    (TwinsPCPVT, dict(arch=dict(TINY_PCPVT, patch_sizes=[3, 2, 2, 2], strides=[4, 2, 2, 2])),
     r"arch\['patch_sizes'\] \[3, 2, 2, 2\] differ from arch\['strides'\].*stage\(s\) \[0\]"),
    (TwinsSVT, dict(arch=dict(TINY_SVT, strides=[4, 2, 2, 2])), 'without'),
    (TwinsSVT, dict(arch=dict(TINY_SVT, patch_sizes=[4, 2, 2]), strides=None),
     'has 3 entries'),
    (TwinsSVT, dict(host_kwargs(TwinsSVT), window_sizes=[7, 7, 7, 7]), 'both window_sizes'),
    (TwinsPCPVT, dict(host_kwargs(TwinsPCPVT), windiow_sizes=[7, 7, 7, 7]),
     'no window attention'),
    (TwinsPCPVT, dict(host_kwargs(TwinsPCPVT), window_sizes=[7, 7, 7, 7]),
     'no window attention'),
    (TwinsSVT, dict(arch={('windiow_sizes' if k == 'window_sizes' else k): v
                          for k, v in TINY_SVT.items()}), 'spelled window_sizes'),
    (TwinsPCPVT, dict(embed_dims=[64, 128, 320, 512]), r"not \['depths', 'num_heads'"),
])
def test_more_refusals(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


@FAMILIES
@pytest.mark.parametrize('kwargs,match', [
    (dict(embed_dims=64), 'embed_dims must be a per-stage list'),
    (dict(depths='2222'), 'depths must be a per-stage list'),
    (dict(depths=[2, 2.0, 2, 2]), 'depths must be a list of ints'),
    (dict(mlp_ratios=[2, '2', 2, 2]), 'mlp_ratios must be a list of numbers'),
    (dict(strides=[4, 2, 2, True], patch_sizes=[4, 2, 2, True]), 'must be a list of ints'),
    (dict(qkv_bias='yes'), 'qkv_bias must be a bool'),
    (dict(qkv_bias=1), 'qkv_bias must be a bool'),
    (dict(norm_cfg='LN'), 'norm_cfg must be a dict'),
    (dict(norm_cfg=dict(type='LN', eps='1e-6')), r"norm_cfg\['eps'\] must be a number"),
    (dict(norm_cfg=dict(type='LN', requires_grad='yes')), 'must be a bool'),
    (dict(init_cfg=123), 'init_cfg must be None, a dict or a list of dicts'),
    (dict(pretrained=123), 'pretrained must be a checkpoint path'),
])
def test_wrong_types_raise_type_error(cls, kwargs, match):
    with pytest.raises(TypeError, match=match):
        cls(**host_kwargs(cls, **kwargs))


@FAMILIES
@pytest.mark.parametrize('how', ['init_cfg', 'pretrained'])
def test_missing_pretrained_checkpoint(cls, how, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if how == 'init_cfg':
        kwargs = dict(init_cfg=dict(type='Pretrained', checkpoint='missing.pth'))
    else:
        kwargs = dict(pretrained='missing.pth')
    model = cls(**host_kwargs(cls, **kwargs))  # building does not read the file
    with pytest.raises(FileNotFoundError, match='missing.pth') as info:
        model.init_weights()
    assert isinstance(info.value, CheckpointNotFoundError)


# --------------------------------------------------------------- mmseg's own backbones
@FAMILIES
def test_same_kwargs_same_features_as_mmseg(cls):
    """mmseg's PCPVT/SVT and ours built from the same keyword arguments (as mmseg's configs
    give them, tiny lists) compute the same features from mmseg's weights, loaded as they
    are: norm_cfg=dict(type='LN') gives every LayerNorm eps 1e-5 in both."""
    mmseg_backbones = pytest.importorskip('mmseg.models.backbones')
    kwargs = host_kwargs(cls, in_channels=3, out_indices=(0, 1, 2, 3), qkv_bias=True,
                         norm_cfg=dict(type='LN'), norm_after_stage=cls is TwinsSVT,
                         drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.2)
    theirs = getattr(mmseg_backbones, 'SVT' if cls is TwinsSVT else 'PCPVT')(**kwargs)
    randomize_(theirs, seed=3).eval()
    ours = build(cls, kwargs).eval()
    assert ours.norm_eps == 1e-5
    ours.load_state_dict(theirs.state_dict())
    assert ours.last_load['format'] == 'mmseg'
    x = torch.randn(2, 3, SIZE, SIZE)  # mmseg's window mask is right at square sizes
    with torch.no_grad():
        for a, b in zip(ours(x), theirs(x)):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
