"""The config zoo as one table, from which the config tests take their inventories: each head
config family, its file-name pattern (``{}``: a variant key of :mod:`mmtwins.variants`, e.g.
``svt_s``), its scope, and whether the paper has it (the paper's 36 configs; the 18 beyond it
are in ``tests/test_configs/test_beyond_paper.py``)."""
import importlib
import os.path as osp

from helpers import REPO_ROOT

from mmtwins.variants import VARIANTS

CONFIG_DIR = osp.join(REPO_ROOT, 'configs')

# family -> (file-name pattern, default scope, in the paper)
ZOO = {
    'retinanet_1x': ('retinanet_twins_{}_fpn_1x_coco.py', 'mmdet', True),
    'retinanet_3x': ('retinanet_twins_{}_fpn_3x_ms_coco.py', 'mmdet', True),
    'mask_rcnn_1x': ('mask_rcnn_twins_{}_fpn_1x_coco.py', 'mmdet', True),
    'mask_rcnn_3x': ('mask_rcnn_twins_{}_fpn_3x_ms_coco.py', 'mmdet', True),
    'upernet': ('upernet_twins_{}_ade20k.py', 'mmseg', True),
    'fpn': ('fpn_twins_{}_ade20k.py', 'mmseg', True),
    'mask2former': ('mask2former_twins_{}_ade20k.py', 'mmseg', False),
    'cascade': ('cascade_mask_rcnn_twins_{}_fpn_3x_ms_coco.py', 'mmdet', False),
    'dino': ('dino_4scale_twins_{}_12e_coco.py', 'mmdet', False),
}


def config_names(paper=None):
    """Every config's file name (the paper's only, or only those beyond it, by ``paper``),
    family by family, variant by variant."""
    return [pattern.format(key) for pattern, _, in_paper in ZOO.values()
            if paper is None or in_paper == paper for key in VARIANTS]


def config_path(name):
    return osp.join(CONFIG_DIR, name)


def build(cfg):
    """The config's model (random weights, no pretrained backbone), in its scope."""
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.default_scope)
    registry = importlib.import_module(f'{cfg.default_scope}.registry').MODELS
    cfg.model.backbone.init_cfg = None
    return registry.build(cfg.model)
