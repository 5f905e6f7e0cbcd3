"""Every checkpoint layout loads to identical outputs; bad files are refused cleanly."""
import logging
import os
import os.path as osp

import pytest
import torch
from helpers import TINY_PCPVT, TINY_SVT, run_python, save_code_executing_checkpoint
from helpers.reference_twins import RefTwins, randomize_
from helpers.twins_formats import (ARCHS, official_trainer_file, to_mmpretrain, to_mmseg,
                                   whole_model, with_classifier)

from mmtwins.checkpoint import CheckpointError, load_file, load_pretrained
from mmtwins.models import TwinsPCPVT, TwinsSVT

X = torch.randn(1, 3, 64, 96)


def official_sd(arch, seed=0, norm_list=False):
    return randomize_(RefTwins(**arch, norm_list=norm_list), seed=seed).state_dict()


def features(model):
    model.eval()
    with torch.no_grad():
        return model(X)


def build(cls, arch, path, **kwargs):
    model = cls(arch=arch, init_cfg=dict(type='Pretrained', checkpoint=str(path), **kwargs))
    model.init_weights()
    return model


def assert_same(outs_a, outs_b):
    for a, b in zip(outs_a, outs_b):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.fixture(scope='module')
def svt_official():
    # with dense-prediction stage norms, as the official det/seg SVT saves them
    return official_sd(TINY_SVT, seed=1, norm_list=True)


@pytest.fixture(scope='module')
def svt_expected(svt_official):
    """Features of the reference model with these weights (independent of our loader)."""
    ref = RefTwins(**TINY_SVT, norm_list=True)
    ref.load_state_dict(svt_official)
    return ref.eval()(X, 'mask')


def write(tmp_path, name, obj):
    path = tmp_path / name
    if name.endswith('.safetensors'):
        from safetensors.torch import save_file
        save_file({k: v.contiguous() for k, v in obj.items()}, str(path))
    else:
        torch.save(obj, path)
    return path


# timm's Twins keeps the official key names (timm.models.twins loads the official .pth as it
# is), so a timm .pth is the official_bare file; its own files are model.safetensors
FORMATS = {
    'official_bare': lambda sd: ('official.pth', with_classifier(sd)),
    'official_trainer': lambda sd: ('official_ckpt.pth',
                                    official_trainer_file(with_classifier(sd))),
    'timm_safetensors': lambda sd: ('model.safetensors', with_classifier(sd)),
    'mmseg': lambda sd: ('mmseg.pth', to_mmseg(sd)),
    'mmseg_in_state_dict': lambda sd: ('mmseg_sd.pth', {'state_dict': to_mmseg(sd), 'meta': {}}),
    'whole_mmseg_model': lambda sd: ('segmentor.pth', whole_model(to_mmseg(sd))),
    'whole_official_det': lambda sd: ('detector.pth', whole_model(sd)),
}


@pytest.mark.parametrize('fmt', list(FORMATS))
def test_formats_load_to_identical_outputs(fmt, svt_official, svt_expected, tmp_path):
    name, obj = FORMATS[fmt](svt_official)
    path = write(tmp_path, name, obj)
    model = build(TwinsSVT, TINY_SVT, path)
    outs = features(model)
    for a, b in zip(outs, svt_expected):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    # and bit-identical to loading the plain official file
    plain = build(TwinsSVT, TINY_SVT, write(tmp_path, 'plain.pth', svt_official))
    assert_same(outs, features(plain))


