"""Shape buckets (--shape-buckets, ShapeBucketHook): a compiled network sees a few input sizes;
each batch is padded as the hosts' own batch padding would pad it, and their heads read the
padded batch as theirs."""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from helpers import REPO_ROOT
from helpers.config_zoo import build
from mmengine.config import Config
from mmengine.logging import MMLogger

from mmtwins.cli.run import enable_shape_buckets
from mmtwins.engine.shape_buckets import (ShapeBucketHook, auto_buckets, choose_bucket,
                                          parse_bucket, resize_scales)

CONFIGS = osp.join(REPO_ROOT, 'configs')


def test_bucket_sizes_and_choice():
    assert parse_bucket('800x1344') == (800, 1344) and parse_bucket([512, 2048]) == (512, 2048)
    for bad in ('800', '800x', 'axb', (0, 5), None, 800):
        with pytest.raises(ValueError, match='shape bucket'):
            parse_bucket(bad)
    buckets = [(800, 1344), (1344, 800), (800, 1024)]
    assert choose_bucket((800, 1000), buckets) == (800, 1024)  # the smallest that holds it
    assert choose_bucket((600, 1100), buckets) == (800, 1344)
    assert choose_bucket((1000, 700), buckets) == (1344, 800)
    assert choose_bucket((900, 1400), buckets) is None
    from mmtwins.engine.shape_buckets import pad_to_bucket
    listed = dict(inputs=[torch.zeros(3, 5, 5)], data_samples=[])
    assert pad_to_bucket(listed, [(8, 8)]) is listed  # not a stacked batch: unchanged
    padded = pad_to_bucket(dict(inputs=torch.ones(1, 3, 5, 6)), [(8, 8), (6, 6)], 2.0)
    assert padded['inputs'].shape == (1, 3, 6, 6) and padded['inputs'][..., 5, :].eq(2).all()
    with pytest.raises(ValueError, match="'auto' or a list of sizes"):
        ShapeBucketHook(buckets='800x1344')
    assert ShapeBucketHook(buckets=['800x1344', (800, 1344), [96, 64]]).buckets == [
        (96, 64), (800, 1344)]


