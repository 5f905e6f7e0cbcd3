"""The hosts' own scripts on our configs, as many users run them: mmseg's and mmdet's
installed ``tools/train.py`` then ``tools/test.py`` (shipped in their wheels under
``.mim/tools``). Our configs import mmtwins (``custom_imports``), whose reader lets the hosts'
scripts read the checkpoints their training wrote (from a file or a URL), and nothing more: a
checkpoint with any other pickled object is refused by mmtwins, without running its code."""
import re

import pytest
from helpers import host_tool, run_python, save_code_executing_checkpoint, tool
from helpers.http_server import CheckpointServer
from helpers.toy_overlays import det_overlay, seg_overlay

SEG_CONFIG = 'upernet_twins_svt_s_ade20k.py'
DET_CONFIG = 'retinanet_twins_pcpvt_s_fpn_1x_coco.py'
# keep every box, so that the barely trained detector still has results to score
DET_KEEP_ALL_BOXES = ['--cfg-options', 'model.test_cfg.score_thr=0.0']


def output(proc):
    return proc.stdout + proc.stderr


def assert_loaded_completely(log):
    """Our hook's one line: every tensor of the model came from the checkpoint (mmengine
    itself loads non-strictly, so a metric alone would not show a partial load)."""
    m = re.search(r'mmtwins: loaded (\d+)/(\d+) tensors', log)
    assert m and m.group(1) == m.group(2), log[-3000:]
    assert 'missing keys' not in log and 'unexpected key' not in log


@pytest.mark.slow
def test_mmseg_train_then_test(toy, tmp_path):
    """mmseg's own train.py writes a checkpoint; its own test.py reads it back from a URL (the
    download and the safe reader of mmtwins), completely."""
    cfg = seg_overlay(tmp_path, SEG_CONFIG, toy['ade'], iters=2)
    work = tmp_path / 'work'
    tool([host_tool('mmseg', 'train.py'), str(cfg), '--work-dir', str(work)])
    ckpt = work / 'iter_2.pth'
    assert ckpt.exists()
    with CheckpointServer() as server:
        proc = tool([host_tool('mmseg', 'test.py'), str(cfg), server.add(ckpt), '--work-dir',
                     str(work)], env={'TORCH_HOME': str(tmp_path / 'torch_home')})
    assert re.search(r'\bmIoU: \d', output(proc)), output(proc)[-3000:]
    assert 'Loads checkpoint by http backend' in output(proc)
    assert_loaded_completely(output(proc))


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
    assert_loaded_completely(output(proc))


def test_the_payload_runs_when_loaded_unsafely(tmp_path):
    """The control for every refusal test: the code-executing checkpoint does run its code
    when unpickled without weights_only (so 'the marker never appears' is never vacuous)."""
    marker = tmp_path / 'pwned'
    evil = tmp_path / 'evil.pth'
    save_code_executing_checkpoint(evil, marker, state_dict={}, meta={'iter': 1})
    proc = run_python(['-c', 'import sys, torch; torch.load(sys.argv[1], weights_only=False)',
                       str(evil)])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert marker.exists()


# (host, script, how the hostile file is given)
HOSTILE_DOORS = [
    ('mmseg', 'test.py', 'path'),
    ('mmdet', 'test.py', 'url'),
    ('mmseg', 'train.py', 'load_from url'),
    ('mmdet', 'train.py', 'resume newest'),
]


@pytest.mark.slow
@pytest.mark.parametrize('host,script,given', HOSTILE_DOORS)
def test_host_scripts_refuse_code_executing_checkpoints(toy, tmp_path, host, script, given):
    """mmtwins' own reader refuses the file (its message, not torch's default refusal: on the
    OneDL stack mmengine would retry the file with weights_only=False), and nothing runs."""
    if host == 'mmseg':
        cfg = seg_overlay(tmp_path, SEG_CONFIG, toy['ade'], iters=2)
        meta = {'iter': 2}
    else:
        cfg = det_overlay(tmp_path, DET_CONFIG, toy['coco'])
        meta = {'epoch': 1, 'iter': 2}
    marker = tmp_path / 'pwned'
    work = tmp_path / 'work'
    work.mkdir()
    name = 'epoch_1.pth' if given == 'resume newest' else 'evil.pth'
    evil = work / name
    save_code_executing_checkpoint(evil, marker, state_dict={}, meta=meta)
    env = {'TORCH_HOME': str(tmp_path / 'torch_home')}
    with CheckpointServer() as server:
        url = server.add(evil)
        args = [host_tool(host, script), str(cfg), '--work-dir', str(work)]
        if script == 'test.py':
            args.insert(2, url if given == 'url' else str(evil))
        elif given == 'load_from url':
            args += ['--cfg-options', f'load_from={url}']
        else:  # --resume: the newest checkpoint of the work dir, as mmengine finds it
            (work / 'last_checkpoint').write_text(str(evil))
            args += ['--resume']
        proc = run_python(args, env=env)
    log = output(proc)
    assert proc.returncode != 0, log[-3000:]
    assert 'refusing to load' in log and 'could run arbitrary code' in log, log[-3000:]
    assert not marker.exists()
