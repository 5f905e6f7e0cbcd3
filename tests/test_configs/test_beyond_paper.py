"""Configs beyond the paper: Twins with Mask2Former, Cascade Mask R-CNN and DINO.

Quick tier: all 18 configs build with the variant's backbone, checkpoint and channels, and the
optimizer groups hit Twins' norms and PEGs. Slow tier: the S models, inherited through
``mmtwins::`` by a user's config, train two iterations on the toy data (Mask2Former-SVT-S on two
processes through tools/dist_train.sh), are evaluated through tools/test.py, and the SVT-S
models draw their outputs through tools/demo.py.
"""
import glob
import json
import math
import os
import os.path as osp
import sys

import pytest
import torch
from helpers import REPO_ROOT, run_two_processes, scalars, tool
from helpers.config_zoo import CONFIG_DIR, ZOO, build, config_names
from helpers.toy_overlays import det_overlay, seg_overlay
from mmengine.config import Config

from mmtwins.variants import VARIANTS

CONFIGS = CONFIG_DIR
ATOMIC = dict(backend='mmtwins_atomic')
# the pyramid levels that feed each head's neck/head
LEVELS = {'mask2former': (0, 1, 2, 3), 'cascade': (0, 1, 2, 3), 'dino': (1, 2, 3)}
# family -> (config name pattern, default scope, levels), from tests/helpers/config_zoo.py
FAMILIES = {family: (ZOO[family][0], ZOO[family][1], LEVELS[family])
            for family, (_, _, in_paper) in ZOO.items() if not in_paper}
CASES = [(family, key) for family in FAMILIES for key in VARIANTS]
IDS = [FAMILIES[f][0].format(k) for f, k in CASES]
# Twins' norms and PEGs in mmtwins' names (a LayerNorm has 'norm' in its name, PEGs '.peg.')
NO_DECAY = ('norm', '.peg.')


def zoo_row(name):
    """The cells of a config's row in docs/model_zoo.md's table beyond the paper."""
    with open(osp.join(REPO_ROOT, 'docs', 'model_zoo.md')) as f:
        text = f.read()
    table = text.split('<!-- get_flops beyond table begin -->')[1].split('<!-- get_flops')[0]
    rows = [ln for ln in table.splitlines() if ln.startswith(f'| `configs/{name}` |')]
    assert len(rows) == 1, f'{name}: {len(rows)} rows in the model zoo'
    return [c.strip() for c in rows[0].strip('|').split('|')]


def load(family, key):
    return Config.fromfile(osp.join(CONFIGS, FAMILIES[family][0].format(key)))


def test_the_18_configs_are_there():
    assert set(IDS) == set(config_names(paper=False)) and len(IDS) == 18
    assert all(osp.isfile(osp.join(CONFIGS, name)) for name in IDS)


