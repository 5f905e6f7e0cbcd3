"""Tiny synthetic datasets in the exact COCO and ADE20K directory layouts.

They exist so that configs, pipelines and whole train/test loops can be exercised end to end
without downloading anything, on scenes simple enough that a small model actually learns them.

    python -m mmtwins.utils.toydata all --out data/toy      # -> data/toy/coco, data/toy/ade

COCO (``make_toy_coco``)::

    root/annotations/instances_{train,val}2017.json
    root/{train,val}2017/<image id:012d>.jpg

Objects of three real COCO classes, with their real ids, on a noisy grey background:
``sports ball`` (37, orange disks), ``kite`` (38, green triangles) and ``tv`` (72, blue
rectangles). ``categories`` lists all 80 COCO categories, as the real files do, so mmdet's
default 80-class ``CocoDataset`` gives them labels 32, 33 and 62. Objects never overlap, so
each mask is the whole polygon and ``bbox`` is the polygon's tight box.

ADE20K (``make_toy_ade20k``)::

    root/ADEChallengeData2016/images/{training,validation}/ADE_{train,val}_<i:08d>.jpg
    root/ADEChallengeData2016/annotations/{training,validation}/ADE_{train,val}_<i:08d>.png

Label maps are 8-bit 'L' PNGs holding raw ADE20K indices (0 = other, ignored by mmseg's
``reduce_zero_label``): ``wall`` (1) above a random horizon, ``floor`` (4) below it, and
``tree`` (5), ``person`` (13) and ``car`` (21) standing on the floor; a thin random border is
left as 0. Image and label map are rendered from one rasterisation, so they align exactly.

Everything is deterministic: the same arguments give byte-identical files. Only numpy, Pillow
and the standard library are used.
"""
import argparse
import json
import numbers
import os
import os.path as osp
import re
import sys

import numpy as np
from PIL import Image

# The 80 COCO categories as (id, name, supercategory). All of them go into the JSON, like in
# real COCO: mmdet's CocoDataset numbers labels by enumerating only the category ids present
# in the file, so with just the three used ones "sports ball" would become label 0 ("person"
# in the default 80-class metainfo) instead of 32.
_COCO_SUPER = (
    ('person', 'person'),
    ('vehicle', 'bicycle car motorcycle airplane bus train truck boat'),
    ('outdoor', 'traffic_light fire_hydrant stop_sign parking_meter bench'),
    ('animal', 'bird cat dog horse sheep cow elephant bear zebra giraffe'),
    ('accessory', 'backpack umbrella handbag tie suitcase'),
    ('sports', 'frisbee skis snowboard sports_ball kite baseball_bat baseball_glove skateboard '
               'surfboard tennis_racket'),
    ('kitchen', 'bottle wine_glass cup fork knife spoon bowl'),
    ('food', 'banana apple sandwich orange broccoli carrot hot_dog pizza donut cake'),
    ('furniture', 'chair couch potted_plant bed dining_table toilet'),
    ('electronic', 'tv laptop mouse remote keyboard cell_phone'),
    ('appliance', 'microwave oven toaster sink refrigerator'),
    ('indoor', 'book clock vase scissors teddy_bear hair_drier toothbrush'),
)
_COCO_IDS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
             25, 27, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49,
             50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 67, 70, 72, 73, 74,
             75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90)
COCO_ALL_CATEGORIES = tuple(
    dict(id=cid, name=name.replace('_', ' '), supercategory=sup)
    for cid, (sup, name) in zip(_COCO_IDS, ((sup, n) for sup, names in _COCO_SUPER
                                            for n in names.split())))

# The classes actually drawn, with their real COCO ids (mmdet labels 32, 33 and 62).
COCO_CATEGORIES = (
    dict(id=37, name='sports ball', supercategory='sports', shape='disk', color=(240, 140, 30)),
    dict(id=38, name='kite', supercategory='sports', shape='triangle', color=(40, 190, 60)),
    dict(id=72, name='tv', supercategory='electronic', shape='rectangle', color=(40, 70, 210)),
)

# Raw ADE20K label indices (1-based positions in the 150-class list; 0 = "other").
ADE_CLASSES = (
    dict(id=1, name='wall'),
    dict(id=4, name='floor'),
    dict(id=5, name='tree'),
    dict(id=13, name='person'),
    dict(id=21, name='car'),
)

