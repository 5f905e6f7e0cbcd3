"""Mixed-precision inference: autocast for the network, fp32 for post-processing.

``test_cfg = dict(type='TestLoop', fp16=True)`` (and ``val_cfg``) is mmengine's own switch:
the test loop runs the model under autocast, bf16 on the CPU and fp16 on CUDA. The heads'
post-processing (``predict_by_feat``: box decoding, score thresholds, NMS, resizing of
logits) then also runs in half precision, which moves boxes by pixels on large images and
changes score ties, and mmcv's RoIAlign has no bf16 kernel at all (two-stage detectors stop
with "ROIAlign_forward not implemented for 'BFloat16'"). :func:`keep_postprocessing_fp32`
makes every head's ``predict_by_feat`` and every RoIAlign/RoIPool of one model run with
autocast off on fp32 inputs; :class:`FP32PostProcessingHook` applies it before training,
validation and testing, so that a config gives the same with mmtwins' tools and the hosts'
own ``tools/train.py``/``tools/test.py``.
"""
import contextlib
import functools

import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

_MARK = '_mmtwins_fp32'


def _to_fp32(obj):
    if isinstance(obj, torch.Tensor):
        return obj.float() if obj.dtype in (torch.float16, torch.bfloat16) else obj
    if isinstance(obj, (list, tuple)):
        items = [_to_fp32(o) for o in obj]
        return type(obj)(items) if isinstance(obj, list) or type(obj) is tuple else \
            type(obj)(*items)
    if isinstance(obj, dict):
        return type(obj)((k, _to_fp32(v)) for k, v in obj.items())
    return obj


def _autocast_off():
    stack = contextlib.ExitStack()
    stack.enter_context(torch.autocast('cpu', enabled=False))
    if torch.cuda.is_available():
        stack.enter_context(torch.autocast('cuda', enabled=False))
    return stack


def fp32(fn):
    """``fn`` run with autocast off and its half-precision tensor arguments in fp32."""
    if getattr(fn, _MARK, False):
        return fn

    @functools.wraps(fn)
    def run(*args, **kwargs):
        with _autocast_off():
            return fn(*_to_fp32(args), **_to_fp32(kwargs))
    setattr(run, _MARK, True)
    return run


def _ops_without_half_kernels() -> tuple:
    """mmcv's compiled ops that have no bf16 kernels (mmcv 2.1: RoIAlign, RoIPool)."""
    try:
        from mmcv.ops import RoIAlign, RoIPool
    except Exception:  # mmcv without ops: nothing to protect
        return ()
    return (RoIAlign, RoIPool)


def keep_postprocessing_fp32(model: torch.nn.Module) -> int:
    """Make one model's post-processing and half-unsafe ops run in fp32 under autocast:
    every head's ``predict_by_feat`` and the ``forward`` of mmcv's ``RoIAlign``/``RoIPool``
    layers (which have no bf16 kernel) and of the RoI extractors that hold them are wrapped,
    on this instance only; no class is changed. Returns how many were wrapped now.
    Idempotent."""
    count = 0
    unsafe = _ops_without_half_kernels()
    for module in model.modules():
        # the ops, and mmdet's RoI extractors around them (which allocate their output in
        # the feature maps' dtype before filling it with the ops' results)
        half_unsafe = (unsafe and isinstance(module, unsafe)) or \
            isinstance(getattr(module, 'roi_layers', None), torch.nn.ModuleList)
        if half_unsafe and not getattr(module.forward, _MARK, False):
            module.forward = fp32(module.forward)
            count += 1
        method = getattr(module, 'predict_by_feat', None)
        if method is None or not callable(method) or getattr(method, _MARK, False):
            continue
        module.predict_by_feat = fp32(method)
        count += 1
    return count


@HOOKS.register_module()
class FP32PostProcessingHook(Hook):
    """Before training, validation and testing, make the model's heads post-process, and
    its RoI layers run, in fp32 (see :func:`keep_postprocessing_fp32`): for autocast
    training and ``test_cfg``/``val_cfg`` with ``fp16=True``."""

    priority = 'VERY_LOW'

    def _apply(self, runner) -> None:
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        keep_postprocessing_fp32(model)

    def before_train(self, runner) -> None:
        self._apply(runner)

    def before_val(self, runner) -> None:
        self._apply(runner)

    def before_test(self, runner) -> None:
        self._apply(runner)


def autocast_dtype(device_type: str) -> torch.dtype:
    """The autocast dtype of ``--amp`` on ``device_type``: fp16 on CUDA, bf16 on the CPU
    (with a warning, once, where the CPU has no native bf16)."""
    if device_type == 'cuda':
        return torch.float16
    from mmtwins.utils.cpu import warn_if_bf16_is_slow
    warn_if_bf16_is_slow()
    return torch.bfloat16


__all__ = ['FP32PostProcessingHook', 'keep_postprocessing_fp32', 'autocast_dtype', 'fp32']
