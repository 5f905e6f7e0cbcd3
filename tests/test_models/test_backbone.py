"""Shapes, arguments, freezing and checkpointing of TwinsPCPVT / TwinsSVT."""
import math

import pytest
import torch
from helpers import TINY_PCPVT, TINY_SVT

from mmtwins.models import TwinsPCPVT, TwinsSVT


def test_architecture_details():
    svt = TwinsSVT(arch='s')
    kinds = [[b.attn_type for b in st.blocks] for st in svt.stages]
    assert kinds[3] == ['lsa', 'gsa', 'lsa', 'gsa'] and kinds[2][:3] == ['lsa', 'gsa', 'lsa']
    assert all(b.attn_type == 'gsa' for st in TwinsPCPVT(arch='s').stages for b in st.blocks)
    # sr conv only where sr > 1; stage 4 GSA is plain global attention
    assert svt.stages[0].blocks[1].attn.sr.stride == (8, 8)
    assert not hasattr(svt.stages[3].blocks[1].attn, 'sr')
    eps = {name: m.eps for name, m in svt.named_modules() if isinstance(m, torch.nn.LayerNorm)}
    assert eps['stages.0.patch_embed.norm'] == 1e-5
    assert eps['stages.0.blocks.1.attn.norm'] == 1e-5
    assert eps['stages.0.blocks.0.norm1'] == 1e-6 and eps['stages.2.blocks.5.norm2'] == 1e-6
    assert eps['stages.3.norm'] == 1e-6
    # stochastic depth: linear over all blocks
    dp = TwinsSVT(arch='s', drop_path_rate=0.3)
    rates = [b.drop_path.p for st in dp.stages for b in st.blocks]
    assert rates[0] == 0 and rates[-1] == pytest.approx(0.3)
    assert rates == pytest.approx([0.3 * i / (len(rates) - 1) for i in range(len(rates))])


def test_custom_arch_dict_and_out_indices():
    model = TwinsSVT(arch=TINY_SVT, out_indices=(1, 3)).eval()
    outs = model(torch.rand(2, 3, 64, 96))
    assert [tuple(o.shape) for o in outs] == [(2, 32, 8, 12), (2, 64, 2, 3)]
    assert model.out_channels == [32, 64] and model.out_strides == [8, 32]
    assert TwinsSVT(arch=TINY_SVT, out_indices=-1).out_indices == (3,)


