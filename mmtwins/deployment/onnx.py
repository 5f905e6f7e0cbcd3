"""Exporting Twins models to ONNX and running them with ONNX Runtime: the pieces of
tools/deployment/export_onnx.py (and of the benchmark's ONNX rows).

* :class:`SegmentorLogits`: a mmseg encoder-decoder as ``image -> logits`` at input size;
* :class:`DenseHeadOutputs`: a mmdet detector as ``image -> raw dense-head outputs``;
* :func:`build_whole`: a config's whole model with a checkpoint checked as a whole;
* :func:`export`, :func:`ort_session`, :func:`compare`, :func:`normalisation`.
"""
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError


class SegmentorLogits(nn.Module):
    """A mmseg encoder-decoder as ``image -> logits`` at the input's size."""

    def __init__(self, segmentor: nn.Module) -> None:
        super().__init__()
        self.segmentor = segmentor

    def forward(self, image):
        seg = self.segmentor
        logits = seg.decode_head(seg.extract_feat(image))
        return F.interpolate(logits, size=image.shape[2:], mode='bilinear',
                             align_corners=seg.align_corners)


class DenseHeadOutputs(nn.Module):
    """A mmdet detector as ``image -> (cls_score per level..., bbox_pred per level...)``: its
    one-stage head, or the RPN of a two-stage detector."""

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector
        self.head = getattr(detector, 'bbox_head', None) or getattr(detector, 'rpn_head', None)
        if self.head is None or not hasattr(self.head, 'forward'):
            raise ConfigError(f'{type(detector).__name__} has no dense head (bbox_head or '
                              f'rpn_head) to export; export its backbone instead (no --whole)')

    def forward(self, image):
        outs = self.head(self.detector.extract_feat(image))
        return tuple(t for level_outputs in outs[:2] for t in level_outputs)


def build_whole(config: str, checkpoint=None):
    """The config's whole model (eval mode, CPU) with ``checkpoint``'s weights, checked as
    a whole before anything is loaded; returns ``(model, cfg)``."""
    from mmengine.registry import init_default_scope

    from ..checkpoint.whole_model import load_whole_model, read_whole_checkpoint
    from ..cli.config_checks import load_config
    from ..cli.devices import replace_norm_type
    cfg = load_config(config)
    scope = cfg.get('default_scope')
    if scope not in ('mmseg', 'mmdet'):
        raise ConfigError(f'{config}: --whole needs a mmseg or mmdet config '
                          f'(default_scope {scope!r})')
    cfg.model.backbone.init_cfg = None
    replace_norm_type(cfg.model, 'SyncBN', 'BN')
    init_default_scope(scope)
    if scope == 'mmseg':
        from mmseg.registry import MODELS
    else:
        from mmdet.registry import MODELS
    model = MODELS.build(cfg.model)
    if checkpoint:
        load_whole_model(model, read_whole_checkpoint(checkpoint)[1], source=checkpoint)
    else:
        model.init_weights()
    return model.eval(), cfg


# what every Twins checkpoint was trained on (ImageNet statistics, RGB; all our configs)
IMAGENET_PREPROCESSOR = dict(bgr_to_rgb=True, mean=[123.675, 116.28, 103.53],
                             std=[58.395, 57.12, 57.375])


def normalisation(cfg=None) -> str:
    """The input normalisation of ``cfg``'s data preprocessor (ImageNet's without one)."""
    pre = (cfg.model.get('data_preprocessor') if cfg is not None else None) \
        or IMAGENET_PREPROCESSOR
    return (f'RGB (bgr_to_rgb={pre.get("bgr_to_rgb")}), mean {pre.get("mean")}, '
            f'std {pre.get("std")}')


def export(module: nn.Module, x: torch.Tensor, out: str, output_names, opset: int,
           dynamic: bool = False) -> None:
    """``dynamic``: batch size free, and height and width as multiples of 32 (the sizes at
    which Twins' padding takes the branches traced at ``x``'s size, itself a multiple of
    32)."""
    shapes = None
    if dynamic:
        shapes = ({0: torch.export.Dim('batch', min=1, max=1024),
                   2: 32 * torch.export.Dim('h32', min=1, max=512),
                   3: 32 * torch.export.Dim('w32', min=1, max=512)},)
    torch.onnx.export(module, (x,), out, input_names=['image'], output_names=output_names,
                      opset_version=opset, dynamo=True, dynamic_shapes=shapes)


def ort_session(path: str, threads: int = 0):
    import onnxruntime as ort
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


def compare(got, want) -> float:
    """Largest absolute difference over the largest absolute reference value."""
    scale = max(float(w.abs().max()) for w in want) or 1.0
    return max(float(abs(g - w.numpy()).max()) for g, w in zip(got, want)) / scale