def test_mmpretrain_imagenet_file(tmp_path):
    """mmpretrain's ``norm_after_stage{i}`` is stage i's norm. Its ImageNet file (the norm of
    stage 4 only) gives a model with norm_after_stage=[False, False, False, True] mmpretrain's
    own outputs, restated here: the reference model, then LayerNorm (eps 1e-6, the file's
    weights) on the last stage. A dense model (norms on every stage) takes stage 4's and keeps
    the others at init; a model without norms ignores it."""
    sd = official_sd(TINY_SVT, seed=2)
    full = with_classifier(sd)  # non-trivial final norm: weight 1 + 0.1 N(0, 1)
    path = write(tmp_path, 'mmpretrain.pth', to_mmpretrain(full))
    model = TwinsSVT(arch=TINY_SVT, norm_after_stage=[False, False, False, True],
                     init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    ref = RefTwins(**TINY_SVT)
    ref.load_state_dict(sd)
    want = list(ref.eval()(X, 'mask'))
    c = want[3].shape[1]
    want[3] = torch.nn.functional.layer_norm(
        want[3].permute(0, 2, 3, 1), (c,), full['norm.weight'], full['norm.bias'],
        eps=1e-6).permute(0, 3, 1, 2)
    got = features(model)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    assert not torch.allclose(got[3], ref(X, 'mask')[3], atol=1e-2)  # the norm did act

    dense = build(TwinsSVT, TINY_SVT, path)
    own = dense.state_dict()
    assert torch.equal(own['stages.3.norm.weight'], full['norm.weight'])
    assert torch.equal(own['stages.3.norm.bias'], full['norm.bias'])
    assert torch.all(own['stages.0.norm.weight'] == 1) and torch.all(own['stages.0.norm.bias'] == 0)

    plain = TwinsSVT(arch=TINY_SVT, norm_after_stage=False)
    summary = load_pretrained(plain, str(path))
    assert {'stages.3.norm.weight', 'stages.3.norm.bias'} <= set(summary['ignored'])
    assert summary['expected_missing'] == []


def test_mmtwins_format_and_prefix(tmp_path, svt_official, svt_expected):
    src = build(TwinsSVT, TINY_SVT, write(tmp_path, 'o.pth', svt_official))
    nested = {'state_dict': {'model.encoder.' + k: v for k, v in src.state_dict().items()}}
    path = write(tmp_path, 'nested.pth', nested)
    with pytest.raises(CheckpointError, match='no Twins backbone tensors'):
        build(TwinsSVT, TINY_SVT, path)
    model = build(TwinsSVT, TINY_SVT, path, prefix='model.encoder.')
    assert_same(features(model), features(src))
    with pytest.raises(CheckpointError, match="no tensor of the checkpoint starts with prefix"):
        build(TwinsSVT, TINY_SVT, path, prefix='backbone.')


def test_summary_line(tmp_path, svt_official, caplog):
    path = write(tmp_path, 'in1k.pth', with_classifier(official_sd(TINY_SVT)))
    model = TwinsSVT(arch=TINY_SVT)
    logger = logging.getLogger('mmtwins-test')
    with caplog.at_level(logging.INFO, logger='mmtwins-test'):
        summary = load_pretrained(model, str(path), logger=logger)
    assert summary['format'] == 'official'
    assert summary['expected_missing'] == [f'stages.{i}.norm.{p}' for i in range(4)
                                           for p in ('weight', 'bias')]
    assert sorted(summary['ignored']) == ['head.bias', 'head.weight', 'norm.bias', 'norm.weight']
    n = len(model.state_dict())
    line, = [r.getMessage() for r in caplog.records]
    assert f'loaded {n - 8}/{n} tensors' in line and 'expected missing 8' in line
    assert 'ignored 4' in line and 'unexpected 0' in line and '\n' not in line


@pytest.mark.slow  # a tool in a subprocess
def test_pickled_code_is_refused_everywhere(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    save_code_executing_checkpoint(path, marker, model=official_sd(TINY_PCPVT))
    model = TwinsPCPVT(arch=TINY_PCPVT)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointError, match='refusing to load .*could run arbitrary code'):
        build(TwinsPCPVT, TINY_PCPVT, path)
    with pytest.raises(CheckpointError, match='refusing to load'):
        load_pretrained(model, str(path))
    proc = run_python(['tools/model_converters/twins2mmtwins.py', str(path),
                       str(tmp_path / 'out.pth')])
    assert proc.returncode == 1 and 'refusing to load' in proc.stderr
    assert not (tmp_path / 'out.pth').exists()
    assert not marker.exists()
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_getattr_is_allowed_only_for_mmengine_history_buffer(tmp_path):
    from mmengine.logging.history_buffer import HistoryBuffer

    class Sneaky:
        def __reduce__(self):
            return (getattr, (HistoryBuffer, 'update'))

    path = tmp_path / 'sneaky.pth'
    torch.save({'state_dict': official_sd(TINY_PCPVT), 'x': Sneaky()}, path)
    with pytest.raises(CheckpointError, match='refusing to load'):
        load_file(str(path))
    buf = HistoryBuffer()
    buf.update(1.5)
    torch.save({'hub': buf}, tmp_path / 'hub.pth')
    assert load_file(str(tmp_path / 'hub.pth'))['hub'].current() == 1.5


def test_other_variant_is_refused_and_nothing_loaded(tmp_path):
    svt_b = write(tmp_path, 'svt_b.pth', official_sd(ARCHS['svt_b']))
    model = TwinsSVT(arch='small')
    model.init_weights()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointError) as err:
        load_pretrained(model, str(svt_b))
    msg = str(err.value)
    assert 'nothing was loaded' in msg and 'Twins-SVT-S' in msg and 'Twins-SVT-B' in msg
    assert ('stages.0.patch_embed.proj.weight: checkpoint (96, 3, 4, 4) vs model (64, 3, 4, 4)'
            in msg)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())

    # same widths, more blocks: PCPVT-B into PCPVT-S
    pcpvt_b = write(tmp_path, 'pcpvt_b.pth', official_sd(ARCHS['pcpvt_b']))
    with pytest.raises(CheckpointError, match=r'have no place in the model: stages\.2\.blocks\.6'):
        load_pretrained(TwinsPCPVT(arch='small'), str(pcpvt_b))
    # fewer blocks: PCPVT-S into PCPVT-B
    pcpvt_s = write(tmp_path, 'pcpvt_s.pth', official_sd(ARCHS['pcpvt_s']))
    with pytest.raises(CheckpointError, match=r'missing from the checkpoint: stages\.2\.blocks\.6'):
        load_pretrained(TwinsPCPVT(arch='base'), str(pcpvt_s))