# Materials used to paint the ADE scenes: (label index, base RGB, noise sigma).
# Several materials may share one label (a car's wheels are still "car").
_ADE_MATERIALS = {
    'other': (0, (15, 15, 15), 4.0),
    'wall': (1, (200, 185, 150), 4.0),
    'floor': (4, (125, 85, 50), 5.0),
    'leaves': (5, (45, 135, 50), 16.0),
    'trunk': (5, (90, 55, 25), 6.0),
    'skin': (13, (230, 180, 150), 4.0),
    'clothes': (13, (200, 40, 80), 5.0),
    'car_body': (21, (40, 80, 205), 4.0),
    'wheel': (21, (65, 65, 75), 4.0),
}
_MATERIAL_NAMES = tuple(_ADE_MATERIALS)

MIN_IMAGE_SIDE = 32
JPEG_QUALITY = 92
_COCO_SPLITS = (('train', 'train2017'), ('val', 'val2017'))
_ADE_SPLITS = (('train', 'training'), ('val', 'validation'))


# ----------------------------------------------------------------------------- validation
def _check_int(name, value, minimum):
    # bool is an Integral too, but passing True as a count is always a mistake.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f'{name} must be an integer, got {value!r}')
    if value < minimum:
        raise ValueError(f'{name} must be >= {minimum}, got {value}')
    return int(value)


def _check_size(image_size):
    if isinstance(image_size, (str, bytes)) or not hasattr(image_size, '__len__') \
            or len(image_size) != 2:
        raise ValueError(f'image_size must be a pair (height, width), got {image_size!r}')
    height = _check_int('image_size[0] (height)', image_size[0], MIN_IMAGE_SIDE)
    width = _check_int('image_size[1] (width)', image_size[1], MIN_IMAGE_SIDE)
    return height, width


def _check_root(root):
    if not isinstance(root, (str, os.PathLike)) or not str(os.fspath(root)):
        raise ValueError(f'root must be a non-empty path, got {root!r}')
    root = os.fspath(root)
    if osp.exists(root) and not osp.isdir(root):
        raise ValueError(f'root exists and is not a directory: {root}')
    return root


# ----------------------------------------------------------------------------- drawing
def _rng(*keys):
    # One independent stream per image: image k is the same whatever the split sizes are.
    return np.random.default_rng([int(k) for k in keys])


def _ngon(cx, cy, rx, ry, n, phase=0.0):
    ang = phase + np.arange(n) * (2 * np.pi / n)
    return np.stack([cx + rx * np.cos(ang), cy + ry * np.sin(ang)], axis=1)


