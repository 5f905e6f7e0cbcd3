"""tools/deployment/export_onnx.py: the backbone alone, at any size, run by ONNX Runtime
against PyTorch. (Whole models deploy through mmdeploy: tests/test_tools/test_deploy.py.)"""
import numpy as np
import pytest
import torch
from helpers import REPO_ROOT, run_python

pytestmark = pytest.mark.slow  # exports in subprocesses

ort = pytest.importorskip('onnxruntime')


def test_dynamic_backbone_export_holds_at_other_sizes(tmp_path):
    """--dynamic: one graph for every size (traced where no window needs padding), windows
    and sub-sampling padded or not, any batch size."""
    from mmtwins.models import TwinsSVT
    model = TwinsSVT(arch='small')
    model.init_weights()
    ckpt, out = tmp_path / 'svt.pth', tmp_path / 'svt.onnx'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    proc = run_python(['tools/deployment/export_onnx.py', '--arch', 'svt_s', '--checkpoint',
                       str(ckpt), '--shape', '224', '224', '--dynamic', '--out', str(out),
                       '--check'], cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'at (256, 288)' in proc.stdout and 'at (237, 197)' in proc.stdout
    # a backbone export says how to normalise its input too (docs/deployment.md)
    assert 'input normalisation: RGB (bgr_to_rgb=True), mean [123.675, 116.28, 103.53], ' \
        'std [58.395, 57.12, 57.375]' in proc.stdout
    session = ort.InferenceSession(str(out), providers=['CPUExecutionProvider'])
    model.eval()
    # 128x320: stage 1 padded at the bottom only; 75x131: everywhere; batch 2
    for shape in ((1, 3, 224, 224), (2, 3, 128, 320), (1, 3, 75, 131)):
        x = torch.randn(*shape)
        got = session.run(None, {'image': x.numpy()})
        with torch.no_grad():
            want = model(x)
        for g, w in zip(got, want):
            assert g.shape == tuple(w.shape)
            assert np.abs(g - w.numpy()).max() <= 1e-4 * float(w.abs().max())
