"""The hosts' own scripts on our configs, as many users run them: mmseg's and mmdet's
installed ``tools/train.py`` then ``tools/test.py`` (shipped in their wheels under
``.mim/tools``). Our configs import mmtwins (``custom_imports``), which lets the hosts'
``torch.load(weights_only=True)`` read the checkpoints their training wrote, and nothing more:
a checkpoint with any other pickled object is still refused, without running its code."""
import re

import pytest
import torch
from helpers import host_tool, run_python, save_code_executing_checkpoint, tool
from helpers.toy_overlays import det_overlay, seg_overlay
from mmengine.utils import digit_version

SEG_CONFIG = 'upernet_twins_svt_s_ade20k.py'
DET_CONFIG = 'retinanet_twins_pcpvt_s_fpn_1x_coco.py'
# keep every box, so that the barely trained detector still has results to score
DET_KEEP_ALL_BOXES = ['--cfg-options', 'model.test_cfg.score_thr=0.0']

# before torch 2.6 torch.load unpickles anything by default: the hosts' scripts then refuse
# nothing, whatever mmtwins does
WEIGHTS_ONLY_BY_DEFAULT = digit_version(torch.__version__) >= digit_version('2.6.0')


def output(proc):
    return proc.stdout + proc.stderr


@pytest.mark.slow
def test_mmseg_train_then_test(toy, tmp_path):
    cfg = seg_overlay(tmp_path, SEG_CONFIG, toy['ade'], iters=2)
    work = tmp_path / 'work'
    tool([host_tool('mmseg', 'train.py'), str(cfg), '--work-dir', str(work)])
    ckpt = work / 'iter_2.pth'
    assert ckpt.exists()
    proc = tool([host_tool('mmseg', 'test.py'), str(cfg), str(ckpt), '--work-dir', str(work)])
    assert re.search(r'\bmIoU: \d', output(proc)), output(proc)[-3000:]


@pytest.mark.slow
def test_mmdet_train_then_test(toy, tmp_path):
    cfg = det_overlay(tmp_path, DET_CONFIG, toy['coco'])
    work = tmp_path / 'work'
    tool([host_tool('mmdet', 'train.py'), str(cfg), '--work-dir', str(work)])
    ckpt = work / 'epoch_1.pth'
    assert ckpt.exists()
    proc = tool([host_tool('mmdet', 'test.py'), str(cfg), str(ckpt), '--work-dir', str(work)]
                + DET_KEEP_ALL_BOXES)
    assert re.search(r'\bcoco/bbox_mAP: -?\d', output(proc)), output(proc)[-3000:]


@pytest.mark.slow
@pytest.mark.skipif(not WEIGHTS_ONLY_BY_DEFAULT,
                    reason='torch < 2.6 does not load with weights_only by default')
@pytest.mark.parametrize('host', ['mmseg', 'mmdet'])
def test_host_test_refuses_code_executing_checkpoint(toy, tmp_path, host):
    if host == 'mmseg':
        cfg = seg_overlay(tmp_path, SEG_CONFIG, toy['ade'], iters=2)
        meta = {'iter': 2}
    else:
        cfg = det_overlay(tmp_path, DET_CONFIG, toy['coco'])
        meta = {'epoch': 1, 'iter': 2}
    marker = tmp_path / 'pwned'
    evil = tmp_path / 'evil.pth'
    save_code_executing_checkpoint(evil, marker, state_dict={}, meta=meta)
    proc = run_python([host_tool(host, 'test.py'), str(cfg), str(evil), '--work-dir',
                       str(tmp_path / 'work')])
    log = output(proc)
    assert proc.returncode != 0, log[-3000:]
    assert 'UnpicklingError' in log or 'weights_only' in log, log[-3000:]
    assert not marker.exists()
