"""Metadata lives in setup.cfg. This file adds one build step: like OpenMMLab packages, a
built wheel carries the configs and tools under ``mmtwins/.mim/`` (where ``mmtwins::`` and
``mim train mmtwins`` find them); an editable install links ``mmtwins/.mim/{configs,tools}``
to the checkout's."""
import os
import os.path as osp
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))


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
            return
        mim = osp.join(self.build_lib, 'mmtwins', '.mim')
        for name in ('configs', 'tools'):
            src, dst = osp.join(HERE, name), osp.join(mim, name)
            if osp.isdir(src):
                if osp.isdir(dst):
                    shutil.rmtree(dst)
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        os.makedirs(mim, exist_ok=True)


setup(cmdclass={'build_py': BuildWithMim})