def test_checkpoint_matching_nothing(tmp_path):
    resnet = {'conv1.weight': torch.randn(8, 3, 7, 7), 'layer1.0.conv1.weight': torch.randn(8, 8)}
    with pytest.raises(CheckpointError, match="no Twins backbone tensors found .*'conv1.weight'"):
        load_pretrained(TwinsSVT(arch=TINY_SVT), str(write(tmp_path, 'r.pth', resnet)))
    # PCPVT file into SVT: names exist but nothing fits
    pcpvt = write(tmp_path, 'p.pth', official_sd(ARCHS['pcpvt_s']))
    with pytest.raises(CheckpointError, match='does not fit the model; nothing was loaded'):
        load_pretrained(TwinsSVT(arch='s'), str(pcpvt))


def test_unreadable_files(tmp_path):
    model = TwinsSVT(arch=TINY_SVT)
    with pytest.raises(CheckpointError, match='checkpoint not found'):
        load_pretrained(model, str(tmp_path / 'missing.pth'))
    text = tmp_path / 'notes.pth'
    text.write_text('this is not a checkpoint\n')
    with pytest.raises(CheckpointError, match='is not a PyTorch checkpoint'):
        load_file(str(text))
    good = write(tmp_path, 'good.pth', official_sd(TINY_SVT))
    data = good.read_bytes()
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='truncated'):
        load_pretrained(model, str(truncated))
    st = write(tmp_path, 'm.safetensors', official_sd(TINY_SVT))
    cut = tmp_path / 'cut.safetensors'
    cut.write_bytes(st.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match='truncated'):
        load_pretrained(model, str(cut))
    with pytest.raises(CheckpointError, match='could not download'):
        load_pretrained(model, 'http://127.0.0.1:9/twins.pth')


def test_real_mmengine_checkpoint_of_a_whole_model(tmp_path):
    """A checkpoint written by mmengine's Runner (HistoryBuffer, numpy in the message hub)
    loads through weights_only with the backbone found under 'backbone.'."""
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Toy(BaseModel):
        def __init__(self):
            super().__init__()
            self.backbone = TwinsPCPVT(arch=TINY_PCPVT)
            self.head = torch.nn.Linear(64, 1)

        def forward(self, inputs, labels=None, mode='loss'):
            feat = self.backbone(inputs)[-1].mean((2, 3))
            loss = (self.head(feat).squeeze(1) - labels).square().mean()
            return {'loss': loss}

    data = [dict(inputs=torch.rand(3, 32, 32), labels=torch.tensor(1.0)) for _ in range(4)]
    runner = Runner(
        model=Toy(), work_dir=str(tmp_path / 'work'),
        train_dataloader=dict(dataset=data, sampler=dict(type='DefaultSampler', shuffle=False),
                              batch_size=2, collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=False, max_iters=2, val_interval=10),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False)),
        default_scope='mmengine')
    runner.train()
    ckpt = tmp_path / 'work' / 'iter_2.pth'
    assert ckpt.exists()
    trained = runner.model.backbone
    model = build(TwinsPCPVT, TINY_PCPVT, ckpt)
    assert_same(features(model), features(trained))


