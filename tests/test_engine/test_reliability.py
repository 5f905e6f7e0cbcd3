"""Reliability: extreme shapes, killed jobs, deterministic resume, identical ranks, bf16."""
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from helpers import REPO_ROOT, run_python, run_scalars, run_two_processes, scalars, tool
from helpers.toy_overlays import det_overlay, seg_overlay
from mmengine.fileio import get_file_backend

from mmtwins.checkpoint import load_file
from mmtwins.engine import AtomicLocalBackend, find_resumable_checkpoint
from mmtwins.models import TwinsPCPVT, TwinsSVT

MMSEG_TRAIN = os.path.join(os.path.dirname(__import__('mmseg').__file__), '.mim', 'tools',
                           'train.py')


@pytest.mark.parametrize('cls', [TwinsSVT, TwinsPCPVT])
@pytest.mark.parametrize('window_padding', ['mask', 'zero'])
def test_extreme_shapes(cls, window_padding):
    model = cls(arch='small', window_padding=window_padding).eval()
    with torch.no_grad():
        # very wide, very tall, a batch of one, smaller than one window at every stage
        for h, w in [(32, 2048), (2048, 32), (5, 9), (1, 1), (3, 250)]:
            outs = model(torch.randn(1, 3, h, w))
            for out, s, c in zip(outs, (4, 8, 16, 32), model.out_channels):
                assert out.shape == (1, c, math.ceil(h / s), math.ceil(w / s))
                assert torch.isfinite(out).all(), (h, w)


def test_atomic_backend_leaves_target_untouched_on_failure(tmp_path):
    # what the checkpoint hook of our configs gets from mmengine's public get_file_backend
    backend = get_file_backend(str(tmp_path), backend_args=dict(backend='mmtwins_atomic'))
    assert isinstance(backend, AtomicLocalBackend)
    target = tmp_path / 'iter_2.pth'
    target.write_bytes(b'complete')
    with pytest.raises(TypeError):
        backend.put(object(), str(target))  # not bytes: the write fails midway
    assert target.read_bytes() == b'complete'
    assert os.listdir(tmp_path) == ['iter_2.pth']  # no temporary file left behind
    backend.put(b'new', str(target))
    backend.put_text('pointer', str(tmp_path / 'sub' / 'last_checkpoint'))
    assert target.read_bytes() == b'new'
    assert (tmp_path / 'sub' / 'last_checkpoint').read_text() == 'pointer'


