#!/usr/bin/env python
"""Write tiny synthetic COCO / ADE20K datasets for smoke-testing configs.

    python tools/misc/make_toy_data.py all --out data/toy    # data/toy/coco, data/toy/ade
    python tools/misc/make_toy_data.py coco --out data/toy_coco --num-train 32 --size 256 320

See ``mmtwins.utils.toydata`` for the layouts and the classes used.
"""
import sys

from mmtwins.utils.toydata import main

if __name__ == '__main__':
    sys.exit(main())
