"""``python -m mmtwins.train``: the same as ``tools/train.py``, without a checkout."""
import sys

from .cli.common import run_main
from .cli.train import main

if __name__ == '__main__':
    sys.exit(run_main(main))
