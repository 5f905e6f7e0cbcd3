"""tools/deployment/export_onnx.py --whole: a whole segmentor (logits) and a detector's raw
dense-head outputs, run by ONNX Runtime against the hosts' own inference code."""
import os.path as osp

import numpy as np
import pytest
import torch
from helpers import REPO_ROOT, run_python

pytestmark = pytest.mark.slow  # exports in subprocesses

ort = pytest.importorskip('onnxruntime')


def _save_random_whole(config, path):
    """A whole-model checkpoint with random weights, built by the host's own API."""
    if 'ade20k' in config:
        from mmseg.apis import init_model
    else:
        from mmdet.apis import init_detector as init_model
    model = init_model(osp.join(REPO_ROOT, 'configs', config), device='cpu',
                       cfg_options={'model.backbone.init_cfg': None})
    model.init_weights()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return model


def _export(config, ckpt, out, shape=(64, 96)):
    return run_python(['tools/deployment/export_onnx.py', '--whole', '--config',
                       osp.join('configs', config), '--checkpoint', str(ckpt), '--shape',
                       *map(str, shape), '--out', str(out), '--check'], cwd=REPO_ROOT)


def test_whole_segmentor_matches_mmseg_inference(tmp_path):
    ckpt, out = tmp_path / 'fpn.pth', tmp_path / 'fpn.onnx'
    model = _save_random_whole('fpn_twins_svt_s_ade20k.py', ckpt).eval()
    proc = _export('fpn_twins_svt_s_ade20k.py', ckpt, out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'outputs logits (1, 150, 64, 96)' in proc.stdout
    assert 'of pixels with the same class' in proc.stdout and 'mean [123.675' in proc.stdout
    # reference: the in-memory model that wrote the file (not a reload through the loader
    # the tool uses), with mmseg's own whole-image logits (resized to the input)
    x = torch.randn(1, 3, 64, 96)
    meta = dict(img_shape=(64, 96), pad_shape=(64, 96), ori_shape=(64, 96))
    with torch.no_grad():
        want = model.encode_decode(x, [meta])
    got = ort.InferenceSession(str(out), providers=['CPUExecutionProvider']).run(
        None, {'image': x.numpy()})[0]
    assert got.shape == tuple(want.shape)
    # fp32 kernels of two runtimes: relative to the largest logit
    assert np.abs(got - want.numpy()).max() <= 1e-4 * float(want.abs().max())
    assert (got.argmax(1) == want.argmax(1).numpy()).mean() > 0.999
    # the graph is fixed to its size: another size is refused, not silently wrong
    session = ort.InferenceSession(str(out), providers=['CPUExecutionProvider'])
    with pytest.raises(Exception, match='(?i)dimension|shape'):
        session.run(None, {'image': np.zeros((1, 3, 96, 64), np.float32)})


def test_detector_raw_head_outputs_match_mmdet(tmp_path):
    ckpt, out = tmp_path / 'retina.pth', tmp_path / 'retina.onnx'
    model = _save_random_whole('retinanet_twins_pcpvt_s_fpn_1x_coco.py', ckpt).eval()
    proc = _export('retinanet_twins_pcpvt_s_fpn_1x_coco.py', ckpt, out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # RetinaNet's FPN levels: strides 8 to 128; 9 anchors x 80 classes, 9 x 4 deltas
    assert 'cls_score0 (1, 720, 8, 12)' in proc.stdout and 'bbox_pred4 (1, 36, 1, 1)' in proc.stdout
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        cls_scores, bbox_preds = model._forward(x)  # mmdet's own raw head outputs
    session = ort.InferenceSession(str(out), providers=['CPUExecutionProvider'])
    names = [o.name for o in session.get_outputs()]
    assert names == [f'cls_score{i}' for i in range(5)] + [f'bbox_pred{i}' for i in range(5)]
    got = session.run(None, {'image': x.numpy()})
    for g, w in zip(got, list(cls_scores) + list(bbox_preds)):
        assert g.shape == tuple(w.shape)
        assert np.abs(g - w.numpy()).max() <= 1e-4 * float(w.abs().max()) + 1e-6


def test_whole_export_refuses_a_checkpoint_that_does_not_fit(tmp_path):
    ckpt, out = tmp_path / 'fpn.pth', tmp_path / 'fpn.onnx'
    model = _save_random_whole('fpn_twins_svt_s_ade20k.py', ckpt)
    state = model.state_dict()
    state['decode_head.conv_seg.weight'] = state['decode_head.conv_seg.weight'][:19]
    state['decode_head.conv_seg.bias'] = state['decode_head.conv_seg.bias'][:19]
    torch.save({'state_dict': state}, ckpt)
    proc = _export('fpn_twins_svt_s_ade20k.py', ckpt, out)
    assert proc.returncode == 1
    assert 'error:' in proc.stderr and 'conv_seg' in proc.stderr
    assert 'Traceback' not in proc.stderr and not out.exists()
    proc = run_python(['tools/deployment/export_onnx.py', '--whole', '--shape', '64', '64',
                       '--out', str(out)], cwd=REPO_ROOT)
    assert proc.returncode == 2 and '--whole needs --config' in proc.stderr


def test_dynamic_backbone_export_holds_at_other_sizes(tmp_path):
    """--dynamic: one graph for every multiple of 32, windows padded or not."""
    from mmtwins.models import TwinsSVT
    model = TwinsSVT(arch='small')
    model.init_weights()
    ckpt, out = tmp_path / 'svt.pth', tmp_path / 'svt.onnx'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    proc = run_python(['tools/deployment/export_onnx.py', '--arch', 'svt_s', '--checkpoint',
                       str(ckpt), '--shape', '64', '96', '--dynamic', '--out', str(out),
                       '--check'], cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'at (96, 160)' in proc.stdout
    # a backbone export says how to normalise its input too (docs/deployment.md)
    assert 'input normalisation: RGB (bgr_to_rgb=True), mean [123.675, 116.28, 103.53], ' \
        'std [58.395, 57.12, 57.375]' in proc.stdout
    session = ort.InferenceSession(str(out), providers=['CPUExecutionProvider'])
    model.eval()
    # 224: no window needs padding; 128x320: stage 1 padded at the bottom only; batch 2
    for shape in ((1, 3, 224, 224), (2, 3, 128, 320)):
        x = torch.randn(*shape)
        got = session.run(None, {'image': x.numpy()})
        with torch.no_grad():
            want = model(x)
        for g, w in zip(got, want):
            assert g.shape == tuple(w.shape)
            assert np.abs(g - w.numpy()).max() <= 1e-4 * float(w.abs().max())
    proc = run_python(['tools/deployment/export_onnx.py', '--whole', '--dynamic', '--config',
                       'configs/fpn_twins_svt_s_ade20k.py', '--shape', '64', '96', '--out',
                       str(tmp_path / 'x.onnx')], cwd=REPO_ROOT)
    assert proc.returncode == 2 and '--dynamic exports the backbone only' in proc.stderr
