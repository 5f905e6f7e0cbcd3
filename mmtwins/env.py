"""``python -m mmtwins.env``: versions of the stack, mmcv ops, and the device."""
import sys

from mmtwins.utils.collect_env import main

if __name__ == '__main__':
    sys.exit(main())
