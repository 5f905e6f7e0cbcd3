#!/usr/bin/env python
"""Train a detector or segmentor with a Twins backbone; see ``--help``."""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

from mmtwins.cli.common import run_main  # noqa: E402
from mmtwins.cli.train import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(run_main(main))