def _rect(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def _fill(canvas, poly, value):
    """Set the pixels of ``canvas`` whose centres lie inside ``poly`` (N x 2, x/y) to value.

    Pixel (row r, col c) covers [c, c+1) x [r, r+1) and is inside iff its centre is (even-odd
    rule). This is the convention pycocotools' rasteriser follows, whereas PIL's
    ImageDraw.polygon also paints every pixel the outline touches (several % larger masks
    for small shapes), so polygons, masks and pixels agree only when drawn this way.
    """
    height, width = canvas.shape[:2]
    xs, ys = poly[:, 0], poly[:, 1]
    c0, c1 = max(int(np.floor(xs.min())), 0), min(int(np.ceil(xs.max())) + 1, width)
    r0, r1 = max(int(np.floor(ys.min())), 0), min(int(np.ceil(ys.max())) + 1, height)
    if c0 >= c1 or r0 >= r1:
        return
    px = np.arange(c0, c1, dtype=np.float64)[None, :] + 0.5
    py = np.arange(r0, r1, dtype=np.float64)[:, None] + 0.5
    inside = np.zeros((r1 - r0, c1 - c0), dtype=bool)
    for i in range(len(poly)):
        x0, y0 = poly[i]
        x1, y1 = poly[(i + 1) % len(poly)]
        if y0 == y1:  # horizontal edges never cross a scan line
            continue
        crosses = (y0 > py) != (y1 > py)
        x_at = x0 + (py - y0) * ((x1 - x0) / (y1 - y0))
        inside ^= crosses & (px < x_at)
    canvas[r0:r1, c0:c1][inside] = value


def _smooth_noise(rng, height, width, cells, channels):
    """Low-frequency noise in [0, 1]: a random coarse grid bilinearly upsampled."""
    grid = rng.random((cells, cells, channels)).astype(np.float32)
    out = np.empty((height, width, channels), dtype=np.float32)
    for ch in range(channels):
        img = Image.fromarray(grid[:, :, ch])
        out[:, :, ch] = np.asarray(img.resize((width, height), Image.BILINEAR))
    return out


def _save_jpeg(array, path):
    # Fixed quality and no chroma subsampling: reproducible bytes and crisp class colours.
    Image.fromarray(array).save(path, format='JPEG', quality=JPEG_QUALITY, subsampling=0,
                                optimize=False)


def _clean_dir(path, pattern):
    """Create ``path`` and remove files a previous run left there (only our own names)."""
    os.makedirs(path, exist_ok=True)
    regex = re.compile(pattern)
    for name in sorted(os.listdir(path)):
        full = osp.join(path, name)
        if regex.fullmatch(name) and osp.isfile(full):
            os.remove(full)


# ----------------------------------------------------------------------------- COCO
def _coco_shape(rng, shape, size):
    """Polygon (centred on the origin) of one object with extent about ``size`` pixels."""
    if shape == 'disk':
        return _ngon(0.0, 0.0, size / 2, size / 2, 24, phase=rng.uniform(0, 2 * np.pi / 24))
    if shape == 'rectangle':
        w, h = size, size * rng.uniform(0.6, 1.0)
        if rng.random() < 0.5:
            w, h = h, w
        return _rect(-w / 2, -h / 2, w / 2, h / 2)
    # Triangle: three points on a circle, roughly 120 degrees apart, random orientation.
    ang = rng.uniform(0, 2 * np.pi) + np.arange(3) * (2 * np.pi / 3) + rng.uniform(-0.3, 0.3, 3)
    rad = size / 2 * rng.uniform(0.85, 1.0, 3)
    return np.stack([rad * np.cos(ang), rad * np.sin(ang)], axis=1)


def _coco_image(rng, index, height, width, max_objects):
    """Render one image; return (RGB uint8 array, list of (category, polygon, area))."""
    side = min(height, width)
    wanted = int(rng.integers(1, max_objects + 1))
    cats = [COCO_CATEGORIES[index % len(COCO_CATEGORIES)]]  # every class shows up early
    cats += [COCO_CATEGORIES[k] for k in rng.integers(0, len(COCO_CATEGORIES), wanted - 1)]

    placed, boxes = [], []
    for cat in cats:
        for _ in range(50):  # rejection sampling: objects never overlap (2 px gap)
            poly = _coco_shape(rng, cat['shape'], rng.uniform(0.15, 0.45) * side)
            lo, hi = poly.min(0), poly.max(0)
            if hi[0] - lo[0] > width - 2 or hi[1] - lo[1] > height - 2:
                continue
            cx = rng.uniform(1 - lo[0], width - 1 - hi[0])
            cy = rng.uniform(1 - lo[1], height - 1 - hi[1])
            # Snap to a 0.2 px grid: the JSON then stores exactly the polygon the pixels were
            # painted from, no vertex sits on a pixel centre (a tie), and pycocotools, which
            # rasterises at 1/5 px, sees the same coordinates.
            poly = np.round((poly + [cx, cy]) * 5) / 5
            box = np.concatenate([poly.min(0), poly.max(0)])
            if all(box[0] > b[2] + 2 or box[2] < b[0] - 2 or box[1] > b[3] + 2
                   or box[3] < b[1] - 2 for b in boxes):
                placed.append((cat, poly))
                boxes.append(box)
                break

    # Background: smooth grey with a slight colour cast plus fine grain.
    grey = 90 + 80 * _smooth_noise(rng, height, width, 5, 1)
    tint = 30 * (_smooth_noise(rng, height, width, 4, 3) - 0.5)
    img = grey + tint + rng.normal(0, 7, (height, width, 3))

    # Paint an instance-id map first and colour from it: later objects would win, and each
    # annotation's area is exactly its painted pixel count.
    ids = np.zeros((height, width), dtype=np.int32)
    for k, (_, poly) in enumerate(placed, start=1):
        _fill(ids, poly, k)
    objects = []
    for k, (cat, poly) in enumerate(placed, start=1):
        yy, xx = np.nonzero(ids == k)
        color = np.array(cat['color'], np.float64) + rng.uniform(-12, 12, 3)
        grad = rng.uniform(-30, 30, 2) / side
        if len(yy) == 0:  # a sliver that covers no pixel centre would be an empty mask
            continue
        # Mild linear shading so that objects are not flat colour.
        shade = grad[0] * (xx - xx.mean()) + grad[1] * (yy - yy.mean())
        img[yy, xx] = color + shade[:, None] + rng.normal(0, 5, (len(yy), 3))
        objects.append((cat, poly, float(len(yy))))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), objects


