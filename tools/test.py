#!/usr/bin/env python
"""Evaluate a checkpoint of a detector or segmentor; see ``--help``.

The same command as ``python -m mmtwins.test`` and ``mmtwins-test`` (mmtwins/test.py); it needs
mmtwins installed in this Python (``bash tools/setup.sh`` installs it into .venv).
"""
import sys

from mmtwins.test import cli

if __name__ == '__main__':
    sys.exit(cli())
