"""End to end, as a user runs them: tools/train.py, tools/test.py, --resume,
tools/dist_train.sh (2 CPU processes) and tools/slurm_train.sh, on toy data."""
import json
import math
import os
import os.path as osp
import pickle
import re
import stat
import subprocess
import sys

import pytest
from helpers import (REPO_ROOT, run_python, run_two_processes, save_code_executing_checkpoint,
                     scalars, tool)
from helpers.http_server import CheckpointServer
from helpers.toy_overlays import det_overlay, seg_overlay

from mmtwins.checkpoint import load_file


def metrics_line(proc):
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith('[mmtwins] metrics: ')][-1]
    return json.loads(line[len('[mmtwins] metrics: '):])


def test_upernet_svt_s_train_test_pictures(toy, tmp_path):
    """The quick-start config through both tools; --show-dir writes GT|prediction pictures,
    --out writes label maps."""
    work = tmp_path / 'work'
    data = [f'{k}.dataset.data_root={toy["ade"]}'
            for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    cfg = 'configs/toy/upernet_twins_svt_s_toy_ade20k.py'
    tool(['tools/train.py', cfg, '--work-dir', str(work), '--cfg-options',
          'train_cfg.max_iters=3', 'train_cfg.val_interval=3', 'train_dataloader.batch_size=2']
         + data)
    ckpt = work / 'iter_3.pth'
    assert ckpt.exists()
    proc = tool(['tools/test.py', cfg, str(ckpt), '--work-dir', str(work), '--show-dir',
                 str(tmp_path / 'pics'), '--out', str(tmp_path / 'preds'), '--cfg-options']
                + data)
    metrics = metrics_line(proc)
    assert {'aAcc', 'mIoU', 'mAcc'} <= set(metrics)
    pics = [f for _, _, fs in os.walk(tmp_path / 'pics') for f in fs if f.endswith('.png')]
    assert len(pics) == 2
    from PIL import Image
    pic = Image.open(next((tmp_path / 'pics').rglob('*.png')))
    assert pic.width == 2 * 160 and pic.height == 128  # ground truth | prediction
    assert len(list((tmp_path / 'preds').glob('*.png'))) == 2
    # the hosts' own API reads mmengine's checkpoint of our config (weights_only on)
    # (mmengine loads non-strictly: every tensor of the file must be in the model, equal)
    proc = tool(['-c', 'import sys, torch; from mmseg.apis import init_model; '
                 'from mmtwins.checkpoint import load_file; '
                 'm = init_model(sys.argv[1], sys.argv[2], device="cpu"); '
                 'sd, own = load_file(sys.argv[2])["state_dict"], m.state_dict(); '
                 'print("classes", len(m.dataset_meta["classes"]), "complete", '
                 'set(sd) == set(own) and all(torch.equal(own[k], v) for k, v in sd.items()))',
                 cfg, str(ckpt)])
    assert 'classes 150 complete True' in proc.stdout


def test_semantic_fpn_learns_and_resumes(toy, tmp_path):
    """A short run lowers the loss clearly; --resume PATH continues at the right iteration."""
    work = tmp_path / 'work'
    cfg = seg_overlay(tmp_path, 'fpn_twins_pcpvt_s_ade20k.py', toy['ade'], iters=24, lr=1e-3,
                      ckpt_interval=12)
    tool(['tools/train.py', str(cfg), '--work-dir', str(work)])
    losses = [r['loss'] for r in scalars(work)]
    assert len(losses) == 24
    first, last = sum(losses[:4]) / 4, sum(losses[-4:]) / 4
    assert last < 0.6 * first, losses
    proc = tool(['tools/test.py', str(cfg), str(work / 'iter_24.pth'), '--work-dir', str(work)])
    assert metrics_line(proc)['mIoU'] > 0
    # the training curves of this work dir, as a picture
    proc = tool(['tools/analysis/plot_curves.py', str(work), '--out', str(tmp_path / 'c.png')])
    assert 'loss' in proc.stdout and 'mIoU' in proc.stdout
    from PIL import Image
    with Image.open(tmp_path / 'c.png') as pic:
        n_panels = len(proc.stdout.split('(')[1].split(','))
        assert pic.size == (600 * n_panels, 400) and pic.getextrema()[0][0] < 255

    # --resume URL continues from that checkpoint, downloaded and read safely (--resume without
    # a value, from the work dir's last checkpoint, is in tests/test_engine/test_reliability.py)
    explicit = tmp_path / 'explicit'
    with CheckpointServer() as server:
        proc = tool(['tools/train.py', str(cfg), '--work-dir', str(explicit),
                     '--resume', server.add(work / 'iter_12.pth'),
                     '--cfg-options', 'train_cfg.max_iters=13'],
                    env={'TORCH_HOME': str(tmp_path / 'torch_home')})
    assert 'resumed' in (proc.stdout + proc.stderr).lower()
    ckpt = load_file(str(explicit / 'iter_13.pth'))  # weights_only, mmengine allow-list
    assert ckpt['meta']['iter'] == 13
    assert [r['step'] for r in scalars(tmp_path / 'explicit')] == [13]


@pytest.mark.parametrize('config,masks', [
    ('retinanet_twins_pcpvt_s_fpn_1x_coco.py', False),
    ('mask_rcnn_twins_svt_s_fpn_1x_coco.py', True),
])
def test_detectors_train_and_test(toy, tmp_path, config, masks):
    cfg = det_overlay(tmp_path, config, toy['coco'], masks=masks)
    work = tmp_path / 'work'
    tool(['tools/train.py', str(cfg), '--work-dir', str(work)])
    ckpt = work / 'epoch_1.pth'
    assert ckpt.exists()
    losses = scalars(work)
    assert len(losses) == 2 and all(math.isfinite(r['loss']) for r in losses)  # 2 iters
    out = tmp_path / 'results.pkl'
    # keep every box so that the untrained model still has results to score
    score = ('model.test_cfg.rcnn.score_thr=0.0' if masks else 'model.test_cfg.score_thr=0.0')
    proc = tool(['tools/test.py', str(cfg), str(ckpt), '--work-dir', str(work), '--out',
                 str(out), '--show-dir', str(tmp_path / 'pics'), '--cfg-options', score])
    metrics = metrics_line(proc)
    assert 'coco/bbox_mAP' in metrics
    if masks:
        assert 'coco/segm_mAP' in metrics
    with open(out, 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 2 and 'pred_instances' in results[0]
    assert len(list((tmp_path / 'pics').rglob('*.jpg')) + list((tmp_path / 'pics').rglob(
        '*.png'))) == 2


def test_3x_ms_training_pipeline_at_real_scales(toy):
    """The 3x configs' own multi-scale augmentation on the toy COCO images, at its real
    scales (training at 800x1333 on 2 cores is left to the GPU): the short side is one of
    480..800 (step 32), both branches (plain resize; resize, crop, resize) occur, and the boxes
    stay inside the picture."""
    import numpy as np
    from mmdet.registry import DATASETS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'retinanet_twins_svt_s_fpn_3x_ms_coco.py'))
    init_default_scope('mmdet')
    cfg.train_dataloader.dataset.data_root = toy['coco'].rstrip('/') + '/'
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    allowed = {480 + 32 * i for i in range(11)}
    shorts, crops = set(), 0
    np.random.seed(0)
    for _ in range(6):
        for i in range(len(dataset)):
            sample = dataset[i]
            h, w = sample['inputs'].shape[1:]
            short = min(h, w)
            assert any(abs(short - s) <= 1 for s in allowed) and max(h, w) <= 1333, (h, w)
            shorts.add(short)
            ori_h, ori_w = sample['data_samples'].ori_shape
            crops += abs(w / h - ori_w / ori_h) > 0.02  # a crop changes the aspect ratio
            boxes = sample['data_samples'].gt_instances.bboxes.tensor
            assert (boxes[:, 0::2] <= w + 1e-3).all() and (boxes[:, 1::2] <= h + 1e-3).all()
            assert (boxes >= -1e-3).all()
    assert len(shorts) >= 4 and crops > 0, (shorts, crops)


