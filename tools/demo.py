#!/usr/bin/env python
"""Run a trained detector or segmentor on images and write pictures; see ``--help``."""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

from mmtwins.cli.common import run_main  # noqa: E402
from mmtwins.cli.demo import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(run_main(main))
