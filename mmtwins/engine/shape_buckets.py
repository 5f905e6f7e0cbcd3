"""Shape buckets for compiled inference: a few input sizes instead of one per image.

A detector's test pipeline resizes each image keeping its aspect ratio (COCO: within
1333x800), and a segmentor's whole-image test does the same (ADE20K: within 2048x512), so
nearly every batch has its own size, and ``torch.compile`` (with ``mode='reduce-overhead'``, a
CUDA graph) records one graph per size: too many to pay off. :class:`ShapeBucketHook` pads
each batch bottom/right, after the data preprocessor, to the smallest of a few bucket sizes
that holds it, and updates what the heads read of the batch's shape, as the hosts' own batch
padding does:

* mmdet: ``batch_input_shape`` (what a batch of several images is padded to); each image's
  ``img_shape`` and ``pad_shape`` stay, so boxes, masks and DETR-style key masks cover the
  image only;
* mmseg: ``pad_shape`` and ``img_padding_size``, which its post-processing crops off before
  resizing the logits back to the image (the same as its data preprocessor's ``test_cfg``
  padding).

With Twins' global attention the padded tokens take part in attention, as they do in any batch
of images of different sizes: predictions equal those of the same image in a batch padded to
the bucket size, not those of the image alone. ``tools/test.py --shape-buckets [HxW ...]``
adds the hook (no sizes: ``'auto'``, from the test pipeline's ``Resize``); in a config,
``custom_hooks = [dict(type='ShapeBucketHook', buckets=[(800, 1344), (1344, 800)])]``.
"""
import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from .compile_hook import inner_network

Size = Tuple[int, int]


def parse_bucket(value) -> Size:
    """``'800x1344'`` or ``(800, 1344)`` -> ``(800, 1344)`` (height, width)."""
    text = value if isinstance(value, str) else None
    try:
        h, w = (int(v) for v in (value.lower().split('x') if text is not None else value))
    except (TypeError, ValueError, AttributeError):
        raise ValueError(f'a shape bucket is HEIGHTxWIDTH (e.g. 800x1344) or (height, width), '
                         f'got {value!r}') from None
    if h <= 0 or w <= 0:
        raise ValueError(f'a shape bucket needs positive sides, got {value!r}')
    return h, w


def choose_bucket(shape: Size, buckets: Sequence[Size]) -> Optional[Size]:
    """The smallest (by area) bucket at least ``shape`` on both sides, or None."""
    h, w = shape
    fits = [b for b in buckets if b[0] >= h and b[1] >= w]
    return min(fits, key=lambda b: (b[0] * b[1], b)) if fits else None


def resize_scales(pipeline) -> List[Tuple[int, int]]:
    """``(scale, keep_ratio)`` of every ``Resize`` with a ``scale`` in a pipeline (nested ones
    of test-time augmentation included); ``scale`` as mmcv writes it, ``(width, height)``."""
    found = []
    if isinstance(pipeline, dict):
        kind = str(pipeline.get('type', '')).split('.')[-1]
        if kind == 'Resize' and pipeline.get('scale') is not None:
            found.append((tuple(pipeline['scale']), bool(pipeline.get('keep_ratio', False))))
        for value in pipeline.values():
            if isinstance(value, (list, tuple, dict)):
                found += resize_scales(value)
    elif isinstance(pipeline, (list, tuple)):
        for item in pipeline:
            if isinstance(item, (list, tuple, dict)):
                found += resize_scales(item)
    return found


def auto_buckets(pipeline, divisor: int = 1, steps: int = 4) -> List[Size]:
    """Buckets for the images a pipeline's ``Resize`` makes. ``scale=(w, h)`` without
    ``keep_ratio``: that size. With ``keep_ratio`` (mmcv: the long side within
    ``max(scale)``, the short one within ``min(scale)``, one of them at its limit): in each
    orientation, the short side at its limit and the long one from the short one's limit to
    its own in ``steps`` equal steps, and the long side at its limit and the short one up to
    its limit in ``steps`` steps; so padding adds at most a step to a side. Sides rounded up
    to ``divisor``."""
    def up(n):
        return int(math.ceil(n / divisor) * divisor)
    buckets = set()
    for scale, keep_ratio in resize_scales(pipeline):
        if not keep_ratio:
            buckets.add((up(scale[1]), up(scale[0])))
            continue
        long, short = max(scale), min(scale)
        for j in range(steps + 1):
            side = up(short + (long - short) * j / steps)  # the short side at its limit
            buckets.update({(up(short), side), (side, up(short))})
        for j in range(1, steps + 1):
            side = up(short * j / steps)  # the long side at its limit
            buckets.update({(side, up(long)), (up(long), side)})
    if not buckets:
        from ..errors import ConfigError
        raise ConfigError('shape buckets "auto": the pipeline has no Resize with a scale to '
                          'size them from; give the sizes, e.g. --shape-buckets 800x1344 '
                          '1344x800')
    return sorted(buckets)


