"""Fixtures and tiers of the test suite.

Tiers: tests marked ``slow`` run the tools end to end (training, testing and installs in
subprocesses, on the toy datasets); ``pytest -m "not slow"`` is the quick tier for the
development loop, the full suite is what ``.ci/run`` runs.
"""
import os

import pytest
import torch


def _share_the_cores():
    """Under pytest-xdist, give each worker its share of the cores for torch's threads, in this
    process and in the tools it starts (OMP_NUM_THREADS is inherited): two workers with two
    threads each, plus their subprocesses, on two cores made every run about 1.6x slower
    (OpenMP threads waiting on each other). A value the user set is kept."""
    workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '0') or 0)
    if workers < 1:
        return
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    for name in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        os.environ.setdefault(name, threads)
    torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))


_share_the_cores()


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope='session')
def toy(tmp_path_factory):
    """Tiny toy COCO and ADE20K datasets, shared by the end-to-end tests."""
    from mmtwins.utils.toydata import make_toy_ade20k, make_toy_coco
    root = tmp_path_factory.mktemp('toy')
    make_toy_coco(str(root / 'coco'), num_train=4, num_val=2, seed=1)
    make_toy_ade20k(str(root / 'ade'), num_train=6, num_val=2, seed=1)
    return dict(coco=str(root / 'coco'), ade=str(root / 'ade' / 'ADEChallengeData2016'))


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'slow: end-to-end runs of the tools (training, testing, installs in '
        'subprocesses); the quick tier is -m "not slow"')


# fixtures whose users run tools end to end: the toy datasets, an offline hub interpreter
SLOW_FIXTURES = {'toy', 'offline_run'}


def pytest_collection_modifyitems(config, items):
    """Tests on the toy datasets (and other subprocess runs by fixture) are slow."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, 'fixturenames', ())):
            item.add_marker(pytest.mark.slow)
