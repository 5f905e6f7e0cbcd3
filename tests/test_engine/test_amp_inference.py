"""Mixed-precision inference: ``--amp`` on tools/test.py and tools/demo.py through mmengine's
``fp16`` loop setting, with the heads' post-processing kept in fp32."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from helpers import REPO_ROOT, host_tool, tool
from helpers.toy_overlays import det_overlay, seg_overlay
from mmengine.config import Config

from mmtwins.cli.run import enable_amp_inference
from mmtwins.engine.amp import keep_postprocessing_fp32


class _Head(torch.nn.Module):
    """Records what its post-processing sees."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def predict_by_feat(self, scores, boxes, batch_img_metas=None):
        self.seen.append((scores[0].dtype, boxes.dtype, torch.is_autocast_enabled('cpu')))
        return scores[0] * 2, boxes + 1


def test_postprocessing_runs_in_fp32_with_autocast_off():
    model = torch.nn.Sequential(_Head(), torch.nn.Sequential(_Head()))
    assert keep_postprocessing_fp32(model) == 2
    assert keep_postprocessing_fp32(model) == 0  # idempotent
    head = model[0]
    scores, boxes = [torch.rand(3, dtype=torch.bfloat16)], torch.rand(3, 4, dtype=torch.bfloat16)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out_scores, out_boxes = head.predict_by_feat(scores, boxes, batch_img_metas=[{}])
    assert head.seen == [(torch.float32, torch.float32, False)]
    assert out_scores.dtype == torch.float32 and out_boxes.dtype == torch.float32
    # the class is untouched: another instance still post-processes as before
    other = _Head()
    other.predict_by_feat(scores, boxes)
    assert other.seen == [(torch.bfloat16, torch.bfloat16, False)]


def test_roi_align_runs_in_fp32_under_bf16_autocast():
    """mmcv's RoIAlign has no bf16 kernel: wrapped, it takes bf16 maps under autocast."""
    from mmcv.ops import RoIAlign
    model = torch.nn.ModuleDict(dict(roi=RoIAlign((7, 7), spatial_scale=0.25)))
    feats = torch.rand(1, 8, 16, 16)
    rois = torch.tensor([[0.0, 4.0, 4.0, 40.0, 36.0]])
    with pytest.raises(RuntimeError, match='BFloat16'):
        model['roi'](feats.bfloat16(), rois)
    want = model['roi'](feats, rois)
    assert keep_postprocessing_fp32(model) == 1
    with torch.autocast('cpu', dtype=torch.bfloat16):
        got = model['roi'](feats.bfloat16(), rois)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, want, rtol=1e-2, atol=1e-2)  # inputs rounded to bf16


def test_enable_amp_inference_uses_mmengines_fp16_setting():
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'retinanet_twins_pcpvt_s_fpn_1x_coco.py'))
    assert 'bf16' in enable_amp_inference(cfg, loops=('test_cfg', 'val_cfg'))
    assert cfg.test_cfg.type == 'TestLoop' and cfg.test_cfg.fp16 is True
    assert cfg.val_cfg.type == 'ValLoop' and cfg.val_cfg.fp16 is True
    enable_amp_inference(cfg)
    assert [h['type'] for h in cfg.custom_hooks].count('FP32PostProcessingHook') == 1


def _label_maps(out_dir):
    from PIL import Image
    files = sorted(p for p in out_dir.rglob('*.png'))
    return {p.name: np.array(Image.open(p)) for p in files}


def _metrics(proc):
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith('[mmtwins] metrics: ')][-1]
    return json.loads(line[len('[mmtwins] metrics: '):])


@pytest.mark.slow
def test_amp_segmentation_agrees_with_fp32_on_a_trained_model(toy, tmp_path):
    """A toy-trained Semantic FPN: bf16 keeps (nearly) every pixel's class and the mIoU."""
    cfg = seg_overlay(tmp_path, 'fpn_twins_pcpvt_s_ade20k.py', toy['ade'], iters=24, lr=1e-3)
    work = tmp_path / 'work'
    tool(['tools/train.py', str(cfg), '--work-dir', str(work)])
    ckpt = str(work / 'iter_24.pth')
    runs = {}
    for name, extra in (('fp32', []), ('amp', ['--amp'])):
        proc = tool(['tools/test.py', str(cfg), ckpt, '--work-dir', str(work), '--out',
                     str(tmp_path / name)] + extra)
        runs[name] = (_metrics(proc), _label_maps(tmp_path / name), proc.stdout)
    assert '[mmtwins] mixed precision: bf16 autocast (CPU)' in runs['amp'][2]
    fp32_maps, amp_maps = runs['fp32'][1], runs['amp'][1]
    assert fp32_maps.keys() == amp_maps.keys() and len(fp32_maps) >= 2
    same = np.mean(np.concatenate([(fp32_maps[k] == amp_maps[k]).ravel() for k in fp32_maps]))
    assert same >= 0.99, same
    assert runs['fp32'][0]['mIoU'] > 20  # it learnt something, so agreement means something
    assert abs(runs['amp'][0]['mIoU'] - runs['fp32'][0]['mIoU']) <= 1.0


@pytest.mark.slow
@pytest.mark.parametrize('config,score', [
    ('retinanet_twins_pcpvt_s_fpn_1x_coco.py', 'model.test_cfg.score_thr=0.0'),
    ('mask_rcnn_twins_pcpvt_s_fpn_1x_coco.py', 'model.test_cfg.rcnn.score_thr=0.0'),
])
def test_amp_detection_trains_tests_and_keeps_boxes_fp32(toy, tmp_path, config, score):
    """Detectors under --amp: bf16 training and testing run (Mask R-CNN's RoIAlign, which
    mmcv has no bf16 kernel for, in fp32), and post-processing runs in fp32."""
    import pickle
    masks = config.startswith('mask')
    cfg = det_overlay(tmp_path, config, toy['coco'], masks=masks)
    work = tmp_path / 'work'
    tool(['tools/train.py', str(cfg), '--work-dir', str(work), '--amp'])
    out = tmp_path / 'amp.pkl'
    proc = tool(['tools/test.py', str(cfg), str(work / 'epoch_1.pth'), '--work-dir', str(work),
                 '--out', str(out), '--cfg-options', score, '--amp'])
    assert '[mmtwins] mixed precision: bf16 autocast (CPU)' in proc.stdout
    with open(out, 'rb') as f:
        results = pickle.load(f)
    assert len(results) >= 2
    for result in results:
        boxes = result['pred_instances']['bboxes']
        # post-processed in fp32 (decoding, NMS) although the network ran in bf16 (an
        # untrained model's boxes are near-ties, so their order is no agreement test: see the
        # segmentation test)
        assert boxes.dtype == result['pred_instances']['scores'].dtype == torch.float32
        assert len(boxes) > 0 and torch.isfinite(boxes).all()
    # the host's own tools/test.py, with the two config settings the README gives
    host_cfg = tmp_path / 'host_amp.py'
    host_cfg.write_text(f"_base_ = [{str(cfg)!r}]\n"
                        "test_cfg = dict(type='TestLoop', fp16=True)\n"
                        "custom_hooks = [dict(type='FP32PostProcessingHook')]\n")
    proc = tool([host_tool('mmdet', 'test.py'), str(host_cfg), str(work / 'epoch_1.pth'),
                 '--work-dir', str(tmp_path / 'host'), '--cfg-options', score])
    assert 'coco/bbox_mAP' in proc.stdout + proc.stderr
