"""Registration: our backbones build from mmdet- and mmseg-scoped configs by either name,
mmseg's own Twins keep working, and mmtwins needs neither mmdet nor mmseg."""
import json

import pytest
from helpers import run_python

pytestmark = pytest.mark.slow  # each test builds in a fresh interpreter (a subprocess)


def build(scope, type_name, block=''):
    proc = run_python(['tests/scripts/build_in_scope.py', scope, type_name, '--block', block])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize('type_name', ['mmtwins.TwinsSVT', 'TwinsSVT'])
def test_mmdet_config_builds_our_backbone(type_name):
    out = build('mmdet', type_name, block='mmseg,torchvision')
    assert out['imported_by_config']
    assert out['model'].endswith('RetinaNet')
    assert out['backbone'] == 'mmtwins.models.backbones.twins.TwinsSVT'
    # FPN start_level=1 + on_input extra convs: 5 levels from strides 8..128
    assert [s[2:] for s in out['shapes']] == [[8, 12], [4, 6], [2, 3], [1, 2], [1, 1]]
    assert 'mmseg' not in out['loaded'] and 'torchvision' not in out['loaded']


@pytest.mark.parametrize('type_name', ['mmtwins.TwinsPCPVT', 'TwinsPCPVT'])
def test_mmseg_config_builds_our_backbone(type_name):
    out = build('mmseg', type_name, block='mmdet,torchvision')
    assert out['imported_by_config']
    assert out['model'].endswith('EncoderDecoder')
    assert out['backbone'] == 'mmtwins.models.backbones.twins.TwinsPCPVT'
    # through the FPN neck (256 channels) at strides 4..32
    assert out['shapes'] == [[1, 256, 16, 24], [1, 256, 8, 12], [1, 256, 4, 6], [1, 256, 2, 3]]
    assert 'mmdet' not in out['loaded']


def test_mmtwins_alone_needs_neither_mmdet_nor_mmseg():
    out = build('mmengine', 'mmtwins.TwinsSVT', block='mmdet,mmseg,torchvision')
    assert out['backbone'] == 'mmtwins.models.backbones.twins.TwinsSVT'
    assert out['loaded'] == []


def test_mmseg_own_twins_untouched():
    code = '''
import mmtwins
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules
register_all_modules()
init_default_scope('mmseg')
for name in ('PCPVT', 'SVT'):
    m = MODELS.build(dict(type=name))
    print('built', type(m).__module__ + '.' + type(m).__name__)
m = MODELS.build(dict(type='mmseg.SVT'))
print('built', type(m).__module__ + '.' + type(m).__name__)
'''
    proc = run_python(['-c', code])
    assert proc.returncode == 0, proc.stderr[-3000:]
    # (onedl-mmsegmentation prints a notice of its own at import)
    built = [line.split()[1] for line in proc.stdout.splitlines() if line.startswith('built ')]
    assert built == ['mmseg.models.backbones.twins.PCPVT',
                     'mmseg.models.backbones.twins.SVT',
                     'mmseg.models.backbones.twins.SVT']
