"""Shared helpers of mmtwins' tests (importable as ``helpers``: setup.cfg puts ``tests/`` on
pytest's ``pythonpath``). Independent references live in :mod:`helpers.reference_twins`
(a plain Twins) and :mod:`helpers.twins_formats` (writers of the real checkpoint layouts)."""
import importlib.util
import json
import os
import os.path as osp
import pathlib
import subprocess
import sys

import torch

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(TESTS_DIR)
SCRIPTS_DIR = os.path.join(TESTS_DIR, 'scripts')

# Small but complete architectures (4 stages, LSA with padding, GSA with sr) for fast tests.
TINY_SVT = dict(embed_dims=[16, 32, 32, 64], depths=[2, 2, 2, 2], num_heads=[1, 2, 2, 4],
                mlp_ratios=[2, 2, 2, 2], sr_ratios=[8, 4, 2, 1], window_sizes=[7, 7, 7, 7])
TINY_PCPVT = {k: v for k, v in TINY_SVT.items() if k != 'window_sizes'}


def run_python(args, cwd=None, env=None, timeout=600):
    """Run ``python args...`` with this interpreter (mmtwins as installed, no path tricks);
    return the CompletedProcess."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable] + list(args), cwd=cwd or REPO_ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


#: what a gloo rank prints when it aborts in teardown (seen in about one full-suite run in three
#: on a loaded 2-core machine, 2026-12-05, in different 2-process tests; not reproduced alone)
GLOO_ABORT = 'terminate called without an active exception'


def run_two_processes(cmd, work_dir, **kwargs):
    """``subprocess.run(cmd, capture_output=True, text=True, **kwargs)`` for a 2-process
    launch (tools/dist_train.sh), run once more from an empty ``work_dir``, with a warning, if
    a rank aborted with :data:`GLOO_ABORT`; any other failure, or the abort twice, is returned
    as it is."""
    import shutil
    import warnings
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0 and GLOO_ABORT in proc.stderr:
        warnings.warn(f'a rank aborted ({GLOO_ABORT!r}); running {cmd[:3]} once more')
        shutil.rmtree(work_dir, ignore_errors=True)
        proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    return proc


def tool(args, cwd=None, env=None, timeout=900):
    """:func:`run_python` that fails the test, with the tool's output, unless it succeeds."""
    proc = run_python(args, cwd=cwd, env=env, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f'{args} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n'
                             f'{proc.stderr[-5000:]}')
    return proc


def run_scalars(run_dir):
    """Training records (with a loss) of one run: mmengine's vis_data/scalars.json."""
    path = os.path.join(run_dir, 'vis_data', 'scalars.json')
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [r for r in map(json.loads, filter(str.strip, f)) if 'loss' in r]


def scalars(work_dir):
    """Training records of every run in a work dir, in order."""
    runs = sorted(d for d in os.listdir(work_dir) if os.path.isdir(os.path.join(work_dir, d)))
    return [r for run in runs for r in run_scalars(os.path.join(work_dir, run))]


class _CodeExecutingObject:
    """Unpickling it creates ``marker`` (stands for arbitrary code in a hostile file)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def save_code_executing_checkpoint(path, marker, **contents):
    """torch.save ``contents`` plus an object whose unpickling would create ``marker``."""
    torch.save(dict(contents, evil=_CodeExecutingObject(marker)), path)


def host_tool(package, name):
    """Path of the host's own script ``name`` (``train.py``/``test.py``), as its wheel
    installs it: ``<package>/.mim/tools/<name>``."""
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations, f'{package} is not installed'
    path = osp.join(list(spec.submodule_search_locations)[0], '.mim', 'tools', name)
    assert osp.isfile(path), f'{package} has no {name} at {path}'
    return path
