"""The fast paths stay correct: torch.compile, bf16 autocast, the benchmark and FLOP tools.

Speed itself is measured by tools/analysis/benchmark.py, not asserted here.
"""
import json
import re

import pytest
import torch
from helpers import TINY_SVT, run_python

from mmtwins.models import TwinsPCPVT, TwinsSVT
from mmtwins.utils.flops import count_flops


def tiny(window_padding='mask'):
    torch.manual_seed(0)
    model = TwinsSVT(arch=TINY_SVT, window_padding=window_padding).eval()
    model.init_weights()
    return model


def test_torch_compile_matches_eager():
    """torch.compile, as the benchmark's compiled rows run it (--compile-mode: specialised to
    the shape, reduce-overhead's CUDA graphs where there is a GPU), gives the eager maps."""
    from mmtwins.benchmark.timing import compiled_infer_fn
    model = tiny()
    x = torch.randn(2, 3, 61, 83)  # padded windows, masks, sr padding
    with torch.no_grad():
        eager = model(x)
    run, prep, diff = compiled_infer_fn(model, x, 'fp32', mode='reduce-overhead')
    assert prep > 0 and diff < 1e-5
    compiled = run()
    assert model._compiled_call_impl is None  # a wrapper: the model itself stays eager
    # tolerance: fp32 with reordered reductions
    for a, b in zip(eager, compiled):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4)


def test_bf16_autocast_on_cpu_close_to_fp32():
    model = tiny()
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        ref = model(x)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            low = model(x)
    # tolerance: bf16 keeps 8 bits of mantissa; relative error of the maps below 5%
    for a, b in zip(ref, low):
        assert b.dtype in (torch.bfloat16, torch.float32)
        err = (b.float() - a).norm() / a.norm()
        assert err < 0.05, err.item()
    # and training under autocast gives finite gradients
    model.train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = sum(o.float().mean() for o in model(x))
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_one_attention_setting(monkeypatch):
    """attn_impl is one setting, resolved per call in one function: 'auto' holds the rules
    (math on the CPU in half precision for short key sequences, SDPA otherwise), 'sdpa' and
    'math' force a kernel;
    fused_attn is timm's spelling of it; nothing else chooses the kernel."""
    import torch.nn.functional as F

    from mmtwins.models.layers import ATTN_IMPLS, attention, resolve_attn_impl
    assert ATTN_IMPLS == ('auto', 'sdpa', 'math')
    fp32, bf16 = torch.zeros(1), torch.zeros(1, dtype=torch.bfloat16)
    assert [resolve_attn_impl(i, fp32) for i in ATTN_IMPLS] == ['sdpa', 'sdpa', 'math']
    assert [resolve_attn_impl(i, bf16) for i in ATTN_IMPLS] == ['math', 'sdpa', 'math']
    # training, by the keys' length: GSA's 1050 keys at 800x1344 take the fused kernel in
    # bf16 too; inference takes the explicit path for any length
    from mmtwins.models.layers.attention import CPU_HALF_MATH_MAX_KEYS as most
    q16 = torch.zeros(1, 1, 4, 8, dtype=torch.bfloat16, requires_grad=True)
    keys = [torch.zeros(1, 1, n, 8, dtype=torch.bfloat16) for n in (49, most, most + 1, 1050)]
    assert [resolve_attn_impl('auto', q16, k) for k in keys] == ['math', 'math', 'sdpa', 'sdpa']
    with torch.no_grad():
        assert [resolve_attn_impl('auto', q16, k) for k in keys] == ['math'] * 4
    assert resolve_attn_impl('auto', q16.detach(), keys[3]) == 'math'  # nothing needs grads
    assert resolve_attn_impl('auto', q16.float(), keys[0].float()) == 'sdpa'
    # on CUDA (the rule, checked without a GPU): fp32 training over GSA's long key sequences
    # takes the explicit path; half precision, inference and short sequences the fused kernel
    from mmtwins.models.layers import auto_kernel
    from mmtwins.models.layers.attention import CUDA_FP32_GRAD_SDPA_MAX_KEYS as cuda_most
    f32, b16, f16 = torch.float32, torch.bfloat16, torch.float16
    assert [auto_kernel('cuda', f32, n, grad=True) for n in (49, 256, cuda_most, cuda_most + 1,
                                                             1050)] == ['sdpa'] * 3 + ['math'] * 2
    assert {auto_kernel('cuda', f32, 1050, grad=False), auto_kernel('cuda', b16, 1050, True),
            auto_kernel('cuda', f16, 1050, True), auto_kernel('cuda', f32, None, True),
            auto_kernel('cpu', f32, 1050, True)} == {'sdpa'}
    # resolve_attn_impl hands the rule the keys' length and whether gradients are needed
    import sys
    seen = []
    monkeypatch.setattr(sys.modules['mmtwins.models.layers.attention'], 'auto_kernel',
                        lambda *a, **kw: seen.append((a, kw)) or 'sdpa')
    qg = torch.zeros(1, 1, 4, 8, requires_grad=True)
    resolve_attn_impl('auto', qg, keys[3].float())
    with torch.no_grad():
        resolve_attn_impl('auto', qg, keys[3].float())
    assert [a[2:] + tuple(kw.values()) for a, kw in seen] == [(1050, True), (1050, False)]
    monkeypatch.undo()
    real, calls = F.scaled_dot_product_attention, []
    monkeypatch.setattr(F, 'scaled_dot_product_attention',
                        lambda *a, **k: calls.append(a[0].dtype) or real(*a, **k))
    q = torch.randn(2, 2, 9, 8, dtype=torch.bfloat16)
    attention(q, q, q, attn_impl='sdpa')
    attention(q.float(), q.float(), q.float(), attn_impl='math')
    assert calls == [torch.bfloat16]

    model = TwinsSVT(arch=TINY_SVT, attn_impl='math')
    attns = [b.attn for st in model.stages for b in st.blocks]
    assert {a.attn_impl for a in attns} == {'math'} and model.fused_attn is False
    model.fused_attn = True
    assert model.attn_impl == 'auto' and {a.attn_impl for a in attns} == {'auto'}
    model.attn_impl = 'sdpa'
    assert {a.attn_impl for a in attns} == {'sdpa'} and model.fused_attn
    assert TwinsSVT(arch=TINY_SVT, fused_attn=False).attn_impl == 'math'
    assert TwinsSVT(arch=TINY_SVT).attn_impl == 'auto'
    with pytest.raises(ValueError, match='disagrees'):
        TwinsSVT(arch=TINY_SVT, fused_attn=False, attn_impl='sdpa')
    with pytest.raises(ValueError, match="attn_impl must be one of"):
        TwinsSVT(arch=TINY_SVT, attn_impl='flash')
    with pytest.raises(ValueError, match="attn_impl must be one of"):
        model.attn_impl = 'flash'


