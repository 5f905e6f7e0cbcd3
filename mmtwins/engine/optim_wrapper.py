from contextlib import contextmanager
from typing import Union

import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS
from torch import nn


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """Mixed precision without loss scaling: forward under ``torch.autocast``.

    mmengine's ``AmpOptimWrapper`` is GPU-only; this wrapper also runs on the CPU, where
    ``bfloat16`` autocast needs no loss scaler (bf16 keeps fp32's exponent range). The
    optimizer and master weights stay fp32.

    Args:
        dtype: ``'bfloat16'`` (default) or ``'float16'`` (GPU only: prefer mmengine's
            ``AmpOptimWrapper`` there, which scales the loss).
        device_type: ``'cpu'`` or ``'cuda'``; default: where the model's parameters are.
    """

    def __init__(self, dtype: Union[str, torch.dtype] = 'bfloat16', device_type: str = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.cast_dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
        if self.cast_dtype not in (torch.bfloat16, torch.float16):
            raise ValueError(f'dtype must be bfloat16 or float16, got {dtype!r}')
        self.device_type = device_type

    @contextmanager
    def optim_context(self, model: nn.Module):
        device_type = self.device_type
        if device_type is None:
            param = next(model.parameters(), None)
            device_type = param.device.type if param is not None else 'cpu'
        autocast = torch.autocast(device_type=device_type, dtype=self.cast_dtype)
        with super().optim_context(model), autocast:
            yield