def make_toy_coco(root, num_train=16, num_val=8, image_size=(128, 160), seed=0,
                  max_objects=4):
    """Write a tiny COCO-format detection/instance-segmentation dataset under ``root``.

    Args:
        root (str | PathLike): output directory (created; files it wrote before are replaced).
        num_train (int): images in ``train2017``. Default 16.
        num_val (int): images in ``val2017``. Default 8.
        image_size (tuple[int, int]): (height, width), each >= 32. Default (128, 160).
        seed (int): non-negative random seed; the same seed gives byte-identical files.
        max_objects (int): at most this many objects per image (at least one). Default 4.

    Returns:
        dict: ``root``, ``ann_files`` and ``img_dirs`` (per split), ``num_images`` and
        ``num_annotations`` (per split), ``classes`` (names) and ``category_ids``.
    """
    root = _check_root(root)
    num_images = dict(train=_check_int('num_train', num_train, 1),
                      val=_check_int('num_val', num_val, 1))
    height, width = _check_size(image_size)
    seed = _check_int('seed', seed, 0)
    max_objects = _check_int('max_objects', max_objects, 1)

    categories = [dict(c) for c in COCO_ALL_CATEGORIES]
    ann_dir = osp.join(root, 'annotations')
    os.makedirs(ann_dir, exist_ok=True)
    summary = dict(root=root, ann_files={}, img_dirs={}, num_images=num_images,
                   num_annotations={}, classes=[c['name'] for c in COCO_CATEGORIES],
                   category_ids=[c['id'] for c in COCO_CATEGORIES])
    # Image and annotation ids are unique across both splits, as in real COCO.
    image_id, ann_id = 0, 0
    for split_idx, (split, dirname) in enumerate(_COCO_SPLITS):
        img_dir = osp.join(root, dirname)
        _clean_dir(img_dir, r'\d{12}\.jpg')
        images, annotations = [], []
        for i in range(num_images[split]):
            image_id += 1
            rng = _rng(seed, 0, split_idx, i)
            pixels, objects = _coco_image(rng, i, height, width, max_objects)
            file_name = f'{image_id:012d}.jpg'
            _save_jpeg(pixels, osp.join(img_dir, file_name))
            images.append(dict(id=image_id, file_name=file_name, height=height, width=width))
            for cat, poly, area in objects:
                ann_id += 1
                (x0, y0), (x1, y1) = poly.min(0), poly.max(0)
                annotations.append(dict(
                    id=ann_id, image_id=image_id, category_id=cat['id'],
                    bbox=[round(float(x0), 2), round(float(y0), 2),
                          round(float(x1 - x0), 2), round(float(y1 - y0), 2)],
                    area=area, iscrowd=0,
                    segmentation=[[round(float(v), 2) for v in poly.ravel()]]))
        data = dict(info=dict(description='mmtwins toy COCO', version='1.0'), licenses=[],
                    images=images, annotations=annotations, categories=categories)
        ann_file = osp.join(ann_dir, f'instances_{dirname}.json')
        with open(ann_file, 'w', encoding='utf-8') as f:
            json.dump(data, f, separators=(',', ':'))
        summary['ann_files'][split] = ann_file
        summary['img_dirs'][split] = img_dir
        summary['num_annotations'][split] = len(annotations)
    return summary


