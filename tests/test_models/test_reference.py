"""mmtwins against the independent slow reference (official layout, explicit loops)."""
import pytest
import torch
from helpers import TINY_PCPVT, TINY_SVT
from helpers.reference_twins import RefTwins, randomize_
from helpers.twins_formats import ARCHS

from mmtwins.checkpoint import check_state_dict, to_mmtwins
from mmtwins.models import TwinsPCPVT, TwinsSVT
from mmtwins.models.layers import window_padding_mask


def build_pair(cls, arch, window_padding='mask', seed=0):
    ref = randomize_(RefTwins(**arch, norm_list=cls is TwinsSVT), seed=seed).eval()
    model = cls(arch=arch, window_padding=window_padding).eval()
    info = to_mmtwins(ref.state_dict())
    assert info['format'] == 'official' and not info['unknown']
    model.load_state_dict(check_state_dict(model, info['state_dict'])['matched'], strict=True)
    return ref, model


def max_diff(outs_a, outs_b):
    assert [o.shape for o in outs_a] == [o.shape for o in outs_b]
    return max((a - b).abs().max().item() for a, b in zip(outs_a, outs_b))


@pytest.mark.parametrize('cls,name', [(TwinsSVT, 'svt_s'), (TwinsPCPVT, 'pcpvt_s')])
@pytest.mark.parametrize('size', [(224, 224), (128, 160)])
def test_zero_padding_is_the_official_model(cls, name, size):
    """At multiples of 32, 'zero' gives the official detection model's numbers; 128x160
    pads windows on both sides at every stage, 224x224 pads none."""
    ref, model = build_pair(cls, ARCHS[name], 'zero')
    x = torch.randn(1, 3, *size)
    with torch.no_grad():
        ours = model(x)
    assert max_diff(ours, ref(x, 'zero')) < 1e-4


def test_mask_equals_official_where_no_window_pads():
    ref, model = build_pair(TwinsSVT, ARCHS['svt_s'], 'mask')
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        ours = model(x)
    assert max_diff(ours, ref(x, 'zero')) < 1e-4


# sizes whose token maps need window padding on one side only, both sides, or are
# smaller than a window; odd sizes also exercise patch and sr padding
MASK_SIZES = [(224, 256), (256, 224), (97, 131), (33, 47), (1, 1), (28, 60), (32, 512)]


@pytest.mark.parametrize('size', MASK_SIZES)
def test_mask_semantics_against_reference(size):
    ref, model = build_pair(TwinsSVT, TINY_SVT, 'mask', seed=3)
    _, zero_model = build_pair(TwinsSVT, TINY_SVT, 'zero', seed=3)
    x = torch.randn(2, 3, *size)
    with torch.no_grad():
        ours, ours_zero = model(x), zero_model(x)
    ref_mask, ref_zero = ref(x, 'mask'), ref(x, 'zero')
    assert max_diff(ours, ref_mask) < 1e-4
    assert max_diff(ours_zero, ref_zero) < 1e-4
    # the two behaviours really differ wherever a window is padded
    assert max_diff(ref_mask, ref_zero) > 1e-3


def test_pcpvt_odd_sizes_against_reference():
    ref, model = build_pair(TwinsPCPVT, TINY_PCPVT, seed=5)
    for size in [(97, 131), (33, 47), (1, 1)]:
        x = torch.randn(1, 3, *size)
        with torch.no_grad():
            assert max_diff(model(x), ref(x)) < 1e-4


def test_window_padding_mask_one_sided():
    # 14 rows (no padding), 10 columns (4 padded): only the last 4 columns are masked
    mask = window_padding_mask((14, 10), 7)
    assert mask.shape == (4, 1, 1, 49) and mask.dtype == torch.bool
    grid = mask.view(2, 2, 7, 7)  # (nh, nw, ws, ws)
    assert grid[:, 0].all()  # left windows: all real
    assert grid[:, 1, :, :3].all() and not grid[:, 1, :, 3:].any()
    assert window_padding_mask((14, 21), 7) is None
    # padding rows only
    rows = window_padding_mask((9, 7), 7).view(2, 1, 7, 7)
    assert rows[0].all() and rows[1, :, :2].all() and not rows[1, :, 2:].any()


def test_padded_key_gets_zero_weight():
    """Directly: with the mask, no real query puts weight on a padded key."""
    from mmtwins.models.layers import attention
    torch.manual_seed(0)
    L = 49
    mask = window_padding_mask((7, 3), 7)  # one window, columns 3..6 padded
    q, k, v = torch.randn(3, 1, 1, 2, L, 8).unbind(0)
    eye = torch.eye(L).expand(1, 1, 2, L, L)
    weights = attention(q, k, eye, attn_mask=mask, attn_impl='math')  # v = identity -> weights
    fused = attention(q, k, eye, attn_mask=mask, attn_impl='sdpa')
    padded = ~mask.view(L)
    assert padded.sum() == 28
    assert weights[..., padded].abs().max() == 0
    torch.testing.assert_close(weights.sum(-1), torch.ones(1, 1, 2, L))
    torch.testing.assert_close(fused, weights, atol=1e-6, rtol=1e-5)