def loader_pipeline(cfg, loader_key: str) -> list:
    """The pipeline of a config's dataloader (``'test_dataloader'``, ``'val_dataloader'``),
    or an empty one."""
    loader = cfg.get(loader_key) or {}
    dataset = (loader.get('dataset') if isinstance(loader, dict) else None) or {}
    return dataset.get('pipeline') or []


def pad_to_bucket(data: dict, buckets: Sequence[Size], pad_value: float = 0) -> dict:
    """A data preprocessor's output with ``inputs`` padded to its bucket and the shape
    metadata of the data samples updated (see the module's notes); unchanged when no bucket
    holds it."""
    inputs = data.get('inputs') if isinstance(data, dict) else None
    if not isinstance(inputs, torch.Tensor) or inputs.dim() != 4:
        return data  # not a stacked batch of images: left as it is
    h, w = inputs.shape[-2:]
    bucket = choose_bucket((h, w), buckets)
    if bucket is None or bucket == (h, w):
        return data
    extra_h, extra_w = bucket[0] - h, bucket[1] - w
    data = dict(data, inputs=F.pad(inputs, (0, extra_w, 0, extra_h), value=pad_value))
    for sample in data.get('data_samples') or []:
        meta = sample.metainfo
        if 'batch_input_shape' in meta:  # mmdet
            sample.set_metainfo(dict(batch_input_shape=bucket))
        else:  # mmseg: cropped off by its post-processing
            left, right, top, bottom = meta.get('img_padding_size',
                                                meta.get('padding_size', (0, 0, 0, 0)))
            sample.set_metainfo(dict(pad_shape=bucket, img_padding_size=[
                left, right + extra_w, top, bottom + extra_h]))
    return data


@HOOKS.register_module()
class ShapeBucketHook(Hook):
    """Pad each validation and test batch to the smallest of ``buckets`` that holds it.

    Args:
        buckets: ``(height, width)`` pairs or ``'HxW'`` strings, or ``'auto'``
            (:func:`auto_buckets` from the loop's pipeline and the data preprocessor's
            ``pad_size_divisor``/``size_divisor``).
        steps: ``'auto'``: steps per side and orientation (:func:`auto_buckets`).
    """

    priority = 'LOW'

    def __init__(self, buckets: Union[str, Sequence] = 'auto', steps: int = 4) -> None:
        if buckets != 'auto':
            if isinstance(buckets, str) or not buckets:
                raise ValueError(f"buckets must be 'auto' or a list of sizes, got {buckets!r}")
            buckets = sorted({parse_bucket(b) for b in buckets})
        self.buckets = buckets
        self.steps = int(steps)
        self._handle = None

    def _resolve(self, runner, loader_key: str) -> List[Size]:
        if self.buckets != 'auto':
            return self.buckets
        net = inner_network(runner.model)
        pre = getattr(net, 'data_preprocessor', None)
        divisor = getattr(pre, 'pad_size_divisor', None) or getattr(pre, 'size_divisor',
                                                                    None) or 1
        return auto_buckets(loader_pipeline(runner.cfg, loader_key), divisor, self.steps)

    def _attach(self, runner, loader_key: str) -> None:
        net = inner_network(runner.model)
        test_cfg = getattr(net, 'test_cfg', None) or {}
        if isinstance(test_cfg, dict) and test_cfg.get('mode') == 'slide':
            runner.logger.info('shape buckets: not needed in slide inference (the network '
                               'sees crops of one size)')
            return
        buckets = self._resolve(runner, loader_key)
        pre = net.data_preprocessor
        pad_value = getattr(pre, 'pad_value', getattr(pre, 'pad_val', 0))

        def pad(module, args, output):
            return pad_to_bucket(output, buckets, pad_value)

        self._handle = pre.register_forward_hook(pad)
        runner.logger.info(f'shape buckets: each batch padded to the smallest of '
                           f'{", ".join(f"{h}x{w}" for h, w in buckets)} that holds it')

    def _detach(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def before_val(self, runner) -> None:
        self._attach(runner, 'val_dataloader')

    def after_val(self, runner) -> None:
        self._detach()

    def before_test(self, runner) -> None:
        self._attach(runner, 'test_dataloader')

    def after_test(self, runner) -> None:
        self._detach()
