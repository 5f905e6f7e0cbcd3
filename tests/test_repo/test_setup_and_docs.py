"""The set-up script's prerequisite errors and the documented examples."""
import doctest
import os
import subprocess

import pytest
from helpers import REPO_ROOT, run_python

import mmtwins.models.backbones.twins as twins_module


def run_setup(env_extra, tmp_path):
    env = dict(os.environ, MMTWINS_VENV=str(tmp_path / 'venv'), **env_extra)
    return subprocess.run(['bash', os.path.join(REPO_ROOT, 'tools', 'setup.sh')], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow  # a tool in a subprocess
@pytest.mark.parametrize('python,message', [
    ('/nonexistent/python3', 'no Python interpreter found'),
    ('/bin/false', 'Python 3.11 is required'),
])
def test_setup_missing_prerequisite_is_a_clear_error(tmp_path, python, message):
    proc = run_setup({'MMTWINS_PYTHON': python}, tmp_path)
    assert proc.returncode == 1
    assert message in proc.stderr
    assert len(proc.stderr.splitlines()) <= 4, proc.stderr
    assert not (tmp_path / 'venv').exists()


def test_python_versions_agree():
    """setup.cfg's python_requires, tools/setup.sh's check and the README name one version."""
    import configparser
    import re
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(REPO_ROOT, 'setup.cfg'))
    low = re.fullmatch(r'>=(\d+)\.(\d+)', cfg['options']['python_requires']).groups()
    with open(os.path.join(REPO_ROOT, 'tools', 'setup.sh')) as f:
        setup = f.read()
    check = re.search(r'sys.exit\(0 if \((\d+), (\d+)\) <= sys.version_info\[:2\] <= '
                      r'\((\d+), (\d+)\) else 1\)', setup).groups()
    assert check[:2] == check[2:] == low
    version = '.'.join(low)
    assert f'Python {version} is required' in setup
    assert f'Programming Language :: Python :: {version}' in cfg['metadata']['classifiers']
    with open(os.path.join(REPO_ROOT, 'README.md')) as f:
        readme = f.read()
    named = set(re.findall(r'Python (3\.\d+(?:-3\.\d+)?)', readme))
    assert named == {version}, named


def test_docstring_examples():
    result = doctest.testmod(twins_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 6 and result.failed == 0


@pytest.mark.slow  # a tool in a subprocess
def test_environment_report():
    proc = run_python(['-m', 'mmtwins.env'])
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    report = dict(line.split(' : ', 1) for line in out.splitlines() if ' : ' in line)
    report = {key.strip(): value for key, value in report.items()}
    assert report['mmcv ops'] == 'load'
    # the device line says what torch sees, on a CPU machine and on a GPU one
    import torch
    assert report['device'].startswith('cuda x' if torch.cuda.is_available() else 'cpu (')
    # the versions of the stack's tested-versions file (tools/stack_env.sh names it)
    from mmtwins import stack_check as stack
    onedl = stack.stack_name() == 'OneDL'
    assert report['stack'].startswith('OneDL (onedl-mmengine' if onedl else 'OpenMMLab (mmengine')
    pins = constraints('constraints-onedl.txt' if onedl else 'constraints.txt')
    assert report['mmdet'] == pins['onedl-mmdetection' if onedl else 'mmdet']
    assert report['mmseg'] == pins['onedl-mmsegmentation' if onedl else 'mmsegmentation']
    assert report['mmengine'] == pins['onedl-mmengine' if onedl else 'mmengine']
    # tools/setup.sh: an editable install with the start-up hook, and openmim
    assert report['mmtwins'].endswith('(editable install)')
    assert report['mmtwins:: hook'].startswith('installed')
    assert report['openmim'] == pins['openmim'] and 'looks for configs' in out
    # torch 2.13 + mmengine 0.10.7: mmengine's own checkpoints are readable once mmtwins is
    # imported, so the weights_only incompatibility is no longer a known issue
    assert report['mmengine checkpoints'].startswith('readable with weights_only=True')
    assert 'known issues:' in out and 'HistoryBuffer' not in out
    # every scheme of mmengine's CheckpointLoader reads with mmtwins' reader
    assert report['checkpoint loaders'].startswith('safe for every scheme')


def constraints(name):
    """``{distribution: version}`` of a tested-versions file in requirements/."""
    with open(os.path.join(REPO_ROOT, 'requirements', name)) as f:
        pins = [line.split('==') for line in f if '==' in line and not line.startswith('#')]
    return {dist.strip().lower(): version.strip() for dist, version in pins}


def test_known_issues_say_what_to_do():
    from mmtwins.utils.collect_env import known_issues
    env = {'mmcv': '2.2.0', 'mmcv ops': 'DO NOT LOAD (ImportError: ...)', 'mmengine': '0.10.7',
           'mmdet': 'not importable (AssertionError: MMCV==2.2.0 is used but incompatible. '
                    'Please install mmcv>=2.0.0rc4, <2.2.0.)', 'mmseg': '1.2.2'}
    text = '\n'.join(known_issues(env))
    assert 'without working compiled ops' in text and 'rebuild mmcv' in text
    # the host's own reason, not a version range of ours that may not apply to this stack
    assert 'mmdet not importable (AssertionError: MMCV==2.2.0 is used but incompatible' in text
    assert 'refuse' not in text
    assert 'bf16' not in text  # no cpu bf16 entry: nothing claimed
    env['cpu bf16'] = 'not native (neither AMX nor AVX512-BF16): bf16 autocast will be slow'
    assert 'CPU bf16 is not native' in '\n'.join(known_issues(env))


def test_cpu_bf16_is_read_from_the_cpu_flags(monkeypatch):
    from mmtwins.utils import cpu
    for flags, native, words in (({'avx2', 'amx_bf16', 'amx_tile'}, True, 'AMX'),
                                 ({'avx512f', 'avx512_bf16'}, True, 'AVX512-BF16'),
                                 ({'avx2', 'fma'}, False, 'slower than fp32'),
                                 (set(), False, 'unknown')):
        monkeypatch.setattr(cpu, 'cpu_flags', lambda flags=flags: flags)
        cpu.cpu_bf16.cache_clear()
        got_native, text = cpu.cpu_bf16()
        assert got_native is native and words in text
    cpu.cpu_bf16.cache_clear()


def test_mmcv_build_script_says_how_to_call_it():
    """tools/build_mmcv_wheel.sh (what tools/setup.sh runs when no cached wheel fits) stops
    with its usage, before building anything, when its arguments are missing."""
    env = dict(os.environ)
    env.pop('PY', None)
    for args in ([], ['mmcv', '2.1.0']):
        proc = subprocess.run(['bash', os.path.join(REPO_ROOT, 'tools', 'build_mmcv_wheel.sh')]
                              + args, env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and proc.stderr.startswith('usage: PY=VENV/bin/python')
