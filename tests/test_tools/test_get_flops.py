"""tools/analysis/get_flops.py on the heads beyond the paper, in process: what each counts."""
import importlib.util
import os.path as osp

import torch
from helpers import REPO_ROOT


def get_flops():
    path = osp.join(REPO_ROOT, 'tools', 'analysis', 'get_flops.py')
    spec = importlib.util.spec_from_file_location('get_flops', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cascade_mask_heads_counted_on_100_rois():
    """Box heads see every proposal, each stage's mask head the first 100 refined RoIs (mmdet
    2's forward_dummy), and the host's own forward is back afterwards."""
    tool = get_flops()
    _, model = tool.build_model(
        osp.join(REPO_ROOT, 'configs', 'cascade_mask_rcnn_twins_svt_s_fpn_3x_ms_coco.py'))
    model.rpn_head.test_cfg.max_per_img = 200  # 1000 in the config; fewer is quicker
    seen = {'bbox': [], 'mask': []}
    for kind in seen:
        for head in getattr(model.roi_head, f'{kind}_head'):
            head.register_forward_hook(
                lambda m, args, out, kind=kind: seen[kind].append(args[0].shape[0]))
    x = torch.randn(1, 3, 256, 256)
    samples = tool.dummy_samples('mmdet', 256, 256)
    with torch.no_grad(), tool.counted_cascade(model):
        tool.whole_forward(model, x, samples)
    proposals = seen['bbox'][0]
    assert proposals > tool.MASKS_PER_STAGE  # the RPN's proposals (up to 200)
    assert seen['bbox'] == [proposals] * 3 and seen['mask'] == [tool.MASKS_PER_STAGE] * 3
    assert 'forward' not in vars(model.roi_head)
    seen = {'bbox': [], 'mask': []}
    with torch.no_grad():  # mmdet 3's own forward: the mask heads on every proposal
        tool.whole_forward(model, x, samples)
    assert seen['mask'] == [proposals] * 3


def test_mask2former_counts_its_decoder():
    tool = get_flops()
    r = tool.measure(osp.join(REPO_ROOT, 'configs', 'mask2former_twins_svt_s_ade20k.py'),
                     shape=(128, 128))
    # the transformer decoder's 100 queries, pixel decoder and heads on top of the backbone
    assert r['flops'] > 2 * r['backbone_flops'] > 0
    assert r['params'] > r['backbone_params']
