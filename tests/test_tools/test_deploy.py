"""Deployment through mmdeploy (docs/deployment.md): toy-trained models of the shipped configs
exported by mmdeploy with the shipped deploy configs, run by ONNX Runtime and compared with
PyTorch at input sizes other than the traced one; the documented command; mmtwins' fixes to
mmdeploy one by one; the refusals.

mmdeploy is optional: tools/run_tests.sh installs it (MMTWINS_DEPLOY=1), and with that set a
missing mmdeploy fails these tests instead of skipping them."""
import os
import re

import numpy as np
import pytest
import torch
from helpers import REPO_ROOT, run_python, save_code_executing_checkpoint, tool
from helpers.toy_overlays import det_overlay, seg_overlay

if os.environ.get('MMTWINS_DEPLOY') == '1':
    import mmdeploy  # noqa: F401  (the set-up was asked for it: its absence is a failure)
else:
    pytest.importorskip('mmdeploy', reason='mmdeploy not installed (MMTWINS_DEPLOY=1 bash '
                        'tools/setup.sh)')
import onnxruntime as ort  # noqa: E402
from mmengine import Config  # noqa: E402

from mmtwins.deployment import deploy as dep  # noqa: E402
from mmtwins.deployment import mmdeploy_support  # noqa: E402

DEPLOY = 'tools/deployment/deploy.py'
QUICKSTART = 'configs/toy/upernet_twins_svt_s_toy_ade20k.py'


def _deploy_cfg(name):
    return dep.deploy_config_path(dep.DEPLOY_CONFIGS[name])


def _rewriter_context(task='segmentation'):
    from mmdeploy.core import RewriterContext
    mmdeploy_support.register()
    return RewriterContext(cfg=Config.fromfile(_deploy_cfg(task)), backend='onnxruntime',
                           opset=17)


def _train(cfg, work, extra=()):
    tool(['tools/train.py', str(cfg), '--work-dir', str(work)] + list(extra))
    with open(work / 'last_checkpoint') as f:
        return f.read().strip()


@pytest.fixture(scope='module')
def image(toy):
    return os.path.join(toy['coco'], 'val2017', sorted(os.listdir(
        os.path.join(toy['coco'], 'val2017')))[0])


# --- the documented command --------------------------------------------------------------------