def test_cpu_half_precision_attention_takes_the_plain_path(monkeypatch):
    """On the CPU, bf16 attention skips torch's flash kernel (slower there) for matmul +
    softmax; fp32 keeps it. Both give scaled_dot_product_attention's result."""
    import torch.nn.functional as F

    from mmtwins.models.layers.attention import attention
    real = F.scaled_dot_product_attention
    calls = []
    monkeypatch.setattr(F, 'scaled_dot_product_attention',
                        lambda *a, **k: calls.append(a[0].dtype) or real(*a, **k))
    q, k, v = (torch.randn(6, 2, 49, 32) for _ in range(3))
    mask = torch.rand(6, 1, 1, 49) > 0.3
    mask[..., 0] = True
    want = real(q, k, v, attn_mask=mask)
    assert torch.equal(attention(q, k, v, attn_mask=mask), want) and calls == [torch.float32]
    got = attention(q.bfloat16(), k.bfloat16(), v.bfloat16(), attn_mask=mask)
    assert calls == [torch.float32]  # not called for bf16
    assert got.dtype == torch.bfloat16
    torch.testing.assert_close(got.float(), want, rtol=0.05, atol=0.05)


def test_cpu_attention_over_large_weights_runs_in_query_blocks(monkeypatch):
    """On the CPU without gradients, the explicit path over a weight matrix too large to hold
    at once runs in blocks of queries, with the same values (masks per query or broadcast);
    'auto' in bf16 takes the explicit path without gradients, blocked or not, and the fused
    kernel for these long key sequences when gradients are needed. Not while traced for
    export."""
    import sys

    from mmtwins.models.layers.attention import attention, math_block_rows, resolve_attn_impl
    mod = sys.modules['mmtwins.models.layers.attention']
    q, k, v = (torch.randn(2, 3, n, 16) for n in (300, 70, 70))
    masks = [None, torch.rand(2, 1, 1, 70) > 0.3, torch.rand(2, 3, 300, 70) > 0.3]
    for m in masks[1:]:
        m[..., 0] = True
    with torch.no_grad():
        whole = [attention(q, k, v, m, attn_impl='math') for m in masks]
        assert math_block_rows(q, k) == 0  # 2 x 3 x 300 x 70 x 4 bytes: held at once
        # weights above 64 kB run in blocks of 16 kB: 16384 // (6 x 70 x 4) = 9 queries
        monkeypatch.setattr(mod, 'CPU_ATTN_WHOLE_MAX_BYTES', 2**16)
        monkeypatch.setattr(mod, 'CPU_ATTN_BLOCK_BYTES', 2**14)
        monkeypatch.setattr(mod, 'MIN_BLOCK_ROWS', 1)
        assert math_block_rows(q, k) == 9
        calls = []
        real = mod._math_attention
        monkeypatch.setattr(mod, '_math_attention', lambda q, *a: calls.append(q.shape[-2])
                            or real(q, *a))
        for m, want in zip(masks, whole):
            calls.clear()
            torch.testing.assert_close(attention(q, k, v, m, attn_impl='math'), want,
                                       rtol=1e-6, atol=1e-6)
            assert calls == [9] * 33 + [3]
        # bf16, keys beyond CPU_HALF_MATH_MAX_KEYS: explicit, in blocks or held at once
        q16, k16 = q.bfloat16(), torch.randn(2, 3, 400, 16, dtype=torch.bfloat16)
        assert resolve_attn_impl('auto', q16, k16) == 'math' and math_block_rows(q16, k16)
        assert resolve_attn_impl('auto', q16.float(), k16.float()) == 'sdpa'  # fp32
        monkeypatch.setattr(mod, 'CPU_ATTN_WHOLE_MAX_BYTES', 2**30)
        assert resolve_attn_impl('auto', q16, k16) == 'math' and not math_block_rows(q16, k16)
        monkeypatch.setattr(mod, 'CPU_ATTN_WHOLE_MAX_BYTES', 2**16)
    assert resolve_attn_impl('auto', q16.requires_grad_(), k16) == 'sdpa'  # training
    calls.clear()
    with torch.no_grad():
        torch.jit.trace(lambda q: attention(q, k, v, attn_impl='math'), q, check_trace=False)
    assert calls == [300]  # traced: one graph for any size


