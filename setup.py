"""Metadata lives in setup.cfg. This file adds two build steps:

- like OpenMMLab packages, a built wheel carries the configs and tools under ``mmtwins/.mim/``
  (where ``mmtwins::`` and ``mim train mmtwins`` find them); an editable install links
  ``mmtwins/.mim/{configs,tools}`` to the checkout's;
- both put the start-up hook ``mmtwins/startup_hook.py`` into site-packages as
  ``_mmtwins_startup.py`` with ``mmtwins-startup.pth``, so that ``mmtwins::`` in a config works
  in scripts that never import mmtwins (see that file).
"""
import os
import os.path as osp
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))
PTH_LINE = 'import _mmtwins_startup; _mmtwins_startup.install()\n'


# An editable install runs the checkout's hook, so that it never goes stale.
EDITABLE_SHIM = '''\"\"\"mmtwins' start-up hook of an editable install: runs {path}.\"\"\"
import importlib.util as _util

try:
    _spec = _util.spec_from_file_location('_mmtwins_startup_impl', {path!r})
    _impl = _util.module_from_spec(_spec)
    _spec.loader.exec_module(_impl)
    install = _impl.install
except Exception:  # a moved or broken checkout must not break the interpreter's start
    def install():
        pass
'''


def write_startup_hook(site_dir, editable=False):
    os.makedirs(site_dir, exist_ok=True)
    source = osp.join(HERE, 'mmtwins', 'startup_hook.py')
    target = osp.join(site_dir, '_mmtwins_startup.py')
    if editable:
        with open(target, 'w') as f:
            f.write(EDITABLE_SHIM.format(path=source))
    else:
        shutil.copyfile(source, target)
    with open(osp.join(site_dir, 'mmtwins-startup.pth'), 'w') as f:
        f.write(PTH_LINE)


class BuildWithMim(build_py):

    def run(self):
        super().run()
        if self.editable_mode:
            # link the checkout's configs and tools, as OpenMMLab's editable installs do
            mim = osp.join(HERE, 'mmtwins', '.mim')
            os.makedirs(mim, exist_ok=True)
            for name in ('configs', 'tools'):
                link = osp.join(mim, name)
                if not osp.lexists(link):
                    os.symlink(osp.join('..', '..', name), link)
            # setuptools' editable_wheel installs what is under install_lib as it is
            write_startup_hook(self.distribution.get_command_obj('install').install_lib,
                               editable=True)
            return
        mim = osp.join(self.build_lib, 'mmtwins', '.mim')
        for name in ('configs', 'tools'):
            src, dst = osp.join(HERE, name), osp.join(mim, name)
            if osp.isdir(src):
                if osp.isdir(dst):
                    shutil.rmtree(dst)
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        os.makedirs(mim, exist_ok=True)
        write_startup_hook(self.build_lib)


setup(cmdclass={'build_py': BuildWithMim})