def test_deploy_command_quickstart_segmentor_agrees_at_other_sizes(toy, tmp_path):
    """docs/deployment.md's command on the quick start's config and toy-trained weights:
    the model, the picture, and pixels equal to PyTorch's at three sizes other than the
    traced one (each with LSA window padding; one not a multiple of 32)."""
    data = [f'{k}.dataset.data_root={toy["ade"]}'
            for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    ckpt = _train(QUICKSTART, tmp_path / 'train', ['--cfg-options', 'train_cfg.max_iters=3',
                                                   'train_cfg.val_interval=3',
                                                   'train_dataloader.batch_size=2'] + data)
    img = os.path.join(toy['ade'], 'images', 'validation',
                       sorted(os.listdir(os.path.join(toy['ade'], 'images', 'validation')))[0])
    work = tmp_path / 'deployed'
    proc = tool([DEPLOY, QUICKSTART, ckpt, img, '--work-dir', str(work),
                 '--check', '160x224', '96x288', '133x181'])
    out = proc.stdout
    traced = re.search(r'traced at (\d+)x(\d+), dynamic height and width', out)
    assert traced and (int(traced[1]), int(traced[2])) not in [(160, 224), (96, 288),
                                                               (133, 181)], out
    shares = [float(s) for s in re.findall(r'at \d+x\d+: ([\d.]+)% of pixels', out)]
    assert len(shares) == 3 and min(shares) >= 99.9, out
    assert (work / 'end2end.onnx').is_file()
    pictures = list(work.glob('output_onnxruntime*'))
    assert len(pictures) == 1 and pictures[0].stat().st_size > 1000
    # the graph is ONNX Runtime's plain ops: no mmdeploy custom-op library needed
    import onnx
    domains = {n.domain for n in onnx.load(str(work / 'end2end.onnx')).graph.node}
    assert domains <= {'', 'ai.onnx'}, domains


def test_deploy_command_detector_end_to_end_with_nms(toy, tmp_path, image):
    """RetinaNet-PCPVT-S, toy-trained, end to end (NMS in the graph): the instances of PyTorch
    found again by ONNX Runtime at three sizes other than the traced one. (The untrained-ish
    toy model scores under mmdet's 0.05, so both keep every box: score_thr=0.)"""
    cfg = det_overlay(tmp_path, 'retinanet_twins_pcpvt_s_fpn_1x_coco.py', toy['coco'],
                      extra='model.update(test_cfg=dict(score_thr=0.0))\n')
    ckpt = _train(cfg, tmp_path / 'train', ['--cfg-options', 'train_cfg.val_begin=2'])
    proc = tool([DEPLOY, str(cfg), ckpt, image, '--work-dir', str(tmp_path / 'deployed'),
                 '--check', '256x256', '224x320', '320x192', '--score-thr', '0'])
    rows = re.findall(r'at (\d+x\d+): (\d+) instances, ([\d.]+)% matched, box IoU >= ([\d.]+), '
                      r'score difference <= ([\d.e+-]+)', proc.stdout)
    assert len(rows) == 3, proc.stdout
    for _, n, matched, iou, diff in rows:
        assert int(n) == 100 and float(matched) >= 95 and float(diff) < 1e-4, proc.stdout
    session = ort.InferenceSession(str(tmp_path / 'deployed' / 'end2end.onnx'),
                                   providers=['CPUExecutionProvider'])
    assert [o.name for o in session.get_outputs()] == ['dets', 'labels']
    dets, labels = session.run(None, {'input': np.random.randn(1, 3, 192, 256).astype('f4')})
    assert dets.shape == (1, 100, 5) and labels.shape == (1, 100)


# --- the other shipped heads, in process ---------------------------------------------------------

def _agree(cfg, ckpt, image, work, shapes, score_thr=0.0):
    result = dep.deploy(str(cfg), str(ckpt), image, str(work), picture=False)
    return dep.agreement(str(cfg), str(ckpt), [result.onnx_file], image, shapes,
                         score_thr=score_thr, checked=True)


def test_mask_rcnn_boxes_and_masks_agree(toy, tmp_path, image):
    """Mask R-CNN-SVT-S, RoIAlign as ONNX's RoiAlign (mmtwins' symbolic): boxes matched,
    masks by IoU. (Cascade Mask R-CNN, DINO and Mask2Former deploy in
    tests/test_configs/test_beyond_paper.py, after their toy training there.)"""
    cfg = det_overlay(tmp_path, 'mask_rcnn_twins_svt_s_fpn_1x_coco.py', toy['coco'], masks=True,
                      extra='model.update(test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100),'
                            ' rcnn=dict(score_thr=0.0)))\n')
    ckpt = _train(cfg, tmp_path / 'train', ['--cfg-options', 'train_cfg.val_begin=2',
                                            'model.train_cfg.rcnn.sampler.num=64'])
    rows = _agree(cfg, ckpt, image, tmp_path / 'deployed', [(256, 256), (224, 320)])
    for row in rows:
        assert row.instances == 100 and row.matched >= 0.9, row.line()
        assert row.max_score_diff < 1e-4 and row.mask_iou >= 0.9, row.line()


def test_semantic_fpn_agrees(toy, tmp_path):
    """Semantic FPN-SVT-S toy-trained (mmseg's Upsample sized in the graph by mmtwins)."""
    cfg = seg_overlay(tmp_path, 'fpn_twins_svt_s_ade20k.py', toy['ade'], iters=2)
    ckpt = _train(cfg, tmp_path / 'train')
    img = os.path.join(toy['ade'], 'images', 'validation', 'ADE_val_00000001.jpg')
    rows = _agree(cfg, ckpt, img, tmp_path / 'deployed', [(96, 160), (128, 96), (77, 141)])
    assert all(row.pixels >= 0.999 for row in rows), [row.line() for row in rows]


# --- refusals -------------------------------------------------------------------------------------

def test_deploy_refuses_a_checkpoint_that_does_not_fit(toy, tmp_path, image):
    """mmdeploy loads non-strictly: a checkpoint of another head is refused before export."""
    from helpers.config_zoo import build
    model = build(Config.fromfile(os.path.join(REPO_ROOT, 'configs',
                                               'fpn_twins_svt_s_ade20k.py')))
    ckpt = tmp_path / 'fpn.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    proc = run_python([DEPLOY, QUICKSTART, str(ckpt), image, '--work-dir', str(tmp_path / 'w')])
    assert proc.returncode == 1, proc.stderr
    assert 'does not fit the model' in proc.stderr and 'Traceback' not in proc.stderr
    assert not (tmp_path / 'w' / 'end2end.onnx').exists()


def test_deploy_refuses_a_code_executing_checkpoint(tmp_path):
    """The deploy door reads with mmtwins' safe reader before mmdeploy sees the file: refused,
    its code never runs, nothing exported."""
    from PIL import Image
    image = tmp_path / 'img.png'
    Image.new('RGB', (64, 48)).save(image)
    marker = tmp_path / 'pwned'
    ckpt = tmp_path / 'evil.pth'
    save_code_executing_checkpoint(ckpt, marker, state_dict={})
    proc = run_python([DEPLOY, QUICKSTART, str(ckpt), str(image), '--work-dir',
                       str(tmp_path / 'w')])
    assert proc.returncode == 1 and 'refusing to load' in proc.stderr, proc.stderr[-2000:]
    assert not marker.exists() and not (tmp_path / 'w' / 'end2end.onnx').exists()


def test_deploy_without_mmdeploy_says_how_to_install(tmp_path):
    stub = tmp_path / 'stub' / 'mmdeploy'
    stub.mkdir(parents=True)
    (stub / '__init__.py').write_text("raise ImportError('no mmdeploy here')\n")
    proc = run_python([DEPLOY, QUICKSTART, 'x.pth', 'x.jpg', '--work-dir', str(tmp_path / 'w')],
                      env={'PYTHONPATH': str(tmp_path / 'stub')})
    assert proc.returncode == 1
    assert 'needs mmdeploy' in proc.stderr and 'MMTWINS_DEPLOY=1 bash tools/setup.sh' in \
        proc.stderr and 'Traceback' not in proc.stderr


def test_export_onnx_hands_whole_models_to_mmdeploy():
    proc = run_python(['tools/deployment/export_onnx.py', '--whole', '--config', QUICKSTART,
                       '--shape', '64', '64', '--out', 'x.onnx'])
    assert proc.returncode == 2 and 'tools/deployment/deploy.py' in proc.stderr


# --- mmtwins' fixes to mmdeploy, each against what it replaces ---------------------------------

def test_fixes_are_registered_and_reported():
    names = mmdeploy_support.register()
    assert any('dynamo=False' in n for n in names) and any('RoiAlign' in n for n in names)
    proc = tool(['-m', 'mmtwins.env'])
    assert re.search(r'mmdeploy\s+: 1\.3\.1 \(mmtwins registers: ', proc.stdout), proc.stdout


def test_another_mmdeploy_version_is_warned_about(monkeypatch):
    import mmdeploy as md
    monkeypatch.setattr(md, '__version__', '1.4.0')
    monkeypatch.setattr(mmdeploy_support, '_registered', [])
    from mmdeploy.core import FUNCTION_REWRITER, SYMBOLIC_REWRITER
    saved = [dict((k, list(v)) for k, v in r._registry._rewrite_records.items())
             for r in (FUNCTION_REWRITER, SYMBOLIC_REWRITER)]
    try:
        with pytest.warns(UserWarning, match='tested with mmdeploy 1.3.1'):
            mmdeploy_support.register()
    finally:
        FUNCTION_REWRITER._registry._rewrite_records = saved[0]
        SYMBOLIC_REWRITER._registry._rewrite_records = saved[1]


def test_roi_align_exports_as_onnx_roialign_equal_to_mmcv(tmp_path):
    """mmdeploy's own symbolic fails on torch 2.13 (control); mmtwins' gives ONNX's RoiAlign,
    equal to mmcv's op, aligned or not."""
    import torch.onnx.symbolic_opset9 as opset9
    assert not hasattr(opset9, '_cast_Long')  # what breaks mmdeploy's symbolic here
    from mmcv.ops import RoIAlign
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 8, 40, 50, generator=g)
    xy = torch.rand(30, 2, generator=g) * 150
    rois = torch.cat([torch.randint(0, 2, (30, 1), generator=g).float(), xy,
                      xy + torch.rand(30, 2, generator=g) * 60 + 1], 1)
    for aligned in (True, False):
        layer = RoIAlign((7, 7), spatial_scale=0.25, sampling_ratio=0, aligned=aligned)
        path = str(tmp_path / f'roi{aligned}.onnx')
        with _rewriter_context('instance-seg'), torch.no_grad():
            torch.onnx.export(layer, (x, rois), path, opset_version=17, dynamo=False,
                              input_names=['x', 'rois'])
        session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
        got = session.run(None, {'x': x.numpy(), 'rois': rois.numpy()})[0]
        np.testing.assert_allclose(got, layer(x, rois).numpy(), rtol=1e-5, atol=1e-5)