def attention_flops_224(settings) -> int:
    """The attention products of a Twins at 224x224, from the paper's definitions: per block,
    QK^T and AV (2 products x 2 FLOPs per multiply-add) of each query over its keys: the
    ws x ws window for LSA (SVT's even blocks), the (H/sr) x (W/sr) sub-sampled map for GSA."""
    total, side = 0, 224
    for i, (dims, depth) in enumerate(zip(settings['embed_dims'], settings['depths'])):
        side //= 4 if i == 0 else 2  # no padding at 224: 56, 28, 14, 7
        ws = (settings.get('window_sizes') or [None] * 4)[i]
        for j in range(depth):
            keys = ws * ws if ws and j % 2 == 0 else (side // settings['sr_ratios'][i]) ** 2
            total += 4 * side * side * keys * dims
    return total


def test_cpu_mlp_runs_in_token_blocks(monkeypatch):
    """On the CPU, a large token map runs the MLP in blocks of tokens (each block's hidden
    activations reused from the heap instead of a fresh mapping of the whole map's): outputs
    and gradients equal the MLP on all tokens at once. Small maps, and traced models, run it
    whole."""
    import sys

    from mmtwins.models.layers import Mlp
    mlp_mod = sys.modules['mmtwins.models.layers.mlp']
    model = tiny().train()
    x = torch.randn(2, 3, 64, 96)
    calls = []
    for m in model.modules():
        if isinstance(m, Mlp):
            m.fc1.register_forward_hook(lambda mod, args, out: calls.append(args[0].shape))

    def run():
        model.zero_grad(set_to_none=True)
        calls.clear()
        outs = model(x)
        sum(o.pow(2).mean() for o in outs).backward()
        return [o.detach() for o in outs] + [p.grad.clone() for p in model.parameters()]
    whole = run()
    n_mlps = len(calls)
    # blocks of max(256, 4096 // (hidden * 4)) = 256 tokens: stage 1's 2 x 16 x 24 = 768
    # tokens run in 3 blocks, later stages (below 2 blocks' worth) whole
    monkeypatch.setattr(mlp_mod, 'CPU_MLP_CHUNK_BYTES', 4096)
    in_blocks = run()
    assert len(calls) > n_mlps and (256, TINY_SVT['embed_dims'][0]) in calls
    for a, b in zip(whole, in_blocks):
        # tolerance: weight gradients summed over blocks in another order
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)
    calls.clear()
    tokens = torch.randn(2, 384, TINY_SVT['embed_dims'][0])
    with torch.no_grad():
        torch.jit.trace(model.stages[0].blocks[0].mlp, tokens, check_trace=False)
    assert len(calls) == 1  # traced for export: one graph for any size


