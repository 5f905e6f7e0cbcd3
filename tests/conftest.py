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


@pytest.fixture(scope='session')
def toy(tmp_path_factory):
    """Tiny toy COCO and ADE20K datasets, shared by the end-to-end tests."""
    from mmtwins.toydata import make_toy_ade20k, make_toy_coco
    root = tmp_path_factory.mktemp('toy')
    make_toy_coco(str(root / 'coco'), num_train=4, num_val=2, seed=1)
    make_toy_ade20k(str(root / 'ade'), num_train=6, num_val=2, seed=1)
    return dict(coco=str(root / 'coco'), ade=str(root / 'ade' / 'ADEChallengeData2016'))


def run_scalars(run_dir):
    """Training records (with a loss) of one run: mmengine's vis_data/scalars.json."""
    import json
    path = os.path.join(run_dir, 'vis_data', 'scalars.json')
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [r for r in map(json.loads, filter(str.strip, f)) if 'loss' in r]


def scalars(work_dir):
    """Training records of every run in a work dir, in order."""
    runs = sorted(d for d in os.listdir(work_dir) if os.path.isdir(os.path.join(work_dir, d)))
    return [r for run in runs for r in run_scalars(os.path.join(work_dir, run))]


def save_code_executing_checkpoint(path, marker, **contents):
    """torch.save ``contents`` plus an object whose unpickling would create ``marker``."""
    import pathlib

    class Evil:
        def __reduce__(self):
            return (pathlib.Path.touch, (pathlib.Path(marker),))

    torch.save(dict(contents, evil=Evil()), path)


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'e2e: end-to-end runs of the tools (training, testing, subprocesses); '
        'the quick tier is -m "not e2e"')


def pytest_collection_modifyitems(config, items):
    """Tests on the toy datasets run the tools end to end: they form the e2e tier."""
    for item in items:
        if 'toy' in getattr(item, 'fixturenames', ()):
            item.add_marker(pytest.mark.e2e)
