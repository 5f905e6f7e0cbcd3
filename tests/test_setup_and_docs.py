"""The set-up script's prerequisite errors and the documented examples."""
import doctest
import os
import subprocess

import pytest
from conftest import REPO_ROOT

import mmtwins.models.backbones.twins as twins_module


def run_setup(env_extra, tmp_path):
    env = dict(os.environ, MMTWINS_VENV=str(tmp_path / 'venv'), **env_extra)
    return subprocess.run(['bash', os.path.join(REPO_ROOT, 'tools', 'setup.sh')], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize('python,message', [
    ('/nonexistent/python3', 'no Python interpreter found'),
    ('/bin/false', 'Python 3.8-3.12 is required'),
])
def test_setup_missing_prerequisite_is_a_clear_error(tmp_path, python, message):
    proc = run_setup({'MMTWINS_PYTHON': python}, tmp_path)
    assert proc.returncode == 1
    assert message in proc.stderr
    assert len(proc.stderr.splitlines()) <= 4, proc.stderr
    assert not (tmp_path / 'venv').exists()


def test_docstring_examples():
    result = doctest.testmod(twins_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 6 and result.failed == 0
