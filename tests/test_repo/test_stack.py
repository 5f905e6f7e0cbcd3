"""Both stacks (the original OpenMMLab packages and the OneDL forks): installing mmtwins leaves
the installed one as it is, and a missing or wrong one is one clear ImportError."""
import configparser
import json
import os
import subprocess
import sys

import pytest
from helpers import REPO_ROOT

from mmtwins import stack_check as stack


def _setup_cfg():
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(REPO_ROOT, 'setup.cfg'))
    return cfg


def _names(requirements: str):
    import re
    return {re.split(r'[<>=!~ ;\[]', line.strip())[0].lower()
            for line in requirements.splitlines() if line.strip()}


def test_no_stack_package_is_required():
    """mmdet and mmseg keep mmcv and mmengine in an extra; so do we, for both stacks."""
    cfg = _setup_cfg()
    stack_dists = {d for pair in stack.DISTRIBUTIONS.values() for d in pair}
    assert not _names(cfg['options']['install_requires']) & (stack_dists | {'torch'})
    extras = cfg['options.extras_require']
    assert not _names(extras['tests']) & stack_dists
    assert _names(extras['mim']) == {'mmengine', 'mmcv'}
    assert {'onedl-mmengine', 'onedl-mmcv', 'onedl-mmdetection',
            'onedl-mmsegmentation'} <= _names(extras['onedl'])


@pytest.mark.slow  # pip in a subprocess
@pytest.mark.parametrize('target', ['.', '.[tests]'])
def test_installing_mmtwins_leaves_the_stack_as_it_is(target):
    """pip's own plan for installing this checkout into the running environment (whichever
    stack it holds): nothing but mmtwins itself, nothing from the index."""
    proc = subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--dry-run', '--no-index', '--quiet',
         '--no-build-isolation', '--report', '-', '-e', target], cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    planned = sorted(item['metadata']['name'] for item in report['install'])
    assert planned == ['mmtwins'], planned


def test_the_running_stack_is_named():
    name = stack.stack_name()
    assert name in ('OpenMMLab', 'OneDL'), stack.describe()
    for module in ('mmengine', 'mmcv', 'mmdet', 'mmseg'):
        (dist, version), = stack.installed(module)  # exactly one distribution each
        assert dist.startswith('onedl-') == (name == 'OneDL')
        assert dist in stack.describe() and version in stack.describe()
    assert stack.problems() == [] and stack.duplicates() == []


def test_missing_or_wrong_stack_is_one_clear_import_error(monkeypatch):
    monkeypatch.setattr(stack, 'installed', lambda module: [])
    monkeypatch.setattr(stack.importlib.util, 'find_spec',
                        lambda name: None if name == 'mmcv' else object())
    with pytest.raises(ImportError) as info:
        stack.check()
    message = str(info.value)
    assert message.startswith('mmtwins cannot run here: mmcv is not installed. Install one')
    assert 'MMTWINS_STACK=onedl' in message and 'mmtwins[onedl]' in message

    monkeypatch.setattr(stack, 'installed', lambda module: {
        'mmengine': [('onedl-mmengine', '1.2.0')], 'mmcv': [('mmcv', '1.7.2')]}[module])
    with pytest.raises(ImportError) as info:
        stack.check()
    message = str(info.value)
    assert 'onedl-mmengine 1.2.0 is installed; mmtwins needs mmengine >= 0.10.0, < 1.0.0' \
        in message
    assert 'mmcv 1.7.2 is installed; mmtwins needs mmcv >= 2.0.0, < 3.0.0' in message


def test_two_distributions_of_one_module_are_a_known_issue(monkeypatch):
    both = {'mmcv': [('mmcv', '2.1.0'), ('onedl-mmcv', '2.3.6')]}
    monkeypatch.setattr(stack, 'installed', lambda module: both.get(module, []))
    assert stack.stack_name() == 'mixed'
    issue, = stack.duplicates()
    assert issue.startswith('mmcv is installed twice (mmcv and onedl-mmcv)')