@pytest.mark.parametrize('family,key', CASES, ids=IDS)
def test_config_builds_with_variant_and_channels(family, key):
    cfg = load(family, key)
    variant = VARIANTS[key]
    _, scope, levels = FAMILIES[family]
    assert cfg.default_scope == scope
    assert 'mmtwins' in cfg.custom_imports.imports and not cfg.custom_imports.allow_failed_imports
    assert dict(type='CheckpointCompatibilityHook') in cfg.custom_hooks
    assert cfg.default_hooks.checkpoint.backend_args == ATOMIC
    backbone = cfg.model.backbone
    # the variant's ImageNet weights from the single table of variants, overridable in one place
    assert (backbone.type, backbone.arch, backbone.init_cfg.type, backbone.init_cfg.checkpoint) \
        == (f'mmtwins.{variant.class_name}', variant.size, 'Pretrained', variant.mmseg_url)
    assert cfg.checkpoint == variant.mmseg_url
    assert backbone.drop_path_rate == (0.3 if family == 'mask2former' else 0.2)
    # total batch 16 = 8 GPUs x 2 images
    assert cfg.train_dataloader.batch_size == 2 and cfg.auto_scale_lr.base_batch_size == 16
    assert not cfg.auto_scale_lr.get('enable', False)
    optimizer = cfg.optim_wrapper.optimizer
    if family == 'mask2former':
        assert cfg.train_cfg.max_iters == 160000 and cfg.crop_size == (512, 512)
        assert cfg.model.data_preprocessor.size == (512, 512)
        assert (optimizer.lr, optimizer.weight_decay) == (1e-4, 0.05)
    elif family == 'cascade':
        assert cfg.train_cfg.max_epochs == 36
        assert cfg.param_scheduler[1].milestones == [27, 33]
        assert cfg.train_dataloader.dataset.pipeline[3].type == 'RandomChoice'  # 3x ms aug
        assert (optimizer.lr, optimizer.weight_decay) == (1e-4, 0.05)
        heads = cfg.model.roi_head.bbox_head
        assert [h.num_shared_convs for h in heads] == [4, 4, 4]
        assert all(h.loss_bbox.type == 'GIoULoss' for h in heads)
    else:
        assert cfg.train_cfg.max_epochs == 12 and cfg.model.num_queries == 900
        assert (optimizer.lr, optimizer.weight_decay) == (1e-4, 1e-4)

    model = build(cfg)
    assert type(model.backbone).__module__ == 'mmtwins.models.backbones.twins'
    # the model zoo's table (tools/analysis/get_flops.py --table) has this model's sizes
    params, backbone_params = zoo_row(FAMILIES[family][0].format(key))[2:4]
    total = sum(p.numel() for p in model.parameters())
    if family == 'dino':
        # the table is of mmdet 3.3, whose DINO decoder embeds two of a box's four coordinates
        # for its ref_point_head (input 2 x 256); onedl-mmdetection embeds all four (4 x 256)
        width, in_features = model.decoder.ref_point_head.layers[0].weight.shape
        total -= (in_features - 2 * width) * width
    assert params == f'{total / 1e6:.2f}'
    assert backbone_params == f'{sum(p.numel() for p in model.backbone.parameters()) / 1e6:.2f}'
    assert tuple(model.backbone.out_indices) == levels
    widths = [variant.settings['embed_dims'][i] for i in levels]
    assert model.backbone.out_channels == widths
    x = torch.randn(1, 3, 64, 64)
    model.eval()
    with torch.no_grad():
        feats = model.extract_feat(x)
        if family == 'mask2former':
            assert list(cfg.model.decode_head.in_channels) == widths
            assert [f.shape[1] for f in feats] == widths
            # the pixel decoder takes the four maps: its input layers fit the widths
            mask_features, multi_scale = model.decode_head.pixel_decoder(feats)
            assert mask_features.shape == (1, 256, 16, 16) and len(multi_scale) == 3
        else:
            assert list(cfg.model.neck.in_channels) == widths
            # FPN: strides 4-64; DINO's ChannelMapper: 8-32 plus a stride-64 level
            strides = (4, 8, 16, 32, 64) if family == 'cascade' else (8, 16, 32, 64)
            assert [tuple(f.shape[1:]) for f in feats] == [(256, 64 // s, 64 // s)
                                                           for s in strides]


def _groups(family, key):
    from mmengine.optim import build_optim_wrapper
    cfg = load(family, key)
    model = build(cfg)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    lr, wd = {}, {}
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            lr[id(p)], wd[id(p)] = group['lr'], group['weight_decay']
    return cfg, {n: (lr[id(p)], wd[id(p)]) for n, p in model.named_parameters()}


@pytest.mark.parametrize('family', list(FAMILIES))
@pytest.mark.parametrize('key', ['svt_s', 'pcpvt_s'])
def test_optimizer_groups_hit_twins_norms_and_pegs(family, key):
    cfg, groups = _groups(family, key)
    base_lr, base_wd = cfg.optim_wrapper.optimizer.lr, cfg.optim_wrapper.optimizer.weight_decay
    backbone_lr = base_lr * (1.0 if family == 'cascade' else 0.1)
    backbone = {n: v for n, v in groups.items() if n.startswith('backbone.')}
    no_decay = [n for n in backbone if any(k in n for k in NO_DECAY)]
    pegs = [n for n in no_decay if '.peg.' in n]
    assert len(pegs) == 8  # 4 PEGs, weight and bias
    # patch-embedding, block and sub-sampling norms (+ SVT's stage norms)
    assert len(no_decay) - len(pegs) > 40
    for name, (lr, wd) in backbone.items():
        expected = (backbone_lr, 0.0 if name in no_decay else base_wd)
        assert (lr, wd) == pytest.approx(expected), name
    heads = {n: v for n, v in groups.items() if not n.startswith('backbone.')}
    assert all(lr == pytest.approx(base_lr) for lr, _ in heads.values())
    if family == 'mask2former':
        # the host's rules stay: query and level embeddings and the heads' norms, no decay
        for name in ('decode_head.query_embed.weight', 'decode_head.query_feat.weight',
                     'decode_head.level_embed.weight',
                     'decode_head.transformer_decoder.layers.0.norms.0.weight'):
            assert heads[name][1] == 0.0, name
        assert heads['decode_head.cls_embed.weight'][1] == base_wd
    else:
        # the detectors' heads keep the configured decay (as the hosts' recipes)
        assert all(wd == base_wd for _, wd in heads.values())


# ----------------------------------------------------------------------------- slow tier
# User-style overlays (tests/helpers/toy_overlays.py): the shipped config by name, toy data,
# tiny images, 2 iterations, batch 2, few queries.

MASK2FORMER_MODEL = ('model.update(decode_head=dict(num_queries=10, '
                     'train_cfg=dict(num_points=1024)))\n')
# the cascade keeps every box, so that the untrained model has results to score; 100
# proposals per toy image instead of 2000/1000 (three box heads and a mask head run on them)
CASCADE_MODEL = ('model.update(train_cfg=dict(rpn_proposal=dict(nms_pre=200, max_per_img=100)),'
                 '\n             test_cfg=dict(rpn=dict(nms_pre=200, max_per_img=100),'
                 '\n                           rcnn=dict(score_thr=0.0, max_per_img=20)))\n')
# DINO selects num_queries encoder tokens with topk: the toy images at 64x80 give 108 tokens
# (strides 8-64), too few for 900 queries
DINO_MODEL = ('model.update(num_queries=30, test_cfg=dict(max_per_img=30),\n'
              '             dn_cfg=dict(group_cfg=dict(num_dn_queries=20)))\n')


def overlay(tmp_path, family, key, toy):
    # a user's config inheriting the shipped one by name, as in a project of their own
    base = 'mmtwins::' + FAMILIES[family][0].format(key)
    name = f'user_{family}_{key}.py'
    if family == 'mask2former':
        return seg_overlay(tmp_path, base, toy['ade'], iters=2, lr=None, name=name,
                           extra=MASK2FORMER_MODEL)
    return det_overlay(tmp_path, base, toy['coco'], masks=family == 'cascade',
                       img_scale=(96, 64), name=name,
                       extra={'dino': DINO_MODEL, 'cascade': CASCADE_MODEL}[family])


def metrics_line(proc):
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith('[mmtwins] metrics: ')][-1]
    return json.loads(line[len('[mmtwins] metrics: '):])


