"""``python -m mmtwins.demo``: the same as ``tools/demo.py``, without a checkout."""
import sys

from .cli.common import run_main
from .cli.demo import main

if __name__ == '__main__':
    sys.exit(run_main(main))
