#!/usr/bin/env python
"""Run a trained detector or segmentor on images and write pictures; see ``--help``.

The same command as ``python -m mmtwins.cli.demo`` and ``mmtwins-demo`` (mmtwins/cli/demo.py);
it needs mmtwins installed in this Python (``bash tools/setup.sh`` installs it into .venv).
"""
import sys

from mmtwins.cli.demo import cli

if __name__ == '__main__':
    sys.exit(cli())