def test_auto_buckets_hold_every_coco_test_image():
    """'auto' from the COCO test pipeline (Resize to within 1333x800, keep ratio; padding to
    multiples of 32): every image the pipeline makes has a bucket, padded by at most a step of
    the long side; a handful of sizes in all."""
    cfg = Config.fromfile(osp.join(CONFIGS, 'retinanet_twins_svt_s_fpn_1x_coco.py'))
    assert resize_scales(cfg.test_dataloader.dataset.pipeline) == [((1333, 800), True)]
    buckets = auto_buckets(cfg.test_dataloader.dataset.pipeline, divisor=32)
    assert (800, 1344) in buckets and (1344, 800) in buckets and len(buckets) <= 18
    step = max(1344 - 800, 800) / 4 + 32
    for h in range(200, 2000, 37):
        for w in range(200, 2000, 53):
            s = min(1333 / max(h, w), 800 / min(h, w))  # mmcv's keep-ratio rescale
            rh, rw = (int(-(-int(n * s + 0.5) // 32) * 32) for n in (h, w))
            bh, bw = choose_bucket((rh, rw), buckets)
            assert bh - rh <= step and bw - rw <= step, ((h, w), (rh, rw), (bh, bw))
    # test-time augmentation's scales too; nothing to size them from is an error
    tta = [dict(type='TestTimeAug', transforms=[[dict(type='Resize', scale=(640, 480),
                                                      keep_ratio=False),
                                                 dict(type='mmdet.Resize', scale=(1333, 800),
                                                      keep_ratio=True)]])]
    assert (480, 640) in auto_buckets(tta) and (800, 1333) in auto_buckets(tta)
    with pytest.raises(ValueError, match='no Resize with a scale'):
        auto_buckets([dict(type='LoadImageFromFile'), dict(type='Resize', scale_factor=0.5)])


def _runner(model, cfg=None):
    return SimpleNamespace(model=model, cfg=cfg or Config(dict()),
                           logger=MMLogger.get_instance('mmtwins-buckets-test'))


def _det_batch(images):
    from mmdet.structures import DetDataSample
    samples = [DetDataSample(metainfo=dict(img_shape=img.shape[1:], ori_shape=img.shape[1:],
                                           scale_factor=(1.0, 1.0))) for img in images]
    return dict(inputs=list(images), data_samples=samples)


def test_detector_batch_padded_as_mmdets_own_batch_padding():
    """RetinaNet: an image padded to its bucket gives the detections it gets in a batch with a
    larger image (mmdet's batch padding to that size); the heads read the bucket as the batch
    shape; the backbone sees bucket sizes only; the hook leaves nothing behind."""
    cfg = Config.fromfile(osp.join(CONFIGS, 'retinanet_twins_svt_s_fpn_1x_coco.py'))
    cfg.model.test_cfg.score_thr = 0.0  # untrained: keep every box
    model = build(cfg).eval()
    torch.manual_seed(1)
    small = torch.randint(0, 255, (3, 90, 120), dtype=torch.uint8)
    large = torch.randint(0, 255, (3, 128, 160), dtype=torch.uint8)
    with torch.no_grad():
        together = model.test_step(_det_batch([small, large]))[0]
    seen = []
    model.backbone.register_forward_pre_hook(lambda m, a: seen.append(tuple(a[0].shape[-2:])))
    hook = ShapeBucketHook(buckets=[(128, 160), (160, 128)])
    hook.before_test(_runner(model))
    with torch.no_grad():
        alone = model.test_step(_det_batch([small]))[0]
        model.test_step(_det_batch([large.transpose(1, 2)]))
    assert alone.metainfo['batch_input_shape'] == (128, 160)
    assert alone.metainfo['img_shape'] == (90, 120) and alone.metainfo['pad_shape'] == (96, 128)
    assert seen == [(128, 160), (160, 128)]
    a, b = alone.pred_instances, together.pred_instances
    assert len(a) == len(b) == 100
    torch.testing.assert_close(a.scores, b.scores, rtol=1e-4, atol=1e-5)
    # the same boxes (boxes of equal scores may come in either order)
    rows_a, rows_b = (torch.cat([r.scores[:, None], r.bboxes, r.labels[:, None]], 1)
                      for r in (a, b))
    assert torch.cdist(rows_a, rows_b).min(1).values.max() < 0.1  # pixels: fp32 in batch 1 or 2
    hook.after_test(_runner(model))
    seen.clear()
    with torch.no_grad():
        model.test_step(_det_batch([small]))
    assert seen == [(96, 128)]  # removed after the loop: mmdet's own padding only


def test_segmentor_logits_cropped_back_to_the_image():
    """Semantic FPN, whole-image inference: a bucket-padded image gives the logits mmseg gives
    when its own data preprocessor pads to that size, cropped back to the image by mmseg's
    post-processing."""
    from mmseg.structures import SegDataSample
    cfg = Config.fromfile(osp.join(CONFIGS, 'fpn_twins_svt_s_ade20k.py'))
    model = build(cfg).eval()
    torch.manual_seed(2)
    img = torch.randint(0, 255, (3, 72, 100), dtype=torch.uint8)

    def run():
        sample = SegDataSample(metainfo=dict(img_shape=(72, 100), ori_shape=(72, 100)))
        with torch.no_grad():
            return model.test_step(dict(inputs=[img], data_samples=[sample]))[0]
    plain = run()
    model.data_preprocessor.test_cfg = dict(size=(96, 128))  # mmseg's own padding
    theirs = run()
    model.data_preprocessor.test_cfg = None
    hook = ShapeBucketHook(buckets=[(96, 128)])
    hook.before_test(_runner(model))
    ours = run()
    hook.after_test(_runner(model))
    assert ours.metainfo['img_padding_size'] == [0, 28, 0, 24]
    assert ours.seg_logits.data.shape == plain.seg_logits.data.shape == (150, 72, 100)
    torch.testing.assert_close(ours.seg_logits.data, theirs.seg_logits.data)
    # the padding reaches the image's own logits through global attention, as any padding
    assert not torch.equal(ours.seg_logits.data, plain.seg_logits.data)
    # slide inference: one crop size already
    model.test_cfg = dict(mode='slide', crop_size=(64, 64), stride=(48, 48))
    hook.before_test(_runner(model))
    assert hook._handle is None


def test_auto_buckets_from_the_loops_pipeline():
    """buckets='auto': sized from the running loop's pipeline and the data preprocessor's
    divisor when the hook attaches."""
    from torch import nn
    pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(200, 100),
                                                     keep_ratio=True)]
    cfg = Config(dict(test_dataloader=dict(dataset=dict(pipeline=pipeline)),
                      val_dataloader=dict(dataset=dict(pipeline=pipeline[:1]))))
    model = nn.Module()
    model.data_preprocessor = nn.Identity()
    model.data_preprocessor.pad_size_divisor = 32
    hook = ShapeBucketHook()
    assert hook._resolve(_runner(model, cfg), 'test_dataloader') == auto_buckets(pipeline, 32)
    with pytest.raises(ValueError, match='no Resize with a scale'):
        hook.before_val(_runner(model, cfg))


def test_shape_buckets_option():
    """--shape-buckets on tools/test.py and tools/train.py: sizes, or 'auto' without any."""
    from mmtwins.cli import test as test_cmd
    from mmtwins.cli import train as train_cmd
    config = osp.join(CONFIGS, 'retinanet_twins_svt_s_fpn_1x_coco.py')
    assert test_cmd.parse_args([config, 'x.pth', '--shape-buckets', '800x1344', '1344x800'
                                ]).shape_buckets == [(800, 1344), (1344, 800)]
    assert train_cmd.parse_args([config, '--shape-buckets']).shape_buckets == []
    assert test_cmd.parse_args([config, 'x.pth']).shape_buckets is None
    with pytest.raises(SystemExit):
        test_cmd.parse_args([config, 'x.pth', '--shape-buckets', '800by1344'])
    cfg = Config(dict(custom_hooks=[dict(type='ShapeBucketHook', buckets=[(1, 1)]),
                                    dict(type='EMAHook')]))
    enable_shape_buckets(cfg, [(800, 1344)])
    assert cfg.custom_hooks == [dict(type='EMAHook'),
                                dict(type='ShapeBucketHook', buckets=[[800, 1344]])]
    resize = dict(type='Resize', scale=(64, 32), keep_ratio=True)
    cfg.test_dataloader = dict(dataset=dict(pipeline=[resize]))
    enable_shape_buckets(cfg, [])
    assert cfg.custom_hooks[-1] == dict(type='ShapeBucketHook', buckets='auto')
    # 'auto' with nothing to size the buckets from: one clear error before any model is built
    from mmtwins.errors import ConfigError
    cfg.val_dataloader = dict(dataset=dict(pipeline=[dict(type='LoadImageFromFile')]))
    with pytest.raises(ConfigError, match='no Resize with a scale to size them from'):
        enable_shape_buckets(cfg, [], 'val_dataloader')
