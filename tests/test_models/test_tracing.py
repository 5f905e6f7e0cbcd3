"""Twins traced for export (torch.onnx's TorchScript exporter, which mmdeploy uses): a graph
traced at a size that needs no padding anywhere must still be right at sizes that do, in each
window-padding mode, because the layers take their general path while traced
(mmtwins/models/layers/tracing.py). Checked against the eager model with ONNX Runtime."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import TINY_PCPVT, TINY_SVT

from mmtwins import TwinsPCPVT, TwinsSVT
from mmtwins.deployment.mmdeploy_support import adaptive_avg_pool2d__exact
from mmtwins.models.layers.tracing import is_tracing

ort = pytest.importorskip('onnxruntime')

# 224: every stage map (56, 28, 14, 7) is a multiple of the window (7) and of its GSA
# reduction (8, 4, 2, 1), so eagerly nothing is padded or masked at the traced size
TRACED = (224, 224)
# ... and at each of these something is: LSA windows, GSA reductions, patch embedding
OTHER_SIZES = [(256, 288), (197, 237), (61, 93)]


def _export_dynamic(model, path, size=TRACED):
    x = torch.randn(2, 3, *size)
    names = [f'level{i}' for i in range(4)]
    axes = {'image': {0: 'b', 2: 'h', 3: 'w'}}
    axes.update({n: {0: 'b', 2: f'{n}h', 3: f'{n}w'} for n in names})
    with torch.no_grad():
        torch.onnx.export(model, (x,), str(path), input_names=['image'], output_names=names,
                          opset_version=17, dynamo=False, dynamic_axes=axes)
    return ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])


def _check_sizes(model, session, sizes=OTHER_SIZES):
    for h, w in sizes:
        x = torch.randn(1, 3, h, w)
        got = session.run(None, {'image': x.numpy()})
        with torch.no_grad():
            want = model(x)
        for g, t in zip(got, want):
            assert g.shape == tuple(t.shape), (h, w)
            err = np.abs(g - t.numpy()).max() / np.abs(t.numpy()).max()
            assert err < 1e-4, (h, w, err)


@pytest.mark.parametrize('window_padding', ['mask', 'zero', 'mmseg'])
def test_svt_traced_without_padding_is_right_where_padding_is_needed(tmp_path, window_padding):
    model = TwinsSVT(**TINY_SVT, window_padding=window_padding).eval()
    # non-zero biases, so that zero padding (padded tokens project to the biases) is visible
    for p in model.parameters():
        if p.dim() == 1:
            torch.nn.init.normal_(p, std=0.5)
    _check_sizes(model, _export_dynamic(model, tmp_path / 'svt.onnx'))


def test_pcpvt_traced_without_padding_is_right_where_padding_is_needed(tmp_path):
    model = TwinsPCPVT(**TINY_PCPVT).eval()
    _check_sizes(model, _export_dynamic(model, tmp_path / 'pcpvt.onnx'))


def test_attention_is_the_math_path_while_traced():
    """Exporters (and mmdeploy's SDPA rewriter, which fails on boolean masks) see matmul +
    softmax: no scaled_dot_product_attention in the traced graph, whatever the setting."""
    model = TwinsSVT(**TINY_SVT, attn_impl='sdpa').eval()
    graph = torch.jit.trace(model, torch.randn(1, 3, 64, 64), check_trace=False).inlined_graph
    kinds = {node.kind() for node in graph.nodes()}
    assert 'aten::scaled_dot_product_attention' not in kinds
    assert 'aten::softmax' in kinds
    assert not is_tracing()


@pytest.mark.parametrize('size', [(7, 7), (13, 17), (20, 11), (6, 6), (1, 5)])
@pytest.mark.parametrize('output_size', [1, 2, 3, 6])
def test_exact_adaptive_pooling_equals_torch_at_any_size(size, output_size):
    """The pooling mmtwins exports for UPerHead's pyramid (mmdeploy's is exact only at the
    export size): PyTorch's bins at every size, also where they overlap."""
    x = torch.randn(2, 3, *size)
    torch.testing.assert_close(adaptive_avg_pool2d__exact(x, output_size),
                               F.adaptive_avg_pool2d(x, output_size), rtol=1e-5, atol=1e-6)
