"""mmtwins.arguments: the backbones' argument resolution as plain functions, without a model
(the backbones' own refusals, through their constructors, are in test_host_arguments.py)."""
import pytest
from helpers import TINY_PCPVT, TINY_SVT

from mmtwins import arguments, variants
from mmtwins.arguments import (check_norm_after_stage, check_out_indices, init_cfg_of,
                               resolve_architecture, resolve_norm_eps)


def test_architecture_in_its_three_forms():
    small = variants.arch_zoo(variants.SVT)['small']
    assert resolve_architecture(variants.SVT, 'S', {}) == ('small', small)  # a name
    assert resolve_architecture(variants.SVT, 'small', dict(small)) == ('small', small)  # mmseg
    assert resolve_architecture(variants.SVT, dict(small), {}) == ('small', small)  # a dict
    assert resolve_architecture(variants.PCPVT, dict(TINY_PCPVT), {}) == ('custom', TINY_PCPVT)
    # mmseg's spelling of window_sizes, in its per-stage keyword form
    flat = {k: v for k, v in TINY_SVT.items() if k != 'window_sizes'}
    assert resolve_architecture(variants.SVT, 'small', dict(flat, windiow_sizes=[7] * 4)) \
        == ('custom', TINY_SVT)
    with pytest.raises(ValueError, match=r"'alt_gvt_small' is a Twins-SVT architecture: use "
                                         r'TwinsSVT'):
        resolve_architecture(variants.PCPVT, 'alt_gvt_small', {})
    with pytest.raises(ValueError, match='state the architecture in one form'):
        resolve_architecture(variants.SVT, 'base', dict(small))
    assert arguments.default_strides(4) == [4, 2, 2, 2]


def test_norm_eps_and_the_other_arguments():
    assert resolve_norm_eps(None, None) == arguments.DEFAULT_NORM_EPS == 1e-6
    assert resolve_norm_eps(dict(type='LN'), None) == 1e-5
    assert resolve_norm_eps(dict(type='LN', eps=1e-6), 1e-6) == 1e-6
    with pytest.raises(ValueError, match='disagrees'):
        resolve_norm_eps(dict(type='LN'), 1e-6)
    assert check_out_indices(-1, 4) == (3,) and check_out_indices([3, 0], 4) == (0, 3)
    assert check_norm_after_stage(None, 4, True) == [True] * 4
    assert check_norm_after_stage([False, True], 2, True) == [False, True]
    assert init_cfg_of('x.pth', None) == dict(type='Pretrained', checkpoint='x.pth')
    with pytest.raises(ValueError, match='not both'):
        init_cfg_of('x.pth', dict(type='Pretrained', checkpoint='y.pth'))