@pytest.mark.parametrize('kwargs,match', [
    (dict(arch='tiny'), "unknown Twins-SVT arch 'tiny'"),
    (dict(arch='pcpvt_small'), 'use TwinsPCPVT'),
    (dict(arch=dict(TINY_SVT, depth=[1, 1, 1, 1])), r"unknown key\(s\) \['depth'\]"),
    (dict(arch={k: v for k, v in TINY_SVT.items() if k != 'window_sizes'}),
     r"misses key\(s\) \['window_sizes'\]"),
    (dict(arch=dict(TINY_SVT, num_heads=[1, 2, 2])), r"arch\['num_heads'\] has 3 entries"),
    (dict(arch=dict(TINY_SVT, window_sizes=[7, 0, 7, 7])), r"arch\['window_sizes'\] must hold"),
    (dict(arch=dict(TINY_SVT, sr_ratios=[8, -4, 2, 1])), r"arch\['sr_ratios'\] must hold"),
    (dict(arch=dict(TINY_SVT, num_heads=[3, 2, 2, 4])), r"arch\['embed_dims'\]\[0\] \(16\)"),
    (dict(arch=TINY_SVT, out_indices=(0, 4)), r'4 is not a stage index in \[0, 3\]'),
    (dict(arch=TINY_SVT, out_indices=()), 'non-empty'),
    (dict(arch=TINY_SVT, frozen_stages=5), r'frozen_stages must be an int in \[-1, 4\]'),
    (dict(arch=TINY_SVT, frozen_stages=-2), 'frozen_stages'),
    (dict(arch=TINY_SVT, window_padding='reflect'), "window_padding must be one of"),
    (dict(arch=TINY_SVT, drop_path_rate=1.5), r'drop_path_rate must be a number in \[0, 1\)'),
    (dict(arch=TINY_SVT, norm_after_stage=[True, False]), 'norm_after_stage must be'),
    (dict(arch=TINY_SVT, in_channels=0), 'in_channels must be a positive int'),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TwinsSVT(**kwargs)


def test_bad_inputs_raise():
    model = TwinsPCPVT(arch=TINY_PCPVT)
    with pytest.raises(ValueError, match=r'built for 3 input channels .* \(1 channels\)'):
        model(torch.rand(1, 1, 32, 32))
    with pytest.raises(ValueError, match=r'expects a 4-D \(B, C, H, W\) tensor, got \(3, 32, 32\)'):
        model(torch.rand(3, 32, 32))
    four = TwinsPCPVT(arch=TINY_PCPVT, in_channels=4).eval()
    assert four(torch.rand(1, 4, 32, 32))[0].shape == (1, 16, 8, 8)


def test_frozen_stages():
    model = TwinsSVT(arch=TINY_SVT, frozen_stages=2, drop_rate=0.1, drop_path_rate=0.2)
    model.train()
    for i, stage in enumerate(model.stages):
        frozen = i < 2
        assert all(not m.training for m in stage.modules()) == frozen
        assert all(p.requires_grad != frozen for p in stage.parameters())
    x = torch.rand(2, 3, 64, 64)
    outs = model(x)
    # frozen stages run in eval mode: no dropout, deterministic
    assert torch.equal(outs[1], model(x)[1])
    assert not outs[0].requires_grad and not outs[1].requires_grad
    sum(o.sum() for o in outs).backward()
    for i, stage in enumerate(model.stages):
        grads = [p.grad for p in stage.parameters()]
        if i < 2:
            assert all(g is None for g in grads)
        else:
            assert all(g is not None for g in grads)
    # frozen_stages=-1 and 0 freeze nothing
    for k in (-1, 0):
        assert all(p.requires_grad for p in TwinsSVT(arch=TINY_SVT, frozen_stages=k).parameters())


@pytest.mark.parametrize('cls,arch', [(TwinsSVT, TINY_SVT), (TwinsPCPVT, TINY_PCPVT)])
def test_with_cp_same_outputs_and_gradients(cls, arch):
    """with_cp recomputes every block in the backward pass (its forward runs again), keeps
    much less for the backward pass, and changes neither outputs nor gradients."""
    ref = cls(arch=arch)
    ref.init_weights()
    cp_model = cls(arch=arch, with_cp=True)
    cp_model.load_state_dict(ref.state_dict())
    x = torch.rand(2, 3, 61, 83)
    results = []
    for model in (ref, cp_model):
        model.train()
        calls = []  # each block's forward, counted (module hooks do not run on recompute)
        for b in (b for stage in model.stages for b in stage.blocks):
            b.forward = (lambda f: lambda *a, **k: calls.append(1) or f(*a, **k))(b.forward)
        saved = []  # bytes the autograd graph keeps for the backward pass (outside blocks
        # under checkpointing, whose own hooks take over inside them)
        with torch.autograd.graph.saved_tensors_hooks(
                lambda t: saved.append(t.numel() * t.element_size()) or t, lambda t: t):
            outs = model(x)
        forward_calls = len(calls)
        sum((o * torch.linspace(0, 1, o.numel()).view_as(o)).sum() for o in outs).backward()
        results.append((outs, {n: p.grad.clone() for n, p in model.named_parameters()},
                        forward_calls, len(calls) - forward_calls, sum(saved)))
    (outs_a, grads_a, fwd_a, recomputed_a, saved_a), \
        (outs_b, grads_b, fwd_b, recomputed_b, saved_b) = results
    n_blocks = sum(arch['depths'])
    assert fwd_a == fwd_b == n_blocks
    assert recomputed_a == 0 and recomputed_b == n_blocks  # every block ran again
    assert saved_b < 0.25 * saved_a, (saved_a, saved_b)
    for a, b in zip(outs_a, outs_b):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    assert grads_a.keys() == grads_b.keys()
    for name in grads_a:
        torch.testing.assert_close(grads_a[name], grads_b[name], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('window_padding', ['mask', 'zero'])
@pytest.mark.parametrize('size', [(61, 83), (64, 64), (9, 30)])
def test_fused_and_plain_attention_agree(window_padding, size):
    model = TwinsSVT(arch=TINY_SVT, window_padding=window_padding)
    model.init_weights()
    x = torch.rand(2, 3, *size)
    results = []
    for fused in (True, False):
        model.fused_attn = fused
        model.zero_grad()
        outs = model(x)
        sum(o.square().mean() for o in outs).backward()
        results.append(([o.detach() for o in outs],
                        [p.grad.clone() for p in model.parameters()]))
    assert model.fused_attn is False
    for a, b in zip(results[0][0], results[1][0]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    for a, b in zip(results[0][1], results[1][1]):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-5)


def test_default_init_matches_official_scheme():
    model = TwinsSVT(arch=TINY_SVT)
    model.init_weights()
    fc1 = model.stages[2].blocks[0].mlp.fc1
    assert fc1.weight.std().item() == pytest.approx(0.02, rel=0.1)
    assert fc1.bias.abs().max() == 0
    conv = model.stages[0].patch_embed.proj  # fan_out = 4*4*16
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / (16 * 16)), rel=0.15)
    norm = model.stages[1].blocks[1].norm1
    assert torch.all(norm.weight == 1) and torch.all(norm.bias == 0)
