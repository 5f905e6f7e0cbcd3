"""``python -m mmtwins.test``: the same as ``tools/test.py``, without a checkout."""
import sys

from .cli.common import run_main
from .cli.test import main

if __name__ == '__main__':
    sys.exit(run_main(main))