@pytest.mark.slow  # a tool in a subprocess
def test_converter_tool_round_trip(tmp_path, svt_official, svt_expected):
    src = write(tmp_path, 'mmseg.pth', {'state_dict': to_mmseg(svt_official)})
    dst = tmp_path / 'out' / 'svt_mmtwins.pth'
    proc = run_python(['tools/model_converters/twins2mmtwins.py', str(src), str(dst)])
    assert proc.returncode == 0, proc.stderr
    assert 'from the mmseg layout' in proc.stdout
    saved = torch.load(dst, weights_only=True)
    assert saved['meta']['source_format'] == 'mmseg'
    assert all(k.startswith('stages.') for k in saved['state_dict'])
    model = build(TwinsSVT, TINY_SVT, dst)
    for a, b in zip(features(model), svt_expected):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    # an existing destination is never overwritten silently
    proc = run_python(['tools/model_converters/twins2mmtwins.py', str(src), str(dst)])
    assert proc.returncode == 2 and '--force' in proc.stderr
    assert osp.getsize(dst) > 0 and not [f for f in os.listdir(dst.parent) if f.endswith('.tmp')]


def test_mmengine_load_checkpoint_of_an_official_trainer_file(tmp_path, svt_official):
    """mmengine's load_checkpoint reads only 'state_dict': an official {'model': ...} file
    still loads into a bare backbone (as mmtwins' loader reads it); into a whole model it is
    refused, saying what to do (mmengine and torch hand the backbone only its own keys)
    (docs/faq.md)."""
    from mmengine.runner import load_checkpoint
    path = write(tmp_path, 'official_ckpt.pth',
                 official_trainer_file(with_classifier(svt_official)))
    model = TwinsSVT(arch=TINY_SVT)
    load_checkpoint(model, str(path))
    assert_same(features(model), features(build(TwinsSVT, TINY_SVT, path)))

    whole = torch.nn.Module()
    whole.backbone = TwinsSVT(arch=TINY_SVT)
    before = {k: v.clone() for k, v in whole.state_dict().items()}
    with pytest.raises(CheckpointError, match="no backbone tensors under 'backbone.'.*init_cfg"):
        load_checkpoint(whole, str(path))
    assert all(torch.equal(v, before[k]) for k, v in whole.state_dict().items())


ALLOW_SCRIPT = r'''
import sys, torch
if sys.argv[1] == 'allow':
    from mmtwins.checkpoint import allow_mmengine_checkpoints
    allow_mmengine_checkpoints()
for path in sys.argv[2:]:
    try:
        torch.load(path)  # plain torch.load, weights_only by default
        print(path, 'loaded')
    except Exception as exc:
        print(path, 'refused', type(exc).__name__)
'''


@pytest.mark.slow  # scripts of their own, in fresh interpreters
def test_allow_mmengine_checkpoints_in_a_script_of_ones_own(tmp_path):
    """What the docs tell users to call before their own torch.load: genuine mmengine files
    load, code-executing ones are still refused; without the call genuine ones fail too."""
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer
    genuine, evil, marker = tmp_path / 'iter_2.pth', tmp_path / 'evil.pth', tmp_path / 'pwned'
    torch.save({'state_dict': {'w': torch.ones(2)}, 'meta': {'iter': np.int64(2)},
                'message_hub': {'loss': HistoryBuffer([1.0], [1])}}, genuine)
    save_code_executing_checkpoint(evil, marker, state_dict={'w': torch.ones(2)})
    out = {}
    for mode in ('allow', 'plain'):
        proc = run_python(['-c', ALLOW_SCRIPT, mode, str(genuine), str(evil)])
        assert proc.returncode == 0, proc.stderr[-2000:]
        out[mode] = proc.stdout.split('\n')
    assert f'{genuine} loaded' in out['allow'] and f'{evil} refused UnpicklingError' in out['allow']
    assert f'{genuine} refused UnpicklingError' in out['plain']  # the call is what makes it work
    assert not marker.exists()
