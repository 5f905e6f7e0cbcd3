"""Make this example's two small datasets (synthetic stand-ins for your own data):

    python prepare_data.py            # writes data/shapes_coco and data/scenes

* ``data/shapes_coco``: 3 classes in COCO layout (annotations/instances_{train,val}2017.json,
  train2017/, val2017/), for the RetinaNet config;
* ``data/scenes``: 5 classes, images/{train,val}/*.jpg with label maps
  labels/{train,val}/*.png holding 0..4 (255 = ignore), for the UPerNet config.
"""
import argparse
import os
import os.path as osp
import shutil
import tempfile

import numpy as np
from PIL import Image

from mmtwins.utils.toydata import make_toy_ade20k, make_toy_coco

HERE = osp.dirname(osp.abspath(__file__))
# toy ADE20K indices -> this project's 5 classes; 0 ("other") -> ignore
REMAP = {1: 0, 4: 1, 5: 2, 13: 3, 21: 4}


def make_scenes(ade, args):
    make_toy_ade20k(ade, num_train=args.num_train, num_val=args.num_val, seed=12)
    lut = np.full(256, 255, dtype=np.uint8)
    for src, dst in REMAP.items():
        lut[src] = dst
    for split, ade_split in (('train', 'training'), ('val', 'validation')):
        img_dir = osp.join(args.out, 'scenes', 'images', split)
        lbl_dir = osp.join(args.out, 'scenes', 'labels', split)
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(lbl_dir, exist_ok=True)
        src_img = osp.join(ade, 'ADEChallengeData2016', 'images', ade_split)
        src_lbl = osp.join(ade, 'ADEChallengeData2016', 'annotations', ade_split)
        for name in sorted(os.listdir(src_img)):
            stem = osp.splitext(name)[0]
            shutil.move(osp.join(src_img, name), osp.join(img_dir, stem + '.jpg'))
            label = np.asarray(Image.open(osp.join(src_lbl, stem + '.png')))
            Image.fromarray(lut[label]).save(osp.join(lbl_dir, stem + '.png'))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default=osp.join(HERE, 'data'))
    parser.add_argument('--num-train', type=int, default=8)
    parser.add_argument('--num-val', type=int, default=4)
    args = parser.parse_args()
    make_toy_coco(osp.join(args.out, 'shapes_coco'), num_train=args.num_train,
                  num_val=args.num_val, seed=11)
    # the scenes are drawn as toy ADE20K in a temporary folder, then remapped to 5 classes
    with tempfile.TemporaryDirectory() as ade:
        make_scenes(ade, args)
    print(f'wrote {args.out}/shapes_coco (3 classes, COCO layout) and {args.out}/scenes '
          f'(5 classes)')


if __name__ == '__main__':
    main()
