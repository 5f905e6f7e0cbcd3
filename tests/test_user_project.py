"""Users' own projects: configs anywhere on disk inheriting ours through ``mmtwins::``, run
by the repo's tools, by ``python -m mmtwins.train``, and from a non-editable wheel."""
import os
import subprocess
import sys
import zipfile

import pytest
from conftest import REPO_ROOT, run_python
from mmengine.config import Config

import mmtwins  # noqa: F401  (teaches mmengine the mmtwins:: prefix)
from mmtwins.toydata import make_toy_ade20k

USER_CONFIG = '''
_base_ = ['mmtwins::upernet_twins_svt_s_ade20k.py']
data_root = {data_root!r}
crop_size = (64, 64)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='Resize', scale=(64, 64), keep_ratio=False),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 64), keep_ratio=False),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
model = dict(data_preprocessor=dict(size=crop_size), backbone=dict(init_cfg=None),
             decode_head=dict(num_classes=150), auxiliary_head=dict(num_classes=150))
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=2, val_interval=2)
default_hooks = dict(checkpoint=dict(interval=2))
'''


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp('my_project')
    make_toy_ade20k(str(root / 'data'), num_train=2, num_val=1, seed=3)
    cfg = root / 'my_upernet.py'
    cfg.write_text(USER_CONFIG.format(
        data_root=str(root / 'data' / 'ADEChallengeData2016')))
    return root, cfg


def test_mmtwins_prefix_resolves_shipped_configs(tmp_path):
    cfg_file = tmp_path / 'c.py'
    cfg_file.write_text("_base_ = ['mmtwins::_base_/models/upernet_twins.py']\n"
                        "model = dict(backbone=dict(arch='base'))\n")
    cfg = Config.fromfile(str(cfg_file))
    assert cfg.model.backbone.type == 'mmtwins.TwinsPCPVT' and cfg.model.backbone.arch == 'base'
    assert cfg.model.decode_head.type == 'UPerHead'
    bad = tmp_path / 'bad.py'
    bad.write_text("_base_ = ['mmtwins::upernet_twins_svt_s_ade2k.py']\n")
    with pytest.raises(FileNotFoundError, match=r"no such mmtwins config\. Did you mean "
                                                r"mmtwins::upernet_twins_svt_s_ade20k\.py"):
        Config.fromfile(str(bad))


@pytest.mark.parametrize('launcher', ['repo_tool', 'module'])
def test_user_project_trains_from_its_own_directory(project, launcher):
    root, cfg = project
    work = root / f'work_{launcher}'
    if launcher == 'repo_tool':
        args = [os.path.join(REPO_ROOT, 'tools', 'train.py')]
    else:
        args = ['-m', 'mmtwins.train']
    proc = run_python(args + [cfg.name, '--work-dir', str(work)], cwd=str(root))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (work / 'iter_2.pth').exists()


def test_wheel_ships_configs_and_tools_and_resolves_them(tmp_path):
    out = tmp_path / 'dist'
    proc = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps',
                           '--no-build-isolation', '-q', '-w', str(out), REPO_ROOT],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    wheel, = out.glob('mmtwins-*.whl')
    names = zipfile.ZipFile(wheel).namelist()
    assert 'mmtwins/.mim/configs/upernet_twins_svt_s_ade20k.py' in names
    assert 'mmtwins/.mim/configs/_base_/models/upernet_twins.py' in names
    assert 'mmtwins/.mim/tools/train.py' in names
    site = tmp_path / 'site'
    zipfile.ZipFile(wheel).extractall(site)  # a non-editable install of just mmtwins
    user = tmp_path / 'user'
    user.mkdir()
    (user / 'cfg.py').write_text("_base_ = ['mmtwins::fpn_twins_svt_b_ade20k.py']\n")
    code = ('import mmtwins, os.path as osp; from mmengine.config import Config; '
            'c = Config.fromfile("cfg.py"); print(mmtwins.__file__); '
            'print(c.model.backbone.arch, c.filename)')
    env = dict(os.environ, PYTHONPATH=str(site))
    proc = subprocess.run([sys.executable, '-c', code], cwd=str(user), env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.split('\n')
    assert lines[0].startswith(str(site)) and lines[1].startswith('base')


def test_examples_project_trains_outside_the_repo(tmp_path):
    import shutil

    from mmtwins.checkpoint import load_file
    project = tmp_path / 'my_project'
    shutil.copytree(os.path.join(REPO_ROOT, 'examples', 'my_project'), project)
    proc = run_python(['prepare_data.py', '--num-train', '2', '--num-val', '1'], cwd=str(project))
    assert proc.returncode == 0, proc.stderr[-3000:]
    seg = run_python(['-m', 'mmtwins.train', 'configs/upernet_twins_svt_s_scenes.py',
                      '--cfg-options', 'model.backbone.init_cfg=None', 'train_cfg.max_iters=2',
                      'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2'],
                     cwd=str(project))
    assert seg.returncode == 0, seg.stderr[-3000:]
    ckpt = load_file(str(project / 'work_dirs' / 'upernet_twins_svt_s_scenes' / 'iter_2.pth'))
    assert ckpt['meta']['dataset_meta']['classes'] == ('wall', 'floor', 'tree', 'person', 'car')
    assert ckpt['state_dict']['decode_head.conv_seg.weight'].shape[0] == 5
    det = run_python(['-m', 'mmtwins.train', 'configs/retinanet_twins_svt_s_shapes.py',
                      '--cfg-options', 'model.backbone.init_cfg=None', 'train_cfg.max_epochs=1'],
                     cwd=str(project))
    assert det.returncode == 0, det.stderr[-3000:]
    ckpt = load_file(str(project / 'work_dirs' / 'retinanet_twins_svt_s_shapes' / 'epoch_1.pth'))
    assert ckpt['meta']['dataset_meta']['classes'] == ('sports ball', 'kite', 'tv')
    assert ckpt['state_dict']['bbox_head.retina_cls.weight'].shape[0] == 3 * 9  # 9 anchors
