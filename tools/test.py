#!/usr/bin/env python
"""Evaluate a checkpoint of a detector or segmentor; see ``--help``.

The same command as ``python -m mmtwins.cli.test`` and ``mmtwins-test`` (mmtwins/cli/test.py);
it needs mmtwins installed in this Python (``bash tools/setup.sh`` installs it into .venv).
"""
import sys

from mmtwins.cli.test import cli

if __name__ == '__main__':
    sys.exit(cli())
