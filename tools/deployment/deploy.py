#!/usr/bin/env python
"""Deploy a trained segmentor or detector through mmdeploy to ONNX Runtime; see ``--help``.

The same command as ``python -m mmtwins.cli.deploy`` and ``mmtwins-deploy``
(mmtwins/cli/deploy.py); it needs mmdeploy (``MMTWINS_DEPLOY=1 bash tools/setup.sh``).
"""
import sys

from mmtwins.cli.deploy import cli

if __name__ == '__main__':
    sys.exit(cli())
