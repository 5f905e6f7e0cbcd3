#!/usr/bin/env python
"""Train a detector or segmentor with a Twins backbone; see ``--help``.

The same command as ``python -m mmtwins.cli.train`` and ``mmtwins-train`` (mmtwins/cli/train.py);
it needs mmtwins installed in this Python (``bash tools/setup.sh`` installs it into .venv).
"""
import sys

from mmtwins.cli.train import cli

if __name__ == '__main__':
    sys.exit(cli())
