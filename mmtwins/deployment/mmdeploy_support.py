"""mmtwins under mmdeploy: what a Twins model needs to export through mmdeploy 1.3.1 with
torch 2.13, registered through mmdeploy's own rewriter registries (its public extension
point), in this one place.

:func:`register` runs when mmtwins is imported in a process that has imported mmdeploy (as
``mmdeploy.apis.torch2onnx`` does before it builds the model, whose config imports mmtwins)
and when our deploy tool starts. It registers, each only where it is needed:

* ``torch.onnx.export`` inside mmdeploy's export context with ``dynamo=False``: torch >= 2.9
  exports with the dynamo exporter by default, which mmdeploy 1.3.1 does not expect (it
  passes TorchScript-style ``dynamic_axes`` and relies on its rewriters acting during
  tracing). Applied only while torch's default is ``dynamo=True``.
* mmcv's RoIAlign as the standard ONNX ``RoiAlign`` for ONNX Runtime: mmdeploy's symbolic
  imports ``_cast_Long`` from ``torch.onnx.symbolic_opset9``, which torch 2.13 no longer
  has. Applied only where that name is missing.
* ``adaptive_avg_pool2d`` (UPerHead's pyramid pooling) exact at every input size for ONNX
  Runtime: mmdeploy replaces it by an ``avg_pool2d`` whose kernel is fixed at the export
  size, right only there. Ours averages over the same bins as PyTorch (``floor(i*n/k)`` to
  ``ceil((i+1)*n/k)``) computed from the input's shape in the graph.
* ``grid_sample`` (the deformable attention of DINO and Mask2Former on the CPU) as the
  standard ONNX ``GridSample`` for ONNX Runtime (opset >= 16), where mmdeploy emits its own
  ``mmdeploy::grid_sampler``, which needs its custom-op library, built for ONNX Runtime 1.15.
* Cascade R-CNN's box refinement between stages for ONNX Runtime with class-specific
  regression (our cascade configs, from mmdet's ConvNeXt recipe): mmdeploy's rewriter asserts
  class-agnostic heads. Ours refines each RoI with the regression of its predicted class, as
  mmdet's ``regress_by_class`` does, and is mmdeploy's for class-agnostic heads.
* mmseg's ``Mask2FormerHead.predict`` sized by the traced input for ONNX Runtime: it
  upsamples its masks to the metadata's ``pad_shape``, a number fixed at export; the input
  mmdeploy traces is the padded image, so its traced shape is that size at every size.
* mmseg's ``Upsample`` (Semantic FPN's head) with its output size computed in the graph for
  ONNX Runtime: mmseg computes it with ``int()``, which fixes the export size's in the
  graph (wrong logits at every other size). Only whole scale factors; others keep mmseg's.

The Twins layers themselves need nothing from here: while traced they take their general
path (``mmtwins.models.layers.tracing``). A mmdeploy other than :data:`TESTED_MMDEPLOY` gets
a warning naming this module; a fix that cannot apply raises :class:`MMDeployCompatError`.
"""
import importlib
import inspect
import sys
import warnings
from typing import List

import torch

#: the mmdeploy release these fixes were written for and tested with
TESTED_MMDEPLOY = '1.3.1'

_registered: List[str] = []


class MMDeployCompatError(RuntimeError):
    """A fix of this module no longer matches the installed mmdeploy or torch."""


def registered() -> List[str]:
    """The names of the fixes :func:`register` applied in this process."""
    return list(_registered)


def _export_defaults_to_dynamo() -> bool:
    param = inspect.signature(torch.onnx.export).parameters.get('dynamo')
    return param is not None and param.default is True


def _torch_lacks_cast_long() -> bool:
    import torch.onnx.symbolic_opset9 as opset9
    return not hasattr(opset9, '_cast_Long')


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def _roi_align_function():
    import mmcv.ops
    function = getattr(mmcv.ops.roi_align, '__self__', None)
    if not hasattr(function, 'symbolic'):
        raise MMDeployCompatError('mmcv.ops.roi_align is no longer an autograd Function\'s '
                                  'apply: mmtwins.deployment.mmdeploy_support cannot give it '
                                  'an ONNX symbolic')
    return 'mmcv.ops.roi_align.__self__'


