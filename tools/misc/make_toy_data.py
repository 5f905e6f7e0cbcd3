#!/usr/bin/env python
"""Write tiny synthetic COCO / ADE20K datasets for smoke-testing configs.

    python tools/misc/make_toy_data.py all --out data/toy    # data/toy/coco, data/toy/ade
    python tools/misc/make_toy_data.py coco --out data/toy_coco --num-train 32 --size 256 320

See ``mmtwins.toydata`` for the layouts and the classes used.
"""
import os.path as osp
import sys

# Let the script run from a checkout without installing mmtwins or setting PYTHONPATH.
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmtwins.toydata import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
