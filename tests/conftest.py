"""Fixtures and tiers of the test suite.

Tiers: tests marked ``slow`` run the tools end to end (training, testing and installs in
subprocesses, on the toy datasets); ``pytest -m "not slow"`` is the quick tier for the
development loop, the full suite is what ``.ci/run`` runs.
"""
import pytest
import torch


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
