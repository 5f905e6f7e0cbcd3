"""The lint configured in setup.cfg (flake8, isort) passes on the whole repository."""
import shutil

import pytest
from helpers import REPO_ROOT, run_python

PATHS = ['mmtwins', 'tools', 'tests', 'configs']


@pytest.mark.parametrize('tool,args', [('flake8', []), ('isort', ['--check-only', '--diff'])])
def test_lint(tool, args):
    if shutil.which(tool) is None and run_python(['-m', tool, '--version']).returncode:
        pytest.fail(f'{tool} is not installed: run bash tools/setup.sh (tests extra)')
    proc = run_python(['-m', tool] + args + PATHS, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
