"""Which OpenMMLab stack is installed, and whether mmtwins can run on it.

mmtwins runs on two stacks that install the same modules (``mmengine``, ``mmcv``, ``mmdet``,
``mmseg``) under different distribution names:

* the original OpenMMLab packages (``mmengine``, ``mmcv``, ``mmdet``, ``mmsegmentation``);
* the maintained OneDL forks (``onedl-mmengine``, ``onedl-mmcv``, ``onedl-mmdetection``,
  ``onedl-mmsegmentation``).

Neither is in mmtwins' ``install_requires`` (as mmdet and mmseg keep mmcv and mmengine in an
extra), so installing mmtwins never replaces the stack that is there; :func:`check` tells, at
import time, what is missing and how to install either stack. Everything here uses only the
standard library: it runs before mmengine is imported.
"""
import importlib.util
from importlib import metadata

from .startup_hook import version_tuple  # standard library only, like this module

#: import name -> (original distribution, OneDL distribution)
DISTRIBUTIONS = {
    'mmengine': ('mmengine', 'onedl-mmengine'),
    'mmcv': ('mmcv', 'onedl-mmcv'),
    'mmdet': ('mmdet', 'onedl-mmdetection'),
    'mmseg': ('mmsegmentation', 'onedl-mmsegmentation'),
}
#: what mmtwins itself needs: import name -> [min, max) version
REQUIRED = {
    'mmengine': ((0, 10, 0), (1, 0, 0)),
    'mmcv': ((2, 0, 0), (3, 0, 0)),
}
INSTALL_HINT = ('Install one stack first: the OpenMMLab packages (pip install "mmtwins[mim]", or '
                'mim install mmengine "mmcv>=2.0.0rc4,<2.2.0") or the OneDL forks (pip install '
                '"mmtwins[onedl]"); in a checkout, bash tools/setup.sh sets up either '
                '(MMTWINS_STACK=onedl for the forks).')


def installed(module: str) -> list:
    """``[(distribution, version), ...]`` of the installed distributions of ``module`` that
    mmtwins knows (more than one means two packages write the same files)."""
    found = []
    for dist in DISTRIBUTIONS.get(module, (module, )):
        try:
            found.append((dist, metadata.version(dist)))
        except metadata.PackageNotFoundError:
            pass
    return found


def stack_name() -> str:
    """``'OpenMMLab'``, ``'OneDL'``, ``'mixed'`` (some modules from each) or ``'none'``."""
    kinds = set()
    for module in DISTRIBUTIONS:
        for dist, _ in installed(module):
            kinds.add('OneDL' if dist.startswith('onedl-') else 'OpenMMLab')
    if not kinds:
        return 'none'
    return kinds.pop() if len(kinds) == 1 else 'mixed'


def describe() -> str:
    """One line: the stack's name and each installed distribution with its version."""
    parts = [f'{d} {v}' for module in DISTRIBUTIONS for d, v in installed(module)]
    return f"{stack_name()} ({', '.join(parts) or 'no OpenMMLab packages installed'})"


def problems() -> list:
    """What stops mmtwins from importing on this stack, each with what to do (empty if
    nothing)."""
    found = []
    if importlib.util.find_spec('torch') is None:
        found.append('torch is not installed (install the build for your machine first, see '
                     'https://pytorch.org; mmtwins never installs or replaces it).')
    for module, (low, high) in REQUIRED.items():
        dists = installed(module)
        if not dists:
            if importlib.util.find_spec(module) is None:
                found.append(f'{module} is not installed.')
            continue  # importable without metadata (e.g. a source tree): trust it
        for dist, version in dists:
            if not low <= version_tuple(version) < high:
                found.append(f'{dist} {version} is installed; mmtwins needs {module} >= '
                             f'{".".join(map(str, low))}, < {".".join(map(str, high))}.')
    return found


def duplicates() -> list:
    """Modules that two installed distributions provide (e.g. mmcv and onedl-mmcv): the last
    one installed wins file by file, which leaves a package that is neither."""
    return [f"{module} is installed twice ({' and '.join(d for d, _ in dists)}); uninstall "
            f'one of them and reinstall the other'
            for module in DISTRIBUTIONS if len(dists := installed(module)) > 1]


def check() -> None:
    """Raise ImportError, naming what is missing and how to install it, unless a compatible
    mmengine and mmcv (original or OneDL) are installed."""
    found = problems()
    if found:
        raise ImportError('mmtwins cannot run here: ' + ' '.join(found) + ' ' + INSTALL_HINT)
