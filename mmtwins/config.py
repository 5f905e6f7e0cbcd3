"""Teach mmengine's config loader the ``mmtwins::`` prefix (done when mmtwins is imported).

    _base_ = ['mmtwins::upernet_twins_svt_s_ade20k.py']

resolves to mmtwins' shipped configs: ``<package>/.mim/configs`` in an installed wheel (as
OpenMMLab packages ship them), or ``configs/`` next to the package in a source checkout or
editable install. mmengine itself only knows the OpenMMLab packages listed in its
``MODULE2PACKAGE`` and wants a ``/`` after ``::``; our configs are resolved before its own
lookup and without a scope (they carry their own ``default_scope``). Config files are parsed
before their ``custom_imports`` run, so mmtwins must be imported before such a config is
loaded: our tools do it, and in other scripts the installed start-up hook
(:mod:`mmtwins.startup_hook`) does it on the first ``mmtwins::`` path.
"""
import difflib
import os
import os.path as osp
from typing import Optional, Tuple

PREFIX = 'mmtwins::'
PACKAGE_DIR = osp.dirname(osp.abspath(__file__))


def configs_dir() -> str:
    """Where the shipped configs are: the wheel's ``.mim/configs`` or the checkout's."""
    for candidate in (osp.join(PACKAGE_DIR, '.mim', 'configs'),
                      osp.join(osp.dirname(PACKAGE_DIR), 'configs')):
        if osp.isdir(candidate):
            return candidate
    raise FileNotFoundError(
        f'mmtwins configs not found next to {PACKAGE_DIR} (no .mim/configs and no ../configs);'
        f' reinstall mmtwins')


def resolve(name: str) -> str:
    """Absolute path of the shipped config ``name`` (e.g. ``'upernet_twins_svt_s_ade20k.py'``
    or ``'_base_/models/upernet_twins.py'``)."""
    root = configs_dir()
    path = osp.join(root, name)
    if osp.isfile(path):
        return path
    shipped = sorted(os.listdir(root))
    close = difflib.get_close_matches(osp.basename(name), shipped, n=3, cutoff=0.5)
    hint = (' Did you mean ' + ', '.join(PREFIX + c for c in close) + '?') if close else \
        f' The shipped configs are in {root}.'
    raise FileNotFoundError(f'{PREFIX}{name}: no such mmtwins config.{hint}')


def _patch_mmengine() -> None:
    from mmengine.config import Config
    from mmengine.config.utils import MODULE2PACKAGE

    MODULE2PACKAGE.setdefault('mmtwins', 'mmtwins')
    original = Config._get_cfg_path
    if getattr(original, '_mmtwins', False):
        return

    def _get_cfg_path(cfg_path: str, filename: str) -> Tuple[str, Optional[str]]:
        if isinstance(cfg_path, str) and cfg_path.startswith(PREFIX):
            return resolve(cfg_path[len(PREFIX):]), None
        return original(cfg_path, filename)

    _get_cfg_path._mmtwins = True
    Config._get_cfg_path = staticmethod(_get_cfg_path)


_patch_mmengine()