@pytest.mark.slow  # the set-up script in a subprocess
def test_setup_refuses_to_mix_the_stacks():
    """Asked for the other stack in this environment's virtualenv, tools/setup.sh stops before
    installing anything."""
    other = 'openmmlab' if stack.stack_name() == 'OneDL' else 'onedl'
    env = dict(os.environ, MMTWINS_STACK=other, MMTWINS_VENV=sys.prefix)
    proc = subprocess.run(['bash', os.path.join(REPO_ROOT, 'tools', 'setup.sh')], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    installed_mmcv = ' '.join(stack.installed('mmcv')[0])
    assert f'holds the other stack ({installed_mmcv})' in proc.stderr
    assert '3/6' not in proc.stdout  # stopped before torch, mmcv and the rest


def test_setup_names_the_stacks_it_knows(tmp_path):
    env = dict(os.environ, MMTWINS_STACK='onedI', MMTWINS_VENV=str(tmp_path / 'venv'))
    proc = subprocess.run(['bash', os.path.join(REPO_ROOT, 'tools', 'setup.sh')], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert 'MMTWINS_STACK=onedI is not a stack mmtwins knows' in proc.stderr
    assert 'onedl' in proc.stderr and not (tmp_path / 'venv').exists()


def test_mmengine_reads_local_checkpoints_safely_on_either_stack(tmp_path):
    """mmengine's load_checkpoint (load_from, --resume, the hosts' test.py, init_model) with
    mmtwins imported: genuine mmengine and safetensors files load, a file whose unpickling runs
    code is refused without running it (onedl-mmengine alone would retry it with
    weights_only=False), and a missing one is a FileNotFoundError."""
    import numpy as np
    import torch
    from helpers import save_code_executing_checkpoint
    from mmengine.logging.history_buffer import HistoryBuffer
    from mmengine.runner import load_checkpoint
    from safetensors.torch import save_file

    from mmtwins.errors import CheckpointError

    model = torch.nn.Linear(3, 2)
    weights = {k: torch.randn_like(v) for k, v in model.state_dict().items()}
    genuine = tmp_path / 'iter_2.pth'
    torch.save({'state_dict': weights, 'meta': {'iter': np.int64(2)},
                'message_hub': {'log': HistoryBuffer([1.0, 2.0], [1, 1])}}, genuine)
    load_checkpoint(model, str(genuine))
    assert torch.equal(model.weight, weights['weight'])

    safe = tmp_path / 'model.safetensors'
    save_file({k: v * 2 for k, v in weights.items()}, str(safe))
    load_checkpoint(model, str(safe))
    assert torch.equal(model.weight, weights['weight'] * 2)

    evil, marker = tmp_path / 'evil.pth', tmp_path / 'pwned'
    save_code_executing_checkpoint(evil, marker, state_dict=weights)
    with pytest.raises(CheckpointError, match='refusing to load'):
        load_checkpoint(model, str(evil))
    assert not marker.exists()
    assert torch.equal(model.weight, weights['weight'] * 2)  # untouched

    with pytest.raises(FileNotFoundError, match='no_such.pth'):
        load_checkpoint(model, str(tmp_path / 'no_such.pth'))


def test_mmengine_finds_the_hosts_under_either_distribution_name():
    """mmengine's own pkg:: lookup goes by distribution name (mmsegmentation); a table entry
    naming the other stack's distribution is pointed at the installed one, and only then."""
    from mmengine.config.utils import MODULE2PACKAGE
    from mmengine.utils import get_installed_path, is_installed

    from mmtwins.startup_hook import adopt_renamed_distributions
    for module in ('mmdet', 'mmseg'):
        assert is_installed(MODULE2PACKAGE[module])  # as mmtwins left it: the installed one
        assert get_installed_path(MODULE2PACKAGE[module]).endswith(module)
    (dist, _), = stack.installed('mmseg')
    other = 'mmsegmentation' if dist.startswith('onedl-') else 'onedl-mmsegmentation'
    table = {'mmseg': other, 'mmdet': MODULE2PACKAGE['mmdet'], 'nosuchmodule': 'nosuch'}
    assert adopt_renamed_distributions(table) == [('mmseg', dist)]
    assert table == {'mmseg': dist, 'mmdet': MODULE2PACKAGE['mmdet'], 'nosuchmodule': 'nosuch'}


def test_mmengines_own_lookup_of_a_host_config_without_importing_mmtwins():
    """The start-up hook alone (a script that never imports mmtwins): mmengine.hub.get_config
    goes through mmengine's metafile lookup by distribution name, on either stack."""
    from helpers import run_python
    code = ('import sys\n'
            'from mmengine.hub import get_config\n'
            "cfg = get_config('mmseg::twins/twins_svt-s_uperhead_8xb2-160k_ade20k-512x512.py')\n"
            "print('backbone', cfg.model.backbone.type, 'mmtwins' in sys.modules)\n")
    proc = run_python(['-c', code])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'backbone SVT False' in proc.stdout
