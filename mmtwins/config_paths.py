"""``mmtwins::`` in configs: ``_base_ = ['mmtwins::upernet_twins_svt_s_ade20k.py']``.

Importing mmtwins installs the resolver of :mod:`mmtwins.startup_hook` (the one module that
changes mmengine's code, and why it must) on mmengine's ``Config``, strictly: it warns outside
the mmengine versions it was written for and raises ImportError where it cannot apply.
"""
from mmengine.config import Config
from mmengine.config.utils import MODULE2PACKAGE

from .startup_hook import PREFIX, configs_dir, install_resolver, resolve

# mmengine's table of packages with configs (``mmengine.hub``, ``mim``) learns our name
MODULE2PACKAGE.setdefault('mmtwins', 'mmtwins')
install_resolver(Config, strict=True)

__all__ = ['PREFIX', 'configs_dir', 'resolve']
