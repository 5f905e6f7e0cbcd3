import os
import sys

import pytest
import torch

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(TESTS_DIR)
sys.path.insert(0, TESTS_DIR)

# Small but complete architectures (4 stages, LSA with padding, GSA with sr) for fast tests.
TINY_SVT = dict(embed_dims=[16, 32, 32, 64], depths=[2, 2, 2, 2], num_heads=[1, 2, 2, 4],
                mlp_ratios=[2, 2, 2, 2], sr_ratios=[8, 4, 2, 1], window_sizes=[7, 7, 7, 7])
TINY_PCPVT = {k: v for k, v in TINY_SVT.items() if k != 'window_sizes'}


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def run_python(args, cwd=None, env=None, timeout=600):
    """Run ``python args...`` with this interpreter; return the CompletedProcess."""
    import subprocess
    full_env = dict(os.environ)
    full_env['PYTHONPATH'] = REPO_ROOT + os.pathsep + full_env.get('PYTHONPATH', '')
    full_env.update(env or {})
    return subprocess.run([sys.executable] + list(args), cwd=cwd or REPO_ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