# ----------------------------------------------------------------------------- ADE20K
def _ade_objects(rng, index, height, width, horizon):
    """Return a painter-ordered list of parts [(material, polygon), ...] for one scene."""
    kinds = ('tree', 'person', 'car')
    wanted = int(rng.integers(1, 4))
    chosen = [kinds[index % 3]] + [kinds[k] for k in rng.integers(0, 3, wanted - 1)]
    scene = []
    for kind in chosen:
        xf = rng.uniform(0.1, 0.9) * width
        ground = horizon(xf)
        yf = rng.uniform(min(ground + 2, height - 3), height - 2)  # feet on the floor
        if kind == 'tree':
            th = rng.uniform(0.4, 0.65) * height
            cr, trunk_h, tw = th * 0.32, th * 0.4, max(th * 0.08, 2.0)
            parts = [('trunk', _rect(xf - tw / 2, yf - trunk_h, xf + tw / 2, yf)),
                     ('leaves', _ngon(xf, yf - th + cr, cr, cr * 1.1, 20))]
        elif kind == 'person':
            ph = rng.uniform(0.3, 0.5) * height
            hr, bw = ph * 0.12, ph * 0.16
            body_h = ph - 2 * hr
            parts = [('clothes', _ngon(xf, yf - body_h / 2, bw, body_h / 2, 16)),
                     ('skin', _ngon(xf, yf - ph + hr, hr, hr, 12))]
        else:
            cw = rng.uniform(0.3, 0.45) * width
            bh, wr = cw * 0.25, cw * 0.1
            yb = yf - wr * 0.8
            yt = yb - bh
            cabin = np.array([[xf - cw * 0.3, yt], [xf + cw * 0.3, yt],
                              [xf + cw * 0.18, yt - bh * 0.7], [xf - cw * 0.2, yt - bh * 0.7]])
            parts = [('car_body', _rect(xf - cw / 2, yt, xf + cw / 2, yb)),
                     ('car_body', cabin),
                     ('wheel', _ngon(xf - cw * 0.3, yf - wr, wr, wr, 12)),
                     ('wheel', _ngon(xf + cw * 0.3, yf - wr, wr, wr, 12))]
        scene.append((yf, parts))
    # Farther objects (feet higher up) first, so nearer ones occlude them.
    scene.sort(key=lambda item: item[0])
    return [part for _, parts in scene for part in parts]


def _ade_image(rng, index, height, width):
    """Render one scene; return (RGB uint8 image, uint8 label map)."""
    h0 = rng.uniform(0.35, 0.6) * height
    slope = rng.uniform(-0.15, 0.15)

    def horizon(x):
        return h0 + slope * (x - width / 2)

    mat_id = {name: k for k, name in enumerate(_MATERIAL_NAMES)}
    cols = np.arange(width) + 0.5
    rows = np.arange(height)[:, None] + 0.5
    materials = np.where(rows < horizon(cols)[None, :], mat_id['wall'], mat_id['floor'])
    materials = materials.astype(np.uint8)
    for name, poly in _ade_objects(rng, index, height, width, horizon):
        _fill(materials, poly, mat_id[name])
    # A thin border of "other" (label 0) so that ignore handling gets exercised.
    top, bottom, left, right = (int(v) for v in rng.integers(1, 4, 4))
    materials[:top], materials[height - bottom:] = mat_id['other'], mat_id['other']
    materials[:, :left], materials[:, width - right:] = mat_id['other'], mat_id['other']

    to_label = np.array([_ADE_MATERIALS[n][0] for n in _MATERIAL_NAMES], dtype=np.uint8)
    labels = to_label[materials]

    img = np.empty((height, width, 3), dtype=np.float64)
    yy, xx = np.mgrid[0:height, 0:width]
    for k, name in enumerate(_MATERIAL_NAMES):
        sel = materials == k
        if not sel.any():
            continue
        _, base, sigma = _ADE_MATERIALS[name]
        color = np.array(base, np.float64) + rng.uniform(-10, 10, 3)
        pix = color + rng.normal(0, sigma, (int(sel.sum()), 3))
        # Class-specific texture: wallpaper stripes on walls, plank lines on the floor.
        if name == 'wall':
            pix += np.where(xx[sel] % 8 < 4, 6.0, -6.0)[:, None]
        elif name == 'floor':
            pix -= np.where(yy[sel] % 6 == 0, 25.0, 0.0)[:, None]
        img[sel] = pix
    img *= rng.uniform(0.9, 1.1)  # global lighting
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), labels


