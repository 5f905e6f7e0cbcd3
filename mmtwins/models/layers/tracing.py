"""Shape-dependent branches under export.

Twins pads token maps whose sides are not multiples of a patch, window or reduction size.
Eagerly, the padding (and the window mask) is skipped when nothing needs padding. A tracing
exporter (torch.onnx's TorchScript exporter, which mmdeploy uses, or ``torch.jit.trace``)
records only the branch taken at the example input's size, so a graph traced at a size that
needs no padding would be wrong at one that does. While tracing, the layers therefore always
take the general path: pad by ``(-n) % size`` (zero when nothing is missing), build the
window mask (all True when nothing is padded) and use the explicit attention (``'math'``),
whose boolean mask exporters and their rewriters handle. The general path computes the same
values as the shortcut at every size.
"""
import torch


def is_tracing() -> bool:
    """True while the model is traced for export (sizes in the graph are then symbolic)."""
    return torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
