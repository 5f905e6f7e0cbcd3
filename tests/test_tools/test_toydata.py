"""mmtwins.utils.toydata writes tiny COCO / ADE20K datasets that mmdet, mmseg and pycocotools
read."""
import json
import os
import os.path as osp

import numpy as np
import pytest
from helpers import run_python
from PIL import Image

from mmtwins.utils import toydata

SIZE = (64, 80)  # small keeps the tests fast; the generator itself defaults to 128 x 160
COCO_COLORS = {c['id']: np.array(c['color'], np.float64) for c in toydata.COCO_CATEGORIES}
ADE_IDS = {c['name']: c['id'] for c in toydata.ADE_CLASSES}


def _tree(root):
    """{relative path: bytes} of every file under root."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            full = osp.join(dirpath, name)
            with open(full, 'rb') as f:
                out[osp.relpath(full, root)] = f.read()
    return out


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('coco')
    toydata.make_toy_coco(str(root), num_train=6, num_val=3, image_size=SIZE, seed=0)
    return str(root)


@pytest.fixture(scope='module')
def ade_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('ade')
    toydata.make_toy_ade20k(str(root), num_train=6, num_val=3, image_size=SIZE, seed=0)
    return str(root)


# ----------------------------------------------------------------------------- COCO
def test_coco_layout(coco_root):
    assert sorted(os.listdir(coco_root)) == ['annotations', 'train2017', 'val2017']
    assert sorted(os.listdir(osp.join(coco_root, 'annotations'))) == [
        'instances_train2017.json', 'instances_val2017.json']
    image_ids, ann_ids, num_anns = set(), set(), 0
    for split, num in (('train2017', 6), ('val2017', 3)):
        with open(osp.join(coco_root, 'annotations', f'instances_{split}.json')) as f:
            data = json.load(f)
        # All 80 categories are listed (as in real COCO); three of them are used.
        cats = {c['id']: c['name'] for c in data['categories']}
        assert len(cats) == 80 and cats[1] == 'person' and cats[90] == 'toothbrush'
        assert (cats[37], cats[38], cats[72]) == ('sports ball', 'kite', 'tv')
        assert all(set(c) == {'id', 'name', 'supercategory'} for c in data['categories'])
        names = [img['file_name'] for img in data['images']]
        assert sorted(os.listdir(osp.join(coco_root, split))) == sorted(names)
        assert len(names) == num
        for img in data['images']:
            assert img['file_name'] == f"{img['id']:012d}.jpg"
            assert (img['height'], img['width']) == SIZE
            with Image.open(osp.join(coco_root, split, img['file_name'])) as im:
                assert (im.format, im.mode, im.size) == ('JPEG', 'RGB', SIZE[::-1])
            image_ids.add(img['id'])
        per_image = {img['id']: 0 for img in data['images']}
        for ann in data['annotations']:
            assert ann['iscrowd'] == 0 and ann['area'] > 0
            assert len(ann['bbox']) == 4 and all(isinstance(v, float) for v in ann['bbox'])
            assert len(ann['segmentation']) == 1 and len(ann['segmentation'][0]) >= 6
            per_image[ann['image_id']] += 1
            ann_ids.add(ann['id'])
            num_anns += 1
        assert all(1 <= n <= 4 for n in per_image.values())
        # Each class appears in the first three images of a split.
        assert {a['category_id'] for a in data['annotations']} == {37, 38, 72}
    # Ids are unique across both splits, as in real COCO.
    assert len(image_ids) == 9 and len(ann_ids) == num_anns


def test_coco_masks_match_pixels(coco_root):
    from pycocotools.coco import COCO
    for split in ('train2017', 'val2017'):
        coco = COCO(osp.join(coco_root, 'annotations', f'instances_{split}.json'))
        for img_id in coco.getImgIds():
            info = coco.loadImgs(img_id)[0]
            pixels = np.asarray(Image.open(osp.join(coco_root, split, info['file_name'])),
                                np.float64)
            anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id))
            masks = [coco.annToMask(ann).astype(bool) for ann in anns]
            assert np.sum(masks, axis=0).max() == 1  # objects never overlap
            for ann, mask in zip(anns, masks):
                assert mask.sum() > 0
                # The area is the painted pixel count; pycocotools rasterises almost the same
                # pixels (it traces edges on a 1/5 px grid).
                assert abs(mask.sum() - ann['area']) <= max(8, 0.05 * ann['area'])
                mean = pixels[mask].mean(0)
                assert np.abs(mean - COCO_COLORS[ann['category_id']]).max() < 35, ann
                nearest = min(COCO_COLORS, key=lambda k: np.abs(COCO_COLORS[k] - mean).sum())
                assert nearest == ann['category_id']
                # bbox is the polygon's tight box ...
                x, y, w, h = ann['bbox']
                poly = np.reshape(ann['segmentation'][0], (-1, 2))
                assert np.allclose([x, y, x + w, y + h], [*poly.min(0), *poly.max(0)], atol=0.01)
                # ... and the mask's within a pixel. A triangle's sharp tip can poke out up to
                # ~1.9 px past the last pixel centre it covers, hence 2 px for kites.
                rows, cols = np.nonzero(mask)
                tight = [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]
                tol = 2.0 if ann['category_id'] == 38 else 1.0
                assert np.allclose([x, y, x + w, y + h], tight, atol=tol), (ann['bbox'], tight)


def test_coco_loads_in_mmdet(coco_root):
    from mmdet.datasets import CocoDataset
    for split, num in (('train2017', 6), ('val2017', 3)):
        ds = CocoDataset(data_root=coco_root, ann_file=f'annotations/instances_{split}.json',
                         data_prefix=dict(img=f'{split}/'), pipeline=[], test_mode=False)
        classes = ds.metainfo['classes']
        assert len(classes) == 80
        assert [c['name'] for c in toydata.COCO_ALL_CATEGORIES] == list(classes)
        with open(osp.join(coco_root, 'annotations', f'instances_{split}.json')) as f:
            data = json.load(f)
        id2name = {c['id']: c['name'] for c in data['categories']}
        used = {a['category_id'] for a in data['annotations']}
        assert {classes.index(id2name[i]) for i in used} == {32, 33, 62}
        assert len(ds) == num
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            assert osp.isfile(info['img_path'])
            anns = [a for a in data['annotations'] if a['image_id'] == info['img_id']]
            assert len(info['instances']) == len(anns) >= 1
            for inst, ann in zip(info['instances'], anns):
                assert inst['bbox_label'] == classes.index(id2name[ann['category_id']])
                x, y, w, h = ann['bbox']
                assert np.allclose(inst['bbox'], [x, y, x + w, y + h])
                assert inst['ignore_flag'] == 0


def test_coco_deterministic_and_overwrites(tmp_path):
    kwargs = dict(num_train=3, num_val=2, image_size=SIZE)
    a, b, c = (str(tmp_path / n) for n in 'abc')
    summary = toydata.make_toy_coco(a, seed=3, **kwargs)
    toydata.make_toy_coco(b, seed=3, **kwargs)
    toydata.make_toy_coco(c, seed=4, **kwargs)
    assert _tree(a) == _tree(b)
    tree_a, tree_c = _tree(a), _tree(c)
    assert tree_a.keys() == tree_c.keys()
    assert all(tree_a[k] != tree_c[k] for k in tree_a)
    assert summary['num_images'] == dict(train=3, val=2)
    assert summary['classes'] == ['sports ball', 'kite', 'tv']
    assert summary['category_ids'] == [37, 38, 72]
    assert osp.isfile(summary['ann_files']['train'])
    # Rerunning into a used root with fewer images leaves no stale files behind.
    toydata.make_toy_coco(a, num_train=1, num_val=1, image_size=SIZE, seed=3)
    assert sorted(os.listdir(osp.join(a, 'train2017'))) == ['000000000001.jpg']
    assert sorted(os.listdir(osp.join(a, 'val2017'))) == ['000000000002.jpg']
    # The first image does not depend on how many images are requested.
    assert _tree(a)['train2017/000000000001.jpg'] == tree_a['train2017/000000000001.jpg']


def test_coco_smallest_images(tmp_path):
    toydata.make_toy_coco(str(tmp_path), num_train=20, num_val=1, image_size=(32, 32),
                          max_objects=6)
    with open(tmp_path / 'annotations' / 'instances_train2017.json') as f:
        data = json.load(f)
    assert all(a['area'] >= 4 and a['bbox'][2] >= 1 and a['bbox'][3] >= 1
               for a in data['annotations'])
    for a in data['annotations']:
        x, y, w, h = a['bbox']
        assert x >= 0 and y >= 0 and x + w <= 32 and y + h <= 32


# ----------------------------------------------------------------------------- ADE20K
def _ade_pairs(ade_root, split):
    prefix = 'ADE_train' if split == 'training' else 'ADE_val'
    data_root = osp.join(ade_root, 'ADEChallengeData2016')
    imgs = sorted(os.listdir(osp.join(data_root, 'images', split)))
    anns = sorted(os.listdir(osp.join(data_root, 'annotations', split)))
    assert imgs == [f'{prefix}_{i:08d}.jpg' for i in range(1, len(imgs) + 1)]
    assert anns == [n[:-4] + '.png' for n in imgs]
    for name in imgs:
        stem = name[:-4]
        yield (osp.join(data_root, 'images', split, stem + '.jpg'),
               osp.join(data_root, 'annotations', split, stem + '.png'))


def test_ade_layout_and_labels(ade_root):
    assert os.listdir(ade_root) == ['ADEChallengeData2016']
    data_root = osp.join(ade_root, 'ADEChallengeData2016')
    assert sorted(os.listdir(data_root)) == ['annotations', 'images']
    for sub in ('annotations', 'images'):
        assert sorted(os.listdir(osp.join(data_root, sub))) == ['training', 'validation']
    wanted = set(ADE_IDS.values()) | {0}
    assert wanted == {0, 1, 4, 5, 13, 21}
    seen = set()
    materials = toydata._ADE_MATERIALS
    for split, num in (('training', 6), ('validation', 3)):
        pairs = list(_ade_pairs(ade_root, split))
        assert len(pairs) == num
        for img_path, seg_path in pairs:
            with Image.open(img_path) as im, Image.open(seg_path) as seg:
                assert (im.format, im.mode, im.size) == ('JPEG', 'RGB', SIZE[::-1])
                assert (seg.format, seg.mode, seg.size) == ('PNG', 'L', SIZE[::-1])
                pixels, labels = np.asarray(im, np.float64), np.asarray(seg)
            values = set(np.unique(labels).tolist())
            assert values <= wanted and {0, 1, 4} <= values, values
            seen |= values
            # A thin border of "other" (0) surrounds the scene, and nothing else is 0.
            assert (labels[0] == 0).all() and (labels[-1] == 0).all()
            assert (labels[:, 0] == 0).all() and (labels[:, -1] == 0).all()
            assert (labels[4:-4, 4:-4] != 0).all()
            # Pixels agree with the labels: wall, floor and border keep their colours.
            for name in ('wall', 'floor', 'other'):
                label, base, _ = materials[name]
                mean = pixels[labels == label].mean(0)
                assert np.abs(mean - base).max() < 40, (name, mean)
    assert seen == wanted  # every class shows up across the dataset


def test_ade_loads_in_mmseg(ade_root):
    from mmseg.datasets import ADE20KDataset
    data_root = osp.join(ade_root, 'ADEChallengeData2016')
    classes = ADE20KDataset.METAINFO['classes']
    assert {n: classes.index(n) + 1 for n in ADE_IDS} == ADE_IDS
    for split, num in (('training', 6), ('validation', 3)):
        ds = ADE20KDataset(data_root=data_root, pipeline=[],
                           data_prefix=dict(img_path=f'images/{split}',
                                            seg_map_path=f'annotations/{split}'))
        assert len(ds) == num
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            assert osp.isfile(info['img_path']) and osp.isfile(info['seg_map_path'])
            assert info['reduce_zero_label'] is True


def test_ade_deterministic_and_overwrites(tmp_path):
    kwargs = dict(num_train=2, num_val=1, image_size=SIZE)
    a, b, c = (str(tmp_path / n) for n in 'abc')
    summary = toydata.make_toy_ade20k(a, seed=7, **kwargs)
    toydata.make_toy_ade20k(b, seed=7, **kwargs)
    toydata.make_toy_ade20k(c, seed=8, **kwargs)
    tree_a, tree_c = _tree(a), _tree(c)
    assert tree_a == _tree(b)
    assert tree_a.keys() == tree_c.keys() and len(tree_a) == 6
    assert all(tree_a[k] != tree_c[k] for k in tree_a)
    assert summary['data_root'] == osp.join(a, 'ADEChallengeData2016')
    assert summary['classes'] == ['wall', 'floor', 'tree', 'person', 'car']
    assert summary['label_ids'] == [1, 4, 5, 13, 21]
    assert summary['num_images'] == dict(train=2, val=1)
    toydata.make_toy_ade20k(a, num_train=1, num_val=1, image_size=SIZE, seed=7)
    assert sorted(_tree(a)) == sorted(k for k in tree_a if '00000002' not in k)


# ----------------------------------------------------------------------------- errors, CLI
@pytest.mark.parametrize('kwargs,match', [
    (dict(num_train=0), 'num_train'),
    (dict(num_val=0), 'num_val'),
    (dict(num_train=2.5), 'num_train'),
    (dict(num_train=True), 'num_train'),
    (dict(image_size=(16, 160)), 'height'),
    (dict(image_size=(128, 31)), 'width'),
    (dict(image_size=128), 'image_size'),
    (dict(image_size=(128, 160, 3)), 'image_size'),
    (dict(seed=-1), 'seed'),
])
@pytest.mark.parametrize('func', [toydata.make_toy_coco, toydata.make_toy_ade20k])
def test_invalid_arguments(tmp_path, func, kwargs, match):
    with pytest.raises(ValueError, match=match):
        func(str(tmp_path), **kwargs)
    assert os.listdir(tmp_path) == []  # nothing written before validation


def test_invalid_root_and_max_objects(tmp_path):
    with pytest.raises(ValueError, match='max_objects'):
        toydata.make_toy_coco(str(tmp_path), max_objects=0)
    a_file = tmp_path / 'file'
    a_file.write_text('x')
    with pytest.raises(ValueError, match='not a directory'):
        toydata.make_toy_ade20k(str(a_file))


@pytest.mark.slow  # a tool in a subprocess
def test_cli_all(tmp_path):
    proc = run_python(['tools/misc/make_toy_data.py', 'all', '--out', str(tmp_path),
                       '--num-train', '2', '--num-val', '1', '--size', '48', '64'])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert str(tmp_path / 'coco') in proc.stdout
    assert str(tmp_path / 'ade' / 'ADEChallengeData2016') in proc.stdout
    assert sorted(os.listdir(tmp_path / 'coco' / 'train2017')) == [
        '000000000001.jpg', '000000000002.jpg']
    assert os.listdir(tmp_path / 'coco' / 'val2017') == ['000000000003.jpg']
    assert (tmp_path / 'coco' / 'annotations' / 'instances_val2017.json').is_file()
    ade = tmp_path / 'ade' / 'ADEChallengeData2016'
    assert sorted(os.listdir(ade / 'annotations' / 'training')) == [
        'ADE_train_00000001.png', 'ADE_train_00000002.png']
    assert os.listdir(ade / 'images' / 'validation') == ['ADE_val_00000001.jpg']
    with Image.open(ade / 'images' / 'validation' / 'ADE_val_00000001.jpg') as im:
        assert im.size == (64, 48)


@pytest.mark.slow  # a tool in a subprocess
def test_cli_reports_bad_arguments(tmp_path):
    assert toydata.main(['coco', '--out', str(tmp_path), '--num-train', '0']) == 2
    proc = run_python(['-m', 'mmtwins.utils.toydata', 'ade20k', '--out', str(tmp_path),
                       '--size', '8', '8'])
    assert proc.returncode == 2 and 'height' in proc.stderr