def val_metrics(work):
    """The last validation record of a training run (mmengine's vis_data/scalars.json)."""
    records = []
    for path in sorted(glob.glob(str(work / '*' / 'vis_data' / 'scalars.json'))):
        with open(path) as f:
            records += [r for r in map(json.loads, filter(str.strip, f)) if 'loss' not in r]
    assert records, f'no validation in {work}'
    return records[-1]


def train(cfg, work, family, key):
    # SVT-S models are evaluated by tools/test.py afterwards: no validation while training
    args = ['--work-dir', str(work)] + (['--cfg-options', 'train_cfg.val_begin=100']
                                        if key == 'svt_s' else [])
    if (family, key) != ('mask2former', 'svt_s'):
        return tool(['tools/train.py', str(cfg)] + args)
    # Mask2Former averages its mask and class losses over all processes' targets
    # (reduce_mean): trained by tools/dist_train.sh on 2 CPU processes (gloo)
    env = dict(os.environ, PORT='29661', PYTHON=sys.executable)
    proc = run_two_processes(['bash', 'tools/dist_train.sh', str(cfg), '2'] + args, work,
                             cwd=REPO_ROOT, env=env, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    assert 'Distributed training: True' in log and 'GPU number: 2' in log
    return proc


# sizes other than the traced one (each head's toy images: ADE 64 to 160 wide, COCO resized
# to 96x64), with enough tokens for DINO's 30 queries
DEPLOY_SIZES = {'mask2former': [(96, 160), (77, 141)], 'cascade': [(128, 160), (96, 224)],
                'dino': [(64, 96), (128, 96)]}


def assert_deploys_and_agrees(tmp_path, family, cfg, ckpt, toy):
    """Deployed through mmdeploy (docs/deployment.md) with the shipped deploy config: ONNX
    Runtime agrees with PyTorch at sizes other than the traced one. Mask2Former: its masks
    sized from the traced input; Cascade: class-specific refinement and ONNX RoiAlign; DINO:
    ONNX GridSample (mmtwins' fixes to mmdeploy). Needs mmdeploy (tools/run_tests.sh installs
    it; with MMTWINS_DEPLOY=1 its absence fails)."""
    if os.environ.get('MMTWINS_DEPLOY') != '1':
        pytest.importorskip('mmdeploy')
    from mmtwins.deployment import deploy as dep
    if family == 'mask2former':
        image = osp.join(toy['ade'], 'images', 'validation', 'ADE_val_00000001.jpg')
    else:
        images = osp.join(toy['coco'], 'val2017')
        image = osp.join(images, sorted(os.listdir(images))[0])
    result = dep.deploy(str(cfg), str(ckpt), image, str(tmp_path / 'deployed'), picture=False)
    rows = dep.agreement(str(cfg), str(ckpt), [result.onnx_file], image, DEPLOY_SIZES[family],
                         score_thr=0.0, checked=True)
    for row in rows:
        if family == 'mask2former':
            assert row.pixels >= 0.999, row.line()
            continue
        assert row.instances == {'cascade': 20, 'dino': 30}[family], row.line()
        assert row.matched >= 0.9 and row.max_score_diff < 1e-4, row.line()
        if family == 'cascade':
            assert row.mask_iou >= 0.9, row.line()


def assert_demo_draws(tmp_path, cfg, ckpt, images):
    """tools/demo.py on the head's outputs: one picture per image, with something drawn."""
    import numpy as np
    from PIL import Image
    out = tmp_path / 'demo'
    proc = tool(['tools/demo.py', images, str(cfg), str(ckpt), '--out-dir', str(out),
                 '--score-thr', '0.0'])
    names = sorted(os.listdir(images))
    assert f'[mmtwins] wrote {len(names)} picture(s)' in proc.stdout
    for name in names:
        with Image.open(osp.join(images, name)) as src, Image.open(out / 'vis' / name) as pic:
            assert pic.size == src.size
            drawn = np.abs(np.asarray(pic.convert('RGB'), dtype=np.int16)
                           - np.asarray(src.convert('RGB'), dtype=np.int16)).max(-1) > 30
            assert drawn.mean() > 0.01, name  # masks, label maps or boxes cover the picture


@pytest.mark.slow
@pytest.mark.parametrize('family', list(FAMILIES))
@pytest.mark.parametrize('key', ['svt_s', 'pcpvt_s'])
def test_trains_and_evaluates_on_toy_data(toy, tmp_path, family, key):
    cfg = overlay(tmp_path, family, key, toy)
    work = tmp_path / 'work'
    train(cfg, work, family, key)
    losses = [r['loss'] for r in scalars(work)]
    # ADE: 2 iterations; COCO: one epoch of the 4 toy images, batch 2
    assert len(losses) == 2, losses
    assert all(math.isfinite(loss) and loss > 0 for loss in losses)
    ckpt = work / ('iter_2.pth' if family == 'mask2former' else 'epoch_1.pth')
    assert ckpt.exists()
    expected = {'mask2former': {'mIoU', 'aAcc'}, 'cascade': {'coco/bbox_mAP', 'coco/segm_mAP'},
                'dino': {'coco/bbox_mAP'}}[family]
    if key != 'svt_s':  # evaluated by the validation at the end of training
        assert expected <= set(val_metrics(work)), val_metrics(work)
        assert_deploys_and_agrees(tmp_path, family, cfg, ckpt, toy)
        return
    with pytest.raises(AssertionError, match='no validation'):
        val_metrics(work)
    metrics = metrics_line(tool(['tools/test.py', str(cfg), str(ckpt), '--work-dir', str(work)]))
    assert expected <= set(metrics), metrics
    images = (osp.join(toy['ade'], 'images', 'validation') if family == 'mask2former'
              else osp.join(toy['coco'], 'val2017'))
    assert_demo_draws(tmp_path, cfg, ckpt, images)