def test_killed_training_resumes_and_skips_half_written_checkpoints(toy, tmp_path):
    cfg = seg_overlay(tmp_path, 'fpn_twins_pcpvt_s_ade20k.py', toy['ade'], iters=14,
                      ckpt_interval=2)
    work = tmp_path / 'work'
    proc = subprocess.Popen([sys.executable, 'tools/train.py', str(cfg), '--work-dir',
                             str(work)], cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (work / 'iter_4.pth').exists():
        assert proc.poll() is None, 'training ended before it could be killed'
        assert time.time() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # no chance to clean up
    proc.wait()
    complete = find_resumable_checkpoint(str(work))
    done = int(os.path.basename(complete).split('_')[1].split('.')[0])
    assert 4 <= done < 12
    # a checkpoint cut off while being written (as a non-atomic writer would leave it),
    # pointed at by mmengine's last_checkpoint, plus a leftover temporary file
    good = (work / f'iter_{done}.pth').read_bytes()
    (work / 'iter_12.pth').write_bytes(good[:len(good) // 3])
    (work / 'last_checkpoint').write_text(str(work / 'iter_12.pth'))
    (work / '.iter_14.pth.abc.tmp').write_bytes(b'partial')
    proc = tool(['tools/train.py', str(cfg), '--work-dir', str(work), '--resume'])
    assert 'skipping' in proc.stdout and 'iter_12.pth' in proc.stdout
    runs = sorted(d for d in os.listdir(work) if (work / d / 'vis_data').is_dir())
    last_run = [r['step'] for r in run_scalars(work / runs[-1])]
    assert last_run == list(range(done + 1, 15))
    assert load_file(str(work / 'iter_14.pth'))['meta']['iter'] == 14


@pytest.mark.parametrize('train_script', ['tools/train.py', MMSEG_TRAIN],
                         ids=['ours', 'mmseg_own_train_py'])
def test_killed_while_writing_a_checkpoint(toy, tmp_path, train_script):
    """SIGKILL in the middle of writing iter_4.pth: no iter_4.pth appears, and --resume
    continues from iter_2.pth to the planned end; also with mmseg's own tools/train.py,
    which knows nothing of mmtwins but runs our config's checkpoint hook."""
    cfg = seg_overlay(tmp_path, 'fpn_twins_pcpvt_s_ade20k.py', toy['ade'], iters=6,
                      ckpt_interval=2)
    work = tmp_path / 'work'
    proc = subprocess.Popen([sys.executable, 'tests/scripts/slow_checkpoint_train.py',
                             'iter_4.pth', train_script, str(cfg), '--work-dir', str(work)],
                            cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not list(work.glob('.iter_4.pth.*.tmp')):
        assert proc.poll() is None, 'training ended before the checkpoint was written'
        assert time.time() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (work / 'iter_4.pth').exists() and (work / 'iter_2.pth').exists()
    assert (work / 'last_checkpoint').read_text().endswith('iter_2.pth')
    tool([train_script, str(cfg), '--work-dir', str(work), '--resume'])
    runs = sorted(d for d in os.listdir(work) if (work / d / 'vis_data').is_dir())
    assert [r['step'] for r in run_scalars(work / runs[-1])] == [3, 4, 5, 6]
    assert load_file(str(work / 'iter_6.pth'))['meta']['iter'] == 6


DETERMINISTIC = '''
_base_ = [{base!r}]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='Resize', scale=(64, 64), keep_ratio=False),
    dict(type='PackSegInputs')
]
model = dict(decode_head=dict(dropout_ratio=0.0), backbone=dict(drop_path_rate=0.0))
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=6)]
randomness = dict(seed=7, deterministic=True)
'''


def test_interrupted_and_resumed_run_ends_with_the_same_weights(toy, tmp_path):
    base = seg_overlay(tmp_path, 'fpn_twins_pcpvt_s_ade20k.py', toy['ade'], iters=6,
                       ckpt_interval=3, name='base.py')
    cfg = tmp_path / 'deterministic.py'
    cfg.write_text(DETERMINISTIC.format(base=str(base)))
    tool(['tools/train.py', str(cfg), '--work-dir', str(tmp_path / 'straight')])
    tool(['tools/train.py', str(cfg), '--work-dir', str(tmp_path / 'split'),
          '--cfg-options', 'train_cfg.max_iters=3'])
    tool(['tools/train.py', str(cfg), '--work-dir', str(tmp_path / 'split'), '--resume'])
    a = load_file(str(tmp_path / 'straight' / 'iter_6.pth'))['state_dict']
    b = load_file(str(tmp_path / 'split' / 'iter_6.pth'))['state_dict']
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=0, atol=1e-6, msg=key)


def test_two_process_training_keeps_ranks_identical(toy, tmp_path):
    cfg = seg_overlay(tmp_path, 'fpn_twins_pcpvt_s_ade20k.py', toy['ade'], iters=3)
    with open(cfg, 'a') as f:
        f.write("custom_imports = dict(imports=['mmtwins', 'rank_dump_hook'], "
                "allow_failed_imports=False)\n"
                "custom_hooks = [dict(type='RankWeightsDumpHook')]\n")
    work = tmp_path / 'work'
    env = dict(os.environ, PORT='29641', PYTHON=sys.executable,
               PYTHONPATH=os.path.join(REPO_ROOT, 'tests', 'scripts'))
    proc = run_two_processes(['bash', 'tools/dist_train.sh', str(cfg), '2', '--work-dir',
                              str(work)], work, cwd=REPO_ROOT, env=env, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    ranks = [torch.load(work / f'rank{r}_weights.pth', weights_only=True) for r in (0, 1)]
    assert ranks[0].keys() == ranks[1].keys() and len(ranks[0]) > 100
    for key in ranks[0]:
        assert torch.equal(ranks[0][key], ranks[1][key]), key


def test_bf16_autocast_training_of_a_segmentor_and_a_detector(toy, tmp_path):
    seg = seg_overlay(tmp_path, 'upernet_twins_svt_s_ade20k.py', toy['ade'], iters=3,
                      name='seg.py')
    det = det_overlay(tmp_path, 'retinanet_twins_svt_s_fpn_1x_coco.py', toy['coco'],
                      name='det.py')
    for cfg, work in ((seg, tmp_path / 'seg'), (det, tmp_path / 'det')):
        proc = tool(['tools/train.py', str(cfg), '--work-dir', str(work), '--amp'])
        assert 'AutocastOptimWrapper' in proc.stdout + proc.stderr
        records = scalars(work)
        assert records and all(math.isfinite(r['loss']) for r in records)
        ckpt = load_file(str(next(work.glob('*_[0-9]*.pth'))))
        assert all(torch.isfinite(v).all() for v in ckpt['state_dict'].values()
                   if v.is_floating_point())


@pytest.mark.slow
def test_load_test_tool():
    proc = run_python(['tools/analysis/load_test.py', '--sizes', '60', '--max-side', '160',
                       '--segmentor-sizes', '8'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'all outputs finite' in proc.stdout and 'memory did not grow' in proc.stdout