def test_dist_train_two_cpu_processes(toy, tmp_path):
    cfg = seg_overlay(tmp_path, 'fpn_twins_pcpvt_s_ade20k.py', toy['ade'], iters=2)
    work = tmp_path / 'work'
    env = dict(os.environ, PORT='29637', PYTHON=sys.executable)
    proc = run_two_processes(['bash', 'tools/dist_train.sh', str(cfg), '2', '--work-dir',
                              str(work)], work, cwd=REPO_ROOT, env=env, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    assert 'Distributed training: True' in log and 'GPU number: 2' in log
    assert 'SyncBN -> BN' in log
    assert (work / 'iter_2.pth').exists()


def test_slurm_train_script(toy, tmp_path):
    """slurm_train.sh with a stand-in srun that records its arguments and runs the task as
    Slurm would (one task), through --launcher slurm on the CPU."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    srun = bin_dir / 'srun'
    srun.write_text('#!/usr/bin/env bash\n'
                    f'printf "%s\\n" "$@" > {tmp_path}/srun_args\n'
                    'while [ $# -gt 0 ]; do case "$1" in -p) shift 2;; -*) shift;; *) break;; '
                    'esac; done\n'
                    'export SLURM_PROCID=0 SLURM_NTASKS=1 SLURM_LOCALID=0 '
                    'SLURM_NODELIST=localhost MASTER_ADDR=127.0.0.1 MASTER_PORT=29638\n'
                    'exec "$@"\n')
    srun.chmod(srun.stat().st_mode | stat.S_IEXEC)
    cfg = seg_overlay(tmp_path, 'fpn_twins_pcpvt_s_ade20k.py', toy['ade'], iters=1)
    env = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}', GPUS='1', GPUS_PER_NODE='1',
               CPUS_PER_TASK='2', SRUN_ARGS='--quotatype=auto', PYTHON=sys.executable)
    work = tmp_path / 'work'
    proc = subprocess.run(['bash', 'tools/slurm_train.sh', 'gpu_part', 'twins_job', str(cfg),
                           str(work)], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    args = (tmp_path / 'srun_args').read_text().split('\n')
    for expected in ['-p', 'gpu_part', '--job-name=twins_job', '--gres=gpu:1', '--ntasks=1',
                     '--ntasks-per-node=1', '--cpus-per-task=2', '--kill-on-bad-exit=1',
                     '--quotatype=auto', '--launcher=slurm', f'--work-dir={work}']:
        assert expected in args
    assert (work / 'iter_1.pth').exists()
    assert 'Distributed launcher: slurm' in proc.stdout + proc.stderr


def test_missing_pretrained_checkpoint_is_a_clear_message(toy, tmp_path):
    data = [f'{k}.dataset.data_root={toy["ade"]}' for k in ('train_dataloader', 'val_dataloader')]
    proc = run_python(['tools/train.py', 'configs/upernet_twins_svt_s_ade20k.py', '--work-dir',
                       str(tmp_path), '--cfg-options',
                       'model.backbone.init_cfg.checkpoint=/nowhere/alt_gvt_small.pth'] + data)
    assert proc.returncode == 1
    assert 'Traceback' not in proc.stderr
    err = proc.stderr
    assert "checkpoint not found: '/nowhere/alt_gvt_small.pth'" in err
    assert 'alt_gvt_small_20220308-7e1c3695.pth' in err and 'timm/twins_svt_small.in1k' in err
    assert 'twins2mmtwins.py' in err and 'model.backbone.init_cfg=None' in err


@pytest.mark.slow  # a tool in a subprocess
@pytest.mark.parametrize('args,message', [
    (['configs/upernet_twins_svt_s_ade2k.py'],
     'config file not found: configs/upernet_twins_svt_s_ade2k.py. Did you mean '
     'configs/upernet_twins_svt_s_ade20k.py'),
    (['configs/upernet_twins_svt_s_ade20k.py', '--cfg-options', 'modle.backbone.arch=b'],
     "the config has no key 'modle'"),
    (['configs/upernet_twins_svt_s_ade20k.py', '--cfg-options', 'train_cfg.max_iterz=1'],
     "train_cfg has no key 'max_iterz'; did you mean 'max_iters'?"),
    (['configs/upernet_twins_svt_s_ade20k.py', '--work-dir', '/tmp/x', '--cfg-options',
      'train_dataloader.dataset.data_root=/nonexistent/ade'],
     "train_dataloader: the data root '/nonexistent/ade' does not exist"),
])
def test_user_errors_are_one_message(args, message):
    proc = run_python(['tools/train.py'] + args)
    assert proc.returncode == 1
    assert message in proc.stderr and 'Traceback' not in proc.stderr


def test_code_executing_checkpoints_are_refused_by_resume_and_load_from(toy, tmp_path):
    """Our tools refuse such a file with mmtwins' message, from a path (--resume, test.py)
    and from a URL (load_from), and its code never runs."""
    marker = tmp_path / 'pwned'
    evil = tmp_path / 'iter_1.pth'
    save_code_executing_checkpoint(evil, marker, meta={'iter': 1}, state_dict={})
    cfg = seg_overlay(tmp_path, 'fpn_twins_pcpvt_s_ade20k.py', toy['ade'], iters=2)
    with CheckpointServer() as server:
        url = server.add(evil)
        for args, source in (
                (['tools/train.py', str(cfg), '--work-dir', str(tmp_path / 'w'), '--resume',
                  str(evil)], evil),
                (['tools/train.py', str(cfg), '--work-dir', str(tmp_path / 'w'),
                  '--cfg-options', f'load_from={url}'], 'iter_1.pth'),
                (['tools/test.py', str(cfg), str(evil), '--work-dir', str(tmp_path / 'w')],
                 evil)):
            proc = run_python(args, env={'TORCH_HOME': str(tmp_path / 'torch_home')})
            assert proc.returncode == 1, proc.stderr[-3000:]
            assert 'error: refusing to load ' in proc.stderr and \
                f'{source}: it contains pickled Python objects' in proc.stderr, \
                proc.stderr[-3000:]
            assert 'Traceback' not in proc.stderr
            assert not marker.exists()


@pytest.mark.parametrize('kind', ['seg', 'det'])
def test_demo_writes_pictures_and_refuses_unsafe_checkpoints(toy, tmp_path, kind):
    from PIL import Image
    if kind == 'seg':
        cfg = seg_overlay(tmp_path, 'fpn_twins_pcpvt_s_ade20k.py', toy['ade'], iters=1)
        images = osp.join(toy['ade'], 'images', 'validation')
        ckpt = tmp_path / 'work' / 'iter_1.pth'
    else:
        cfg = det_overlay(tmp_path, 'retinanet_twins_pcpvt_s_fpn_1x_coco.py', toy['coco'])
        images = osp.join(toy['coco'], 'val2017')
        ckpt = tmp_path / 'work' / 'epoch_1.pth'
    tool(['tools/train.py', str(cfg), '--work-dir', str(tmp_path / 'work')])
    # detection under --amp: bf16 network, fp32 post-processing
    amp = ['--amp'] if kind == 'det' else []
    proc = tool(['tools/demo.py', images, str(cfg), str(ckpt), '--out-dir',
                 str(tmp_path / 'out'), '--score-thr', '0.0'] + amp)
    assert '[mmtwins] wrote 2 picture(s)' in proc.stdout
    if amp:
        assert 'mixed precision: bfloat16 autocast (cpu), post-processing in fp32' in proc.stdout
    for name in os.listdir(images):
        with Image.open(osp.join(images, name)) as src, \
                Image.open(tmp_path / 'out' / 'vis' / name) as pic:
            assert pic.size == src.size and pic.getextrema() != ((0, 0),) * 3
    evil = tmp_path / 'evil.pth'
    save_code_executing_checkpoint(evil, tmp_path / 'pwned', state_dict={})
    proc = run_python(['tools/demo.py', images, str(cfg), str(evil), '--out-dir',
                       str(tmp_path / 'out2')])
    assert proc.returncode == 1 and 'refusing to load' in proc.stderr
    assert not (tmp_path / 'pwned').exists()


def test_quickstart_with_fewer_iterations(toy, tmp_path):
    """The README's first command (tools/quickstart.sh = set-up + tools/quickstart.py), with 2
    iterations on the shared toy data: trains, evaluates and draws its pictures."""
    data_dir = osp.dirname(osp.dirname(toy['ade']))  # <data>/ade/ADEChallengeData2016
    work = tmp_path / 'qs'
    proc = tool(['tools/quickstart.py', '--iters', '2', '--data-dir', data_dir, '--work-dir',
                 str(work)])
    out = proc.stdout
    assert 'toy ADE20K already at' in out and '(2 iterations)' in out
    assert re.search(r'mIoU \d', out) and 'quick start done' in out, out[-3000:]
    for name in ('iter_2.pth', 'predictions.png', 'curves.png'):
        assert (work / name).is_file(), name


def _recording_stub(path, record):
    """An executable that writes its arguments, one per line, to ``record``."""
    path.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$@" > {record}\n')
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.mark.parametrize('script', ['dist_test.sh', 'slurm_test.sh'])
def test_test_launchers_pass_their_arguments(tmp_path, script):
    """dist_test.sh CONFIG CHECKPOINT GPUS [options] and slurm_test.sh PARTITION JOB CONFIG
    CHECKPOINT [options]: the launcher gets tools/test.py with the arguments in order plus the
    launcher flag (the interpreter and srun are stand-ins that record what they get); too few
    arguments are a usage line."""
    record = tmp_path / 'args'
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    _recording_stub(bin_dir / 'srun', record)
    _recording_stub(tmp_path / 'python', record)
    env = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}', PYTHON=str(tmp_path / 'python'),
               PORT='29641', GPUS='4', GPUS_PER_NODE='2')
    lead = ['cfg.py', 'ckpt.pth', '2'] if script == 'dist_test.sh' else \
        ['part', 'job', 'cfg.py', 'ckpt.pth']
    proc = subprocess.run(['bash', f'tools/{script}'] + lead + ['--out', 'o.pkl'],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    args = record.read_text().splitlines()
    test_py = osp.join(REPO_ROOT, 'tools', 'test.py')
    if script == 'dist_test.sh':
        assert args[:2] == ['-m', 'torch.distributed.run']
        assert '--nproc_per_node=2' in args and '--master_port=29641' in args
        i = args.index(test_py)
        assert args[i:] == [test_py, 'cfg.py', 'ckpt.pth', '--out', 'o.pkl', '--launcher',
                            'pytorch']
    else:
        for expected in ('-p', 'part', '--job-name=job', '--gres=gpu:2', '--ntasks=4',
                         '--ntasks-per-node=2'):
            assert expected in args
        i = args.index(test_py)
        assert args[i - 2:i] == [str(tmp_path / 'python'), '-u']
        assert args[i:] == [test_py, 'cfg.py', 'ckpt.pth', '--out', 'o.pkl', '--launcher=slurm']
    proc = subprocess.run(['bash', f'tools/{script}'] + lead[:-1], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.startswith('usage:')