@pytest.mark.parametrize('cls,arch,paper', [(TwinsSVT, 'small', 2.9), (TwinsPCPVT, 'small', 3.7),
                                            (TwinsSVT, 'base', 8.6)])
def test_backbone_flops_match_paper_at_224(cls, arch, paper):
    """Paper FLOPs (multiply-adds at 224x224) include the classifier head (tiny): within 3.5%
    (measured: +0.9%, +2.9%, -0.4%), and the attention products exactly as the paper defines
    them (about 4% of the total: counted at half or double, the total alone would not tell)."""
    model = cls(arch=arch, norm_after_stage=False).eval()
    x = torch.randn(1, 3, 224, 224)
    flops = count_flops(lambda: model(x), model)
    macs = flops['total'] / 2 / 1e9
    assert abs(macs - paper) < 0.035 * paper, macs
    # attention products are counted (explicit matmuls), not only linear/conv layers
    assert flops.get('bmm', 0) + flops.get('matmul', 0) == attention_flops_224(
        model.arch_settings)
    assert model.attn_impl == 'auto' and model.fused_attn  # restored after counting


@pytest.mark.slow  # a tool in a subprocess
def test_get_flops_tool():
    proc = run_python(['tools/analysis/get_flops.py', 'configs/upernet_twins_svt_s_ade20k.py',
                       '--shape', '128', '128'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert 'params:          53.86 M (backbone 23.55 M)' in out
    m = re.search(r'FLOPs:\s+([\d.]+) G \(backbone ([\d.]+) G, of which attention matmuls '
                  r'([\d.]+) G\)', out)
    assert m and float(m.group(1)) > float(m.group(2)) > float(m.group(3)) > 0


@pytest.mark.slow
def test_benchmark_tool_runs(tmp_path):
    out_json = tmp_path / 'bench.json'
    proc = run_python(['tools/analysis/benchmark.py', '--variants', 'svt_s', '--infer-sizes',
                       '64x64', '--train-sizes', '64x64', '--repeats', '1', '--warmup', '0',
                       '--train-batch', '1', '--dtypes', 'fp32', 'bf16', '--peers', 'mmseg',
                       '--profile', '--attention-calls', '--throughput-batch', '2', '--json',
                       str(out_json)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert 'measured fp32 matmul' in out and 'measured bf16 matmul' in out
    # checked before timing: the peers hold our weights
    assert re.search(r"svt_s: same weights, outputs at 224x224 agree with mmtwins' to mmseg "
                     r'\d\.\de-0[5-9]', out), out
    for dtype in ('fp32', 'bf16'):
        assert re.search(rf'svt_s\s+{dtype}\s+infer 1x3x64x64\s+[\d.]+ms\s+[\d.]+ms\s+[\d.]+x\s+'
                         r'[\d.]+ GFLOP/s = \d+% of matmul', out)
        assert re.search(rf'svt_s\s+{dtype}\s+train 1x3x64x64\s+[\d.]+ms\s+[\d.]+ms\s+[\d.]+x\s+'
                         r'[\d.]+ GFLOP/s = \d+% of matmul', out)
        assert re.search(rf'svt_s\s+{dtype}\s+peak memory\s+\d+MB\s+\d+MB\s+[\d.]+x\s+'
                         r'with_cp: \d+MB', out)
        assert re.search(rf'svt_s\s+{dtype}\s+throughput 2x3x64x64\s+[\d.]+ms\s+[\d.]+ms\s+'
                         r'[\d.]+x\s+[\d.]+ images/s, [\d.]+ GFLOP/s = \d+% of matmul', out)
    results = json.loads(out_json.read_text())
    assert set(results['matmul_gflops']) == {'fp32', 'bf16'} and results['peers'] == ['mmseg']
    rows = results['variants']['svt_s']
    assert rows['bf16 infer 64x64']['mmtwins'] > 0 and rows['fp32 train 64x64']['mmseg'] > 0
    assert rows['bf16 train 64x64 peak memory']['mmtwins+cp'] > 0
    # --profile: where the time went, under every row
    assert rows['fp32 throughput 2x64x64']['images_per_s'] > 0
    assert out.count("mmtwins' time: attention") == 6
    for name in ('fp32 infer 64x64', 'bf16 train 64x64'):
        shares = rows[name]['time_shares']
        assert shares['matmul'] > 0.1 and abs(sum(shares.values()) - 1) < 1e-6
    # --attention-calls: under every row, each distinct call with both kernels and 'auto'
    assert out.count('attention calls (forward):') == 4
    assert out.count('attention calls (forward + backward):') == 2
    assert len(re.findall(r"per forward: sdpa [\d.]+ms, math [\d.]+ms, 'auto' [\d.]+ms", out)) == 6
    calls = rows['bf16 infer 64x64']['attention_calls']
    assert sum(c['count'] for c in calls) == 2 + 2 + 10 + 4  # svt_s: one per block
    assert {c['auto'] for c in calls} == {'math'}  # bf16 on the CPU, short keys


def test_benchmark_times_timm_against_mmtwins_built_as_timm():
    """timm's Twins has no stage norms (each stage takes the previous one's un-normed map):
    its column is timed against mmtwins built the same way, holding the same weights."""
    from mmtwins.benchmark import peers as bench
    from mmtwins.models import TwinsSVT
    ours, _ = bench.build_pair('svt_s', 'cpu', need_mmseg=False)
    twin = bench.like_timm(ours)
    assert all(stage.norm is None for stage in twin.stages)
    assert all(stage.norm is not None for stage in ours.stages)
    plain = TwinsSVT(arch='small', norm_after_stage=False)
    plain.load_state_dict({k: v for k, v in ours.state_dict().items()
                           if k in plain.state_dict()})
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        for a, b in zip(plain.eval()(x), twin.eval()(x)):
            torch.testing.assert_close(b, a, rtol=0, atol=0)
    assert bench.REFERENCE == {'mmseg': 'mmtwins', 'timm': 'mmtwins~timm'}


def test_benchmark_attention_calls_table(monkeypatch):
    """--attention-calls: every attention call of a forward is seen once (grouped by shape),
    timed with each kernel, and shown with the kernel attn_impl='auto' takes for it."""
    import torch.nn.functional as F

    from mmtwins.benchmark import attention_calls as ac
    from mmtwins.models.layers import resolve_attn_impl
    model = tiny()
    x = torch.randn(2, 3, 61, 83)  # 16x21 tokens in stage 1 (patches padded): padded windows
    calls = ac.record_calls(model, x, 'bf16', train=False)
    assert sum(c['count'] for c in calls) == 8  # one per block
    first_lsa, first_gsa = calls[0], calls[1]
    assert first_lsa['q'] == (2 * 3 * 3, 1, 49, 16) and first_lsa['mask'] is not None
    assert first_gsa['q'] == (2, 1, 16 * 21, 16) and first_gsa['k'] == (2, 1, 2 * 3, 16)
    assert first_gsa['mask'] is None and first_gsa['dtype'] == torch.bfloat16
    real, ran = F.scaled_dot_product_attention, []
    monkeypatch.setattr(F, 'scaled_dot_product_attention',
                        lambda *a, **k: ran.append(a[0].shape) or real(*a, **k))
    ac.time_calls(calls, 'cpu', 'bf16', train=False, warmup=0, repeats=2)
    assert ran == [c['q'] for c in calls for _ in range(2)]  # the 'sdpa' timings only
    for c in calls:
        assert set(c['time']) == {'sdpa', 'math'} and min(c['time'].values()) > 0
        q = torch.zeros(c['q'], dtype=torch.bfloat16)
        assert c['auto'] == resolve_attn_impl('auto', q, torch.zeros(c['k'], dtype=q.dtype))
    t = ac.totals(calls)
    assert t['auto'] == pytest.approx(sum(c['count'] * c['time']['math'] for c in calls))
    assert t['best'] <= min(t['sdpa'], t['math'])
    lines = ac.format_calls(calls)
    assert len(lines) == len(calls) + 2 and "'auto'" in lines[-1]
    # training: forward + backward, gradients flow through either kernel
    train_calls = ac.time_calls(ac.record_calls(model, x, 'fp32', train=True), 'cpu', 'fp32',
                                train=True, warmup=0, repeats=1)
    assert [c['auto'] for c in train_calls] == ['sdpa'] * len(train_calls)


def test_benchmark_refuses_peers_with_other_weights():
    """The benchmark compares the implementations' outputs before timing: mmseg's model with
    mmtwins' weights agrees; one tensor left at another value is refused."""
    from mmtwins.benchmark import peers as bench
    ours, theirs = bench.build_pair('pcpvt_s', 'cpu')
    diffs = bench.check_same_weights(dict(mmtwins=ours, mmseg=theirs), 'cpu')
    assert diffs['mmseg'] < 1e-4
    with torch.no_grad():
        theirs.layers[3][2].ffn.layers[1].weight.normal_()  # one tensor not carried over
    with pytest.raises(RuntimeError, match='do not compute the same'):
        bench.check_same_weights(dict(mmtwins=ours, mmseg=theirs), 'cpu')


@pytest.mark.slow
def test_benchmark_segmentor_paths(tmp_path):
    """The whole-segmentor rows: eager fp32/bf16, ONNX Runtime fp32 and int8 (the model
    exported through mmdeploy), with their agreement with eager fp32 (torch.compile is left
    out here: a minute of compiling)."""
    pytest.importorskip('mmdeploy')
    out_json = tmp_path / 'seg.json'
    proc = run_python(['tools/analysis/benchmark.py', '--only-segmentor', '--no-compile',
                       '--int8', '--config-crop', '64x96', '--dtypes', 'fp32', 'bf16',
                       '--repeats', '1', '--warmup', '0', '--json', str(out_json)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    for path in ('eager fp32', 'eager bf16', 'onnxruntime fp32', 'onnxruntime int8'):
        assert re.search(rf'{path}\s+[\d.]+ms\s+[\d.]+x', proc.stdout), path
    rows = json.loads(out_json.read_text())['segmentor']
    # eager fp32 is the reference the other rows are compared with (not a row of its own)
    assert rows['onnxruntime fp32']['max_rel_diff'] < 1e-4
    assert 0 < rows['onnxruntime int8']['max_rel_diff'] < 0.1
    assert rows['eager bf16']['max_rel_diff'] < 0.1


@pytest.mark.slow  # a tool in a subprocess
@pytest.mark.parametrize('arch,kinds', [('svt_s', 'gsa, lsa'), ('pcpvt_s', 'gsa')])
def test_visualize_features_tool(tmp_path, arch, kinds):
    from PIL import Image

    from mmtwins.utils.toydata import make_toy_ade20k
    make_toy_ade20k(str(tmp_path / 'ade'), num_train=1, num_val=1)
    image = tmp_path / 'ade' / 'ADEChallengeData2016' / 'images' / 'validation' / \
        'ADE_val_00000001.jpg'
    out = tmp_path / 'features.png'
    proc = run_python(['tools/analysis/visualize_features.py', str(image), '--arch', arch,
                       '--size', '128', '--pixel', '40', '70', '--out', str(out)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f'4 pyramid levels, attention maps: {kinds}' in proc.stdout
    with Image.open(out) as pic:
        assert pic.size == (1600, 800)  # 4 x 2 panels of 4 inches at 100 dpi
        assert len(set(pic.convert('L').getdata())) > 50  # a real picture, not blank


@pytest.mark.slow
def test_onnx_export_matches_pytorch(tmp_path):
    """Export through the tool (config + a checkpoint), then run the file with onnxruntime
    here and compare with the PyTorch backbone holding the same weights."""
    import onnxruntime as ort

    from mmtwins.checkpoint import load_pretrained
    weights = TwinsSVT(arch='small')
    weights.init_weights()
    ckpt = tmp_path / 'svt_s.pth'
    torch.save({'state_dict': {'backbone.' + k: v for k, v in weights.state_dict().items()}},
               ckpt)
    out = tmp_path / 'svt_s.onnx'
    proc = run_python(['tools/deployment/export_onnx.py', '--config',
                       'configs/upernet_twins_svt_s_ade20k.py', '--checkpoint', str(ckpt),
                       '--shape', '64', '96', '--out', str(out), '--check'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'level4 (1, 512, 2, 3)' in proc.stdout and 'onnxruntime vs PyTorch' in proc.stdout
    model = TwinsSVT(arch='small').eval()
    load_pretrained(model, str(ckpt))
    x = torch.randn(1, 3, 64, 96)
    session = ort.InferenceSession(str(out), providers=['CPUExecutionProvider'])
    got = session.run(None, {'image': x.numpy()})
    with torch.no_grad():
        want = model(x)
    # tolerance: fp32 kernels of two runtimes
    for g, w in zip(got, want):
        torch.testing.assert_close(torch.from_numpy(g), w, rtol=1e-4, atol=1e-4)