def _fixes():
    """Each fix: (name, whether it applies here, how it registers). A new one is a row."""
    from mmdeploy.core import FUNCTION_REWRITER, SYMBOLIC_REWRITER

    def function(path, rewriter, backend='onnxruntime'):
        return lambda: FUNCTION_REWRITER.register_rewriter(func_name=path, backend=backend)(
            rewriter)

    def symbolic(name, rewriter, **kwargs):
        return lambda: SYMBOLIC_REWRITER.register_symbolic(
            name() if callable(name) else name, backend='onnxruntime', **kwargs)(rewriter)

    return [
        ('torch.onnx.export(dynamo=False)', _export_defaults_to_dynamo,
         function('torch.onnx.export', onnx_export__torchscript, backend='default')),
        ('mmcv RoIAlign -> onnx RoiAlign (onnxruntime)', _torch_lacks_cast_long,
         symbolic(_roi_align_function, roi_align__onnxruntime)),
        ('adaptive_avg_pool2d exact at any size (onnxruntime)', lambda: True,
         function('torch.nn.functional.adaptive_avg_pool2d', adaptive_avg_pool2d__exact)),
        ('grid_sample -> onnx GridSample (onnxruntime)', lambda: True,
         symbolic('grid_sampler', grid_sampler__onnx, is_pytorch=True,
                  arg_descriptors=['v', 'v', 'i', 'i', 'i'])),
        ('Cascade R-CNN class-specific refinement (onnxruntime)',
         lambda: _importable('mmdet.models.roi_heads.cascade_roi_head'),
         function(CASCADE_PREDICT_BBOX, cascade_predict_bbox__by_class)),
        ('mmseg Mask2Former masks sized in the graph (onnxruntime)',
         lambda: _importable('mmseg.models.decode_heads.mask2former_head'),
         function(MASK2FORMER_PREDICT, mask2former_predict__dynamic)),
        ('mmseg Upsample sized in the graph (onnxruntime)',
         lambda: _importable('mmseg.models.utils.wrappers'),
         function(MMSEG_UPSAMPLE, mmseg_upsample__dynamic)),
    ]


def register() -> List[str]:
    """Register mmtwins' rewriters with mmdeploy (once per process); returns the names of
    those applied. Raises ImportError without mmdeploy."""
    if _registered:
        return registered()
    import mmdeploy
    version = getattr(mmdeploy, '__version__', '?')
    if version != TESTED_MMDEPLOY:
        warnings.warn(f'mmdeploy {version} is installed; mmtwins.deployment.mmdeploy_support '
                      f'was written for and tested with mmdeploy {TESTED_MMDEPLOY}: check '
                      f'that its fixes still apply (python -m mmtwins.env)', stacklevel=2)
    for name, applies, registration in _fixes():
        if applies():
            registration()
            _registered.append(name)
    return registered()


def register_if_mmdeploy_imported() -> None:
    """What ``import mmtwins`` calls: registers only when mmdeploy is already imported (its
    export builds the model after importing itself), never importing it otherwise."""
    if 'mmdeploy' in sys.modules and not _registered:
        register()


# --- the rewriters ------------------------------------------------------------------------

def onnx_export__torchscript(*args, **kwargs):
    """``torch.onnx.export`` as mmdeploy 1.3.1 expects it: the TorchScript exporter."""
    from mmdeploy.core import FUNCTION_REWRITER
    ctx = FUNCTION_REWRITER.get_context('torch.onnx.export')
    kwargs.setdefault('dynamo', False)
    return ctx.origin_func(*args, **kwargs)