def make_toy_ade20k(root, num_train=16, num_val=8, image_size=(128, 160), seed=0):
    """Write a tiny ADE20K-format semantic-segmentation dataset under ``root``.

    Files go to ``root/ADEChallengeData2016/{images,annotations}/{training,validation}``;
    pass ``root/ADEChallengeData2016`` as mmseg's ``data_root``.

    Args:
        root (str | PathLike): output directory (created; files it wrote before are replaced).
        num_train (int): training images. Default 16.
        num_val (int): validation images. Default 8.
        image_size (tuple[int, int]): (height, width), each >= 32. Default (128, 160).
        seed (int): non-negative random seed; the same seed gives byte-identical files.

    Returns:
        dict: ``root``, ``data_root``, ``img_dirs`` and ``ann_dirs`` (per split),
        ``num_images`` (per split), ``classes`` (names) and ``label_ids`` (raw ADE indices;
        0 = other is used too).
    """
    root = _check_root(root)
    num_images = dict(train=_check_int('num_train', num_train, 1),
                      val=_check_int('num_val', num_val, 1))
    height, width = _check_size(image_size)
    seed = _check_int('seed', seed, 0)

    data_root = osp.join(root, 'ADEChallengeData2016')
    summary = dict(root=root, data_root=data_root, img_dirs={}, ann_dirs={},
                   num_images=num_images, classes=[c['name'] for c in ADE_CLASSES],
                   label_ids=[c['id'] for c in ADE_CLASSES])
    for split_idx, (split, dirname) in enumerate(_ADE_SPLITS):
        img_dir = osp.join(data_root, 'images', dirname)
        ann_dir = osp.join(data_root, 'annotations', dirname)
        _clean_dir(img_dir, rf'ADE_{split}_\d{{8}}\.jpg')
        _clean_dir(ann_dir, rf'ADE_{split}_\d{{8}}\.png')
        for i in range(num_images[split]):
            rng = _rng(seed, 1, split_idx, i)
            pixels, labels = _ade_image(rng, i, height, width)
            stem = f'ADE_{split}_{i + 1:08d}'
            _save_jpeg(pixels, osp.join(img_dir, stem + '.jpg'))
            Image.fromarray(labels).save(osp.join(ann_dir, stem + '.png'), format='PNG')
        summary['img_dirs'][split] = img_dir
        summary['ann_dirs'][split] = ann_dir
    return summary


# ----------------------------------------------------------------------------- CLI
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write tiny synthetic COCO / ADE20K datasets (deterministic).')
    parser.add_argument('kind', choices=('coco', 'ade20k', 'all'),
                        help="which dataset; 'all' writes OUT/coco and OUT/ade")
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument('--num-train', type=int, default=16, help='training images (16)')
    parser.add_argument('--num-val', type=int, default=8, help='validation images (8)')
    parser.add_argument('--size', type=int, nargs=2, default=(128, 160), metavar=('H', 'W'),
                        help='image height and width (128 160)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (0)')
    return parser.parse_args(argv)


def main(argv=None):
    """Command-line entry point; returns a process exit status."""
    args = parse_args(argv)
    common = dict(num_train=args.num_train, num_val=args.num_val,
                  image_size=tuple(args.size), seed=args.seed)
    try:
        if args.kind in ('coco', 'all'):
            root = osp.join(args.out, 'coco') if args.kind == 'all' else args.out
            info = make_toy_coco(root, **common)
            print(f"toy COCO: {info['num_images']['train']} train / "
                  f"{info['num_images']['val']} val images -> {info['root']} "
                  f"(data_root for mmdet)")
        if args.kind in ('ade20k', 'all'):
            root = osp.join(args.out, 'ade') if args.kind == 'all' else args.out
            info = make_toy_ade20k(root, **common)
            print(f"toy ADE20K: {info['num_images']['train']} train / "
                  f"{info['num_images']['val']} val images -> {info['data_root']} "
                  f"(data_root for mmseg)")
    except ValueError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
