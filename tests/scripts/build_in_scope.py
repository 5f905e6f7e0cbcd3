"""Build a whole mmdet/mmseg model whose backbone is ours, from a config file, in a fresh
interpreter: ``python build_in_scope.py SCOPE BACKBONE_TYPE [--block mod1,mod2]``.

Prints one JSON line with what was built. Modules named in --block cannot be imported
(to prove that mmtwins needs neither mmdet nor mmseg of the other task).
"""
import argparse
import json
import os
import sys
import tempfile

parser = argparse.ArgumentParser()
parser.add_argument('scope', choices=['mmdet', 'mmseg', 'mmengine'])
parser.add_argument('backbone_type')
parser.add_argument('--block', default='')
args = parser.parse_args()

blocked = [m for m in args.block.split(',') if m]


class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in blocked:
            raise ModuleNotFoundError(f'No module named {name!r} (blocked for this test)')
        return None


sys.meta_path.insert(0, Blocker())

DET = '''
_base_ = ['mmdet::_base_/models/retinanet_r50_fpn.py']
custom_imports = dict(imports=['mmtwins'], allow_failed_imports=False)
model = dict(
    backbone=dict(_delete_=True, type='{type}', arch='s', drop_path_rate=0.2),
    neck=dict(in_channels=[64, 128, 256, 512], start_level=1, add_extra_convs='on_input'))
'''
SEG = '''
_base_ = ['mmseg::_base_/models/fpn_r50.py']
custom_imports = dict(imports=['mmtwins'], allow_failed_imports=False)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,  # the base's ResNet weights
    data_preprocessor=dict(size=(64, 64)),
    backbone=dict(_delete_=True, type='{type}', arch='s'),
    neck=dict(in_channels=[64, 128, 320, 512]),
    decode_head=dict(num_classes=5, norm_cfg=norm_cfg))
'''
ENGINE = '''
custom_imports = dict(imports=['mmtwins'], allow_failed_imports=False)
model = dict(type='{type}', arch='s')
'''

import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402

text = {'mmdet': DET, 'mmseg': SEG, 'mmengine': ENGINE}[args.scope].format(type=args.backbone_type)
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, 'cfg.py')
    with open(path, 'w') as f:
        f.write(text)
    assert 'mmtwins' not in sys.modules
    cfg = Config.fromfile(path)
    imported_by_config = 'mmtwins' in sys.modules

if args.scope == 'mmengine':
    from mmengine.registry import MODELS
    model = MODELS.build(cfg.model)
    backbone = model
else:
    from mmengine.registry import init_default_scope
    init_default_scope(args.scope)
    registry = __import__(f'{args.scope}.registry', fromlist=['MODELS']).MODELS
    model = registry.build(cfg.model)
    backbone = model.backbone

model.eval()
with torch.no_grad():
    if args.scope == 'mmdet':
        feats = model.extract_feat(torch.rand(1, 3, 64, 96))
    elif args.scope == 'mmseg':
        feats = model.extract_feat(torch.rand(1, 3, 64, 96))
    else:
        feats = model(torch.rand(1, 3, 64, 96))
print(json.dumps(dict(
    imported_by_config=imported_by_config,
    model=type(model).__module__ + '.' + type(model).__name__,
    backbone=type(backbone).__module__ + '.' + type(backbone).__name__,
    shapes=[list(f.shape) for f in feats],
    loaded=sorted(m for m in ('mmdet', 'mmseg', 'torchvision') if m in sys.modules))))