def roi_align__onnxruntime(g, input, rois, output_size, spatial_scale, sampling_ratio,
                           pool_mode, aligned):
    """mmcv's ``roi_align`` as ONNX ``RoiAlign``: ``rois`` ``(K, 5)`` rows are
    ``(batch index, x1, y1, x2, y2)``; ``aligned`` is ONNX's ``half_pixel`` mode (opset >= 16)
    or, below 16, the same half-pixel shift applied to the boxes."""
    from mmdeploy.core import SYMBOLIC_REWRITER
    from mmdeploy.utils import get_ir_config
    ctx = SYMBOLIC_REWRITER.get_context('mmcv.ops.roi_align.__self__')
    opset = get_ir_config(ctx.cfg).get('opset_version', 11)

    def const(values, dtype=torch.long):
        return g.op('Constant', value_t=torch.tensor(values, dtype=dtype))

    index = g.op('Gather', rois, const(0), axis_i=1)  # (K,)
    index = g.op('Cast', index, to_i=7)  # INT64
    boxes = g.op('Gather', rois, const([1, 2, 3, 4]), axis_i=1)  # (K, 4)
    attrs = dict(output_height_i=output_size[0], output_width_i=output_size[1],
                 sampling_ratio_i=sampling_ratio, spatial_scale_f=spatial_scale,
                 mode_s=pool_mode)
    if opset >= 16:
        attrs['coordinate_transformation_mode_s'] = \
            'half_pixel' if aligned else 'output_half_pixel'
    elif aligned:
        boxes = g.op('Sub', boxes, const(0.5 / spatial_scale, torch.float32))
    return g.op('RoiAlign', input, boxes, index, **attrs)


GRID_SAMPLE_MODES = ('bilinear', 'nearest', 'bicubic')  # torch's enum order, ONNX's names
GRID_SAMPLE_PADDING = ('zeros', 'border', 'reflection')


def grid_sampler__onnx(g, input, grid, interpolation_mode, padding_mode, align_corners):
    """``torch.grid_sampler`` as ONNX ``GridSample`` (opset 16's attribute names)."""
    return g.op('GridSample', input, grid, mode_s=GRID_SAMPLE_MODES[interpolation_mode],
                padding_mode_s=GRID_SAMPLE_PADDING[padding_mode],
                align_corners_i=int(align_corners))


def _bin_weights(n, k: int, like: torch.Tensor) -> torch.Tensor:
    """``(k, n)``: row ``i`` averages positions ``floor(i*n/k)`` to ``ceil((i+1)*n/k) - 1``,
    the bins of PyTorch's adaptive pooling; ``n`` may be a traced size."""
    i = torch.arange(k, device=like.device)
    start = torch.div(i * n, k, rounding_mode='floor')
    end = torch.div((i + 1) * n + k - 1, k, rounding_mode='floor')
    pos = torch.arange(n, device=like.device)
    inside = (pos[None, :] >= start[:, None]) & (pos[None, :] < end[:, None])
    return inside.to(like.dtype) / (end - start)[:, None].to(like.dtype)


def adaptive_avg_pool2d__exact(input, output_size):
    """``adaptive_avg_pool2d`` as two matmuls with bin weights built from the input's
    shape: equal to PyTorch's at every size, dynamic in the exported graph."""
    from torch.nn.modules.utils import _pair
    kh, kw = _pair(output_size)
    if kh == 1 and kw == 1:
        return input.mean(dim=(-2, -1), keepdim=True)
    h, w = input.shape[-2], input.shape[-1]
    rows = _bin_weights(h, kh, input)  # (kh, H)
    cols = _bin_weights(w, kw, input)  # (kw, W)
    return rows @ input @ cols.transpose(0, 1)  # (..., kh, kw)


CASCADE_PREDICT_BBOX = 'mmdet.models.roi_heads.cascade_roi_head.CascadeRoIHead.predict_bbox'