def test_grid_sample_exports_as_plain_onnx(tmp_path):
    """Deformable attention's grid_sample: ONNX's GridSample, run by plain ONNX Runtime (no
    custom-op library), equal to torch's."""
    class Sample(torch.nn.Module):
        def forward(self, x, grid):
            return torch.nn.functional.grid_sample(x, grid, mode='bilinear',
                                                   padding_mode='zeros', align_corners=False)
    x, grid = torch.randn(2, 4, 9, 11), torch.rand(2, 5, 6, 2) * 2.2 - 1.1
    path = str(tmp_path / 'gs.onnx')
    with _rewriter_context('detection'), torch.no_grad():
        torch.onnx.export(Sample(), (x, grid), path, opset_version=17, dynamo=False,
                          input_names=['x', 'grid'])
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    got = session.run(None, {'x': x.numpy(), 'grid': grid.numpy()})[0]
    np.testing.assert_allclose(got, Sample()(x, grid).numpy(), rtol=1e-5, atol=1e-5)


TRACING_PROBE = """
import sys, torch
from mmengine import Config
from mmdeploy.apis.onnx import export
if sys.argv[3] == 'mmtwins':
    import mmtwins  # registers mmtwins' fixes (mmdeploy is imported)
class Probe(torch.nn.Conv2d):
    def forward(self, x):
        print('traced by TorchScript:', torch.jit.is_tracing(), flush=True)
        return super().forward(x)
cfg = Config.fromfile(sys.argv[1])
export(Probe(3, 4, 3), torch.randn(1, 3, 16, 16), sys.argv[2], backend='onnxruntime',
       context_info=dict(deploy_cfg=cfg), input_names=['input'], output_names=['output'],
       opset_version=17, dynamic_axes={'input': {2: 'h', 3: 'w'}, 'output': {2: 'h', 3: 'w'}})
"""


def test_mmdeploy_export_uses_the_torchscript_exporter(tmp_path):
    """torch >= 2.9 exports with dynamo by default, which mmdeploy 1.3.1 does not expect (its
    rewriters act while TorchScript traces; whole models fail): inside mmdeploy's export,
    mmtwins' rewriter makes it the TorchScript exporter. Control: without mmtwins, dynamo."""
    import inspect
    assert inspect.signature(torch.onnx.export).parameters['dynamo'].default is True
    cfg = _deploy_cfg('segmentation')
    ours = run_python(['-c', TRACING_PROBE, cfg, str(tmp_path / 'ours'), 'mmtwins'])
    assert 'traced by TorchScript: True' in ours.stdout, ours.stderr[-3000:]
    session = ort.InferenceSession(str(tmp_path / 'ours.onnx'),
                                   providers=['CPUExecutionProvider'])
    assert session.run(None, {'input': np.zeros((1, 3, 20, 24), 'f4')})[0].shape == \
        (1, 4, 18, 22)  # dynamic height and width
    control = run_python(['-c', TRACING_PROBE, cfg, str(tmp_path / 'control'), 'none'])
    assert 'traced by TorchScript: True' not in control.stdout, control.stdout
