"""The backbone contract, for each of the six published variants and both window-padding
modes: names, parameter counts, pyramid shapes at any input size, layer depths, and loading
its own state dict back through every door."""
import math

import pytest
import torch

import mmtwins.models as models
from mmtwins.variants import VARIANTS

# official parameter counts with the 1000-class head (facts sheet, section 1)
OFFICIAL_PARAMS = dict(pcpvt_s=24_106_216, pcpvt_b=43_828_456, pcpvt_l=60_989_672,
                       svt_s=24_060_776, svt_b=56_070_952, svt_l=99_271_400)
SIZES = [(224, 224), (97, 131), (33, 47), (1, 1)]
CASES = [(key, padding) for key in VARIANTS for padding in ('mask', 'zero')]


@pytest.fixture(scope='module')
def built():
    """One model per case, built once (the large variants take seconds each)."""
    cache = {}

    def get(key, padding):
        if (key, padding) not in cache:
            variant = VARIANTS[key]
            cls = getattr(models, variant.class_name)
            cache[key, padding] = cls(arch=variant.size, window_padding=padding).eval()
        return cache[key, padding]
    yield get
    cache.clear()


@pytest.mark.parametrize('key,padding', CASES, ids=[f'{k}-{p}' for k, p in CASES])
def test_backbone_contract(built, key, padding):
    variant = VARIANTS[key]
    model = built(key, padding)
    cls = type(model)
    dims = variant.settings['embed_dims']

    # every name of the variant builds the same architecture
    assert model.family == variant.family and model.arch_name == variant.size
    assert model.arch_settings == variant.arch()
    for alias in variant.aliases + (variant.official.upper(),):
        assert cls.arch_aliases[alias.lower()] == variant.size
        if padding == 'mask' and variant.size == 'small':  # a build by each name
            named = cls(arch=alias)
            assert (named.arch_name, named.arch_settings) == (variant.size, variant.arch())

    # parameters: the official count without the ImageNet head and final norm, plus the
    # stage norms of the dense-prediction models (SVT's default) where present
    head_and_norm = dims[-1] * 1000 + 1000 + 2 * dims[-1]
    stage_norms = 2 * sum(dims) if all(model.norm_after_stage) else 0
    assert model.norm_after_stage == [variant.family == 'Twins-SVT'] * 4
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == OFFICIAL_PARAMS[key] - head_and_norm + stage_norms

    # a 4-level pyramid at strides 4..32 for any input size
    assert model.out_channels == dims and model.out_strides == [4, 8, 16, 32]
    with torch.no_grad():
        for h, w in SIZES:
            outs = model(torch.rand(1, 3, h, w))
            assert len(outs) == 4
            for out, c, s in zip(outs, dims, (4, 8, 16, 32)):
                assert tuple(out.shape) == (1, c, math.ceil(h / s), math.ceil(w / s)), (h, w)
                assert torch.isfinite(out).all(), (h, w)

    # layer depths (mmpretrain's contract): the stem 0, blocks 1..N in order, the rest above
    num_layers = sum(variant.settings['depths']) + 2
    depths = {name: model.get_layer_depth('backbone.' + name, 'backbone.')
              for name, _ in model.named_parameters()}
    assert {n for _, n in depths.values()} == {num_layers}
    assert depths['stages.0.patch_embed.proj.weight'][0] == 0
    block_depths = [depths[f'stages.{i}.blocks.{j}.norm1.weight'][0]
                    for i, d in enumerate(variant.settings['depths']) for j in range(d)]
    assert block_depths == list(range(1, num_layers - 1))
    assert model.get_layer_depth('decode_head.conv_seg.weight', 'backbone.') == \
        (num_layers - 1, num_layers)

    # its own state dict loads back strictly (through the conversion pre-hook)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    result = model.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