def cascade_predict_bbox__by_class(self, x, batch_img_metas, rpn_results_list, rcnn_test_cfg,
                                   rescale=False, **kwargs):
    """``CascadeRoIHead.predict_bbox`` in mmdeploy's batched form (proposals ``(B, N, 5)``
    with scores in the last column; returns the last head's ``predict_by_feat``), refining
    the RoIs between stages with the regression of each RoI's predicted class."""
    from mmdet.structures.bbox import get_box_tensor
    proposals = rpn_results_list[0]  # (B, N, 4 + 1)
    B, N = proposals.shape[:2]
    index = torch.arange(B, device=proposals.device, dtype=proposals.dtype)
    index = index.view(B, 1, 1).expand(B, N, 1)  # (B, N, 1)
    boxes = proposals[..., :4]  # (B, N, 4)
    img_shape = batch_img_metas[0]['img_shape']
    stage_scores = []
    for stage in range(self.num_stages):
        rois = torch.cat([index, boxes], dim=-1).view(B * N, 5)
        out = self._bbox_forward(stage, x, rois, **kwargs)
        cls_score = out['cls_score'].view(B, N, -1)  # (B, N, classes + 1)
        bbox_pred = out['bbox_pred'].view(B, N, -1)  # (B, N, 4) or (B, N, classes * 4)
        stage_scores.append(cls_score)
        if stage == self.num_stages - 1:
            break
        head = self.bbox_head[stage]
        if not head.reg_class_agnostic:
            scores = head.loss_cls.get_activation(cls_score) if head.custom_activation \
                else cls_score
            label = scores[..., :-1].argmax(dim=-1)  # (B, N), background excluded
            dim = head.bbox_coder.encode_size
            cols = label[..., None] * dim + torch.arange(dim, device=label.device)
            bbox_pred = bbox_pred.gather(-1, cols)  # (B, N, 4)
        boxes = get_box_tensor(head.bbox_coder.decode(boxes, bbox_pred, max_shape=img_shape))
    return self.bbox_head[-1].predict_by_feat(
        rois=torch.cat([index, boxes], dim=-1), cls_scores=sum(stage_scores) / len(stage_scores),
        bbox_preds=bbox_pred, batch_img_metas=batch_img_metas, rcnn_test_cfg=rcnn_test_cfg,
        rescale=rescale)


MASK2FORMER_PREDICT = \
    'mmseg.models.decode_heads.mask2former_head.Mask2FormerHead.predict'


def mask2former_predict__dynamic(self, x, batch_img_metas, test_cfg):
    """mmseg's ``Mask2FormerHead.predict`` with ``pad_shape`` the traced input size (mmdeploy
    sets ``img_shape`` to it)."""
    from mmdeploy.core import FUNCTION_REWRITER
    ctx = FUNCTION_REWRITER.get_context(MASK2FORMER_PREDICT)
    metas = [dict(meta, pad_shape=meta['img_shape'], batch_input_shape=meta['img_shape'])
             for meta in batch_img_metas]
    return ctx.origin_func(self, x, metas, test_cfg)


MMSEG_UPSAMPLE = 'mmseg.models.utils.wrappers.Upsample.forward'


def mmseg_upsample__dynamic(self, x):
    """mmseg's ``Upsample.forward`` with the output size a traced multiple of the input's
    (equal to mmseg's ``int(n * factor)`` for whole factors)."""
    from mmdeploy.core import FUNCTION_REWRITER
    from mmseg.models.utils import resize
    ctx = FUNCTION_REWRITER.get_context(MMSEG_UPSAMPLE)
    factor = self.scale_factor
    if self.size or not isinstance(factor, float) or not factor.is_integer():
        return ctx.origin_func(self, x)
    size = [n * int(factor) for n in x.shape[-2:]]
    return resize(x, size, None, self.mode, self.align_corners)


# importing this module (``import mmtwins`` does; mmdeploy's ``codebase_config.module`` list in
# our deploy configs does after mmdeploy is imported) registers when mmdeploy is there
register_if_mmdeploy_imported()
