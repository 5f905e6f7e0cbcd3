"""Users' own projects: configs anywhere on disk inheriting ours through ``mmtwins::``, run
by the repo's tools, by ``python -m mmtwins.cli.train``, and from a non-editable wheel."""
import os
import subprocess
import sys
import zipfile

import pytest
from helpers import REPO_ROOT, run_python, run_two_processes
from helpers.toy_overlays import seg_overlay
from mmengine.config import Config

import mmtwins  # noqa: F401  (teaches mmengine the mmtwins:: prefix)
from mmtwins.utils.toydata import make_toy_ade20k

pytestmark = pytest.mark.slow  # users' projects, run through the tools


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp('my_project')
    make_toy_ade20k(str(root / 'data'), num_train=2, num_val=1, seed=3)
    # the lightest shipped segmentor: the doors, not the model, are under test here
    cfg = seg_overlay(root, 'mmtwins::fpn_twins_pcpvt_s_ade20k.py',
                      root / 'data' / 'ADEChallengeData2016', iters=2, name='my_seg.py')
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


@pytest.mark.parametrize('launcher', ['repo_tool', 'module', 'console_script', 'dist_sh'])
def test_user_project_trains_from_its_own_directory(project, launcher):
    root, cfg = project
    work = root / f'work_{launcher}'
    if launcher == 'dist_sh':  # 2 CPU processes (gloo), started from the user's directory
        env = dict(os.environ, PORT='29643', PYTHON=sys.executable)
        proc = run_two_processes(['bash', os.path.join(REPO_ROOT, 'tools', 'dist_train.sh'),
                                  cfg.name, '2', '--work-dir', str(work)], work, cwd=str(root),
                                 env=env, timeout=600)
        log = proc.stdout + proc.stderr
        assert proc.returncode == 0, log[-5000:]
        assert 'Distributed training: True' in log and 'GPU number: 2' in log
        assert (work / 'iter_2.pth').exists()
        return
    commands = {
        'repo_tool': [[sys.executable, os.path.join(REPO_ROOT, 'tools', f'{name}.py')]
                      for name in ('train', 'test')],
        'module': [[sys.executable, '-m', f'mmtwins.cli.{name}'] for name in ('train', 'test')],
        # the console scripts tools/setup.sh installed next to this interpreter
        'console_script': [[os.path.join(os.path.dirname(sys.executable), f'mmtwins-{name}')]
                           for name in ('train', 'test')],
    }
    train, test = commands[launcher]
    proc = subprocess.run(train + [cfg.name, '--work-dir', str(work)], cwd=str(root),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (work / 'iter_2.pth').exists()
    proc = subprocess.run(test + [cfg.name, str(work / 'iter_2.pth'), '--work-dir', str(work)],
                          cwd=str(root), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'mIoU' in proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def wheel_site(tmp_path_factory):
    """A wheel built from the checkout, unpacked as a non-editable install of just mmtwins."""
    tmp = tmp_path_factory.mktemp('wheel')
    proc = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps',
                           '--no-build-isolation', '-q', '-w', str(tmp / 'dist'), REPO_ROOT],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    wheel, = (tmp / 'dist').glob('mmtwins-*.whl')
    names = zipfile.ZipFile(wheel).namelist()
    zipfile.ZipFile(wheel).extractall(tmp / 'site')
    return tmp / 'site', names


def test_wheel_ships_configs_and_tools_and_resolves_them(wheel_site, tmp_path):
    site, names = wheel_site
    assert 'mmtwins/.mim/configs/upernet_twins_svt_s_ade20k.py' in names
    assert 'mmtwins/.mim/configs/_base_/models/upernet_twins.py' in names
    assert 'mmtwins/.mim/tools/train.py' in names
    # the start-up hook lands in site-packages itself
    assert '_mmtwins_startup.py' in names and 'mmtwins-startup.pth' in names
    assert (site / 'mmtwins-startup.pth').read_text().startswith('import _mmtwins_startup;')
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


def test_mim_train_from_a_wheel_install(project, wheel_site, toy):
    """``mim train mmtwins CONFIG`` (openmim 0.3.9) with mmtwins installed from a wheel: a
    user's config by path, and a shipped config by name (mim searches the package's
    .mim/configs) on mim's pytorch launcher, both trained by the wheel's .mim/tools/train.py."""
    root, cfg = project
    site, _ = wheel_site
    env = dict(os.environ, PYTHONPATH=str(site))  # the wheel, not the checkout
    short = ['train_cfg.max_iters=1', 'train_cfg.val_interval=1',
             'default_hooks.checkpoint.interval=1']
    work = root / 'work_mim'
    proc = subprocess.run([sys.executable, '-m', 'mim', 'train', 'mmtwins', cfg.name, '--gpus',
                           '0', '--work-dir', str(work), '--cfg-options'] + short,
                          cwd=str(root), env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    assert f'{site}/mmtwins/.mim/tools/train.py' in out  # mim's "Training command is ..."
    assert (work / 'iter_1.pth').exists()
    work = root / 'work_mim_shipped'
    data = [f'{split}_dataloader.dataset.data_root={toy["ade"]}'
            for split in ('train', 'val', 'test')]
    # mim's own distributed launcher (torch.distributed.launch, 2 CPU processes on gloo)
    proc = subprocess.run([sys.executable, '-m', 'mim', 'train', 'mmtwins',
                           'upernet_twins_svt_s_toy_ade20k.py', '--launcher', 'pytorch',
                           '--gpus', '2', '--port', '29652', '--work-dir', str(work),
                           '--cfg-options'] + short + data,
                          cwd=str(root), env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    assert f'{site}/mmtwins/.mim/configs/toy/upernet_twins_svt_s_toy_ade20k.py' in out
    assert 'Distributed training: True' in out and 'GPU number: 2' in out
    assert (work / 'iter_1.pth').exists()


def test_mmtwins_prefix_without_importing_mmtwins(tmp_path):
    """The installed start-up hook: plain mmengine/mmdet/mmseg scripts load a config that
    inherits mmtwins:: without importing mmtwins first."""
    (tmp_path / 'seg.py').write_text("_base_ = ['mmtwins::upernet_twins_svt_s_ade20k.py']\n"
                                     "model = dict(decode_head=dict(num_classes=5))\n")
    code = ('import sys; from mmengine.config import Config; '
            'assert "mmtwins" not in sys.modules; c = Config.fromfile("seg.py"); '
            'print(c.model.backbone.type, c.model.decode_head.num_classes, '
            '"mmtwins" in sys.modules)')
    proc = subprocess.run([sys.executable, '-c', code], cwd=str(tmp_path), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ['mmtwins.TwinsSVT', '5', 'True']
    # mmseg's own API, which knows nothing of mmtwins
    code = ('from mmseg.apis import init_model; m = init_model("seg.py", device="cpu"); '
            'print(type(m.backbone).__name__, m.decode_head.conv_seg.out_channels)')
    proc = subprocess.run([sys.executable, '-c', code], cwd=str(tmp_path), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[-2:] == ['TwinsSVT', '5']


def test_mmtwins_prefix_error_when_the_install_is_broken(tmp_path):
    # an mmtwins package without its configs (and one that does not even import): the
    # start-up hook's resolver says what is wrong and what to do, without importing it
    broken = tmp_path / 'broken' / 'mmtwins'
    broken.mkdir(parents=True)
    (broken / '__init__.py').write_text("raise ImportError('simulated broken install')\n")
    (tmp_path / 'cfg.py').write_text("_base_ = ['mmtwins::upernet_twins_svt_s_ade20k.py']\n")
    code = 'from mmengine.config import Config; Config.fromfile("cfg.py")'
    proc = subprocess.run([sys.executable, '-c', code], cwd=str(tmp_path), capture_output=True,
                          text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(tmp_path / 'broken')))
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('FileNotFoundError: mmtwins:: configs not found next to the mmtwins '
                           f'package at {broken}')
    assert 'the install is incomplete' in last and 'python -m mmtwins.env' in last


def test_examples_project_trains_outside_the_repo(tmp_path):
    import shutil

    from mmtwins.checkpoint import load_file
    project = tmp_path / 'my_project'
    shutil.copytree(os.path.join(REPO_ROOT, 'examples', 'my_project'), project)
    proc = run_python(['prepare_data.py', '--num-train', '2', '--num-val', '1'], cwd=str(project))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(os.listdir(project / 'data')) == ['scenes', 'shapes_coco']  # nothing stray
    seg = run_python(['-m', 'mmtwins.cli.train', 'configs/upernet_twins_svt_s_scenes.py',
                      '--cfg-options', 'model.backbone.init_cfg=None', 'train_cfg.max_iters=2',
                      'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2'],
                     cwd=str(project))
    assert seg.returncode == 0, seg.stderr[-3000:]
    ckpt = load_file(str(project / 'work_dirs' / 'upernet_twins_svt_s_scenes' / 'iter_2.pth'))
    assert ckpt['meta']['dataset_meta']['classes'] == ('wall', 'floor', 'tree', 'person', 'car')
    assert ckpt['state_dict']['decode_head.conv_seg.weight'].shape[0] == 5
    m2f = run_python(['-m', 'mmtwins.cli.train', 'configs/mask2former_twins_svt_s_scenes.py',
                      '--cfg-options', 'model.backbone.init_cfg=None', 'train_cfg.max_iters=2',
                      'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2'],
                     cwd=str(project))
    assert m2f.returncode == 0, m2f.stderr[-3000:]
    ckpt = load_file(str(project / 'work_dirs' / 'mask2former_twins_svt_s_scenes' / 'iter_2.pth'))
    assert ckpt['meta']['dataset_meta']['classes'] == ('wall', 'floor', 'tree', 'person', 'car')
    assert ckpt['state_dict']['decode_head.cls_embed.weight'].shape[0] == 5 + 1  # + no object
    assert ckpt['state_dict']['decode_head.query_embed.weight'].shape[0] == 20
    assert 'mIoU' in m2f.stdout + m2f.stderr
    det = run_python(['-m', 'mmtwins.cli.train', 'configs/retinanet_twins_svt_s_shapes.py',
                      '--cfg-options', 'model.backbone.init_cfg=None', 'train_cfg.max_epochs=1'],
                     cwd=str(project))
    assert det.returncode == 0, det.stderr[-3000:]
    ckpt = load_file(str(project / 'work_dirs' / 'retinanet_twins_svt_s_shapes' / 'epoch_1.pth'))
    assert ckpt['meta']['dataset_meta']['classes'] == ('sports ball', 'kite', 'tv')
    assert ckpt['state_dict']['bbox_head.retina_cls.weight'].shape[0] == 3 * 9  # 9 anchors
