"""--compile: mmengine's ``compile`` setting for training, CompileForInferenceHook for
validation and testing; compiled outputs match eager ones."""
import json
import os.path as osp
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from helpers import REPO_ROOT, scalars, tool
from helpers.toy_overlays import seg_overlay
from mmengine.config import Config
from mmengine.logging import MMLogger

from mmtwins.cli.run import enable_compile
from mmtwins.engine.compile_hook import compile_modules, compile_options

# inductor's fused kernels sum in another order than eager: fp32 logits agree to about 1e-5
RTOL, ATOL = 1e-4, 1e-4


def test_enable_compile_sets_mmengines_setting_and_the_hook():
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'fpn_twins_pcpvt_s_ade20k.py'))
    enable_compile(cfg)
    assert cfg.compile is True
    assert cfg.custom_hooks[-1] == dict(type='CompileForInferenceHook')
    enable_compile(cfg)  # once only
    assert [h['type'] for h in cfg.custom_hooks].count('CompileForInferenceHook') == 1
    # a user's torch.compile options are kept
    cfg.compile = dict(mode='max-autotune')
    enable_compile(cfg)
    assert compile_options(cfg) == dict(mode='max-autotune')
    assert compile_options(Config(dict())) is None
    with pytest.raises(TypeError, match='compile must be True, False or a dict'):
        compile_options(Config(dict(compile='yes')))


def test_compile_mode_reaches_the_compiled_modules(monkeypatch):
    """--compile-mode MODE on both tools: torch.compile's mode in mmengine's setting (a user's
    other options kept) and in the call that compiles the backbone, neck and decode head
    (e.g. reduce-overhead: CUDA graphs for batch-1 latency on a GPU)."""
    from torch import nn

    from mmtwins.cli import test as test_cmd
    from mmtwins.cli import train as train_cmd
    config = osp.join(REPO_ROOT, 'configs', 'fpn_twins_pcpvt_s_ade20k.py')
    assert train_cmd.parse_args([config, '--compile-mode', 'reduce-overhead']).compile_mode \
        == 'reduce-overhead'
    args = test_cmd.parse_args([config, 'x.pth', '--compile-mode', 'max-autotune'])
    assert args.compile_mode == 'max-autotune' and not args.compile
    with pytest.raises(SystemExit):
        test_cmd.parse_args([config, 'x.pth', '--compile-mode', 'fast'])
    cfg = Config.fromfile(config)
    cfg.compile = dict(dynamic=False)
    enable_compile(cfg, 'reduce-overhead')
    assert compile_options(cfg) == dict(dynamic=False, mode='reduce-overhead')
    assert cfg.custom_hooks[-1] == dict(type='CompileForInferenceHook')
    calls = []
    monkeypatch.setattr(torch, 'compile', lambda fn, **kw: calls.append(kw) or fn)
    model = nn.Module()
    model.backbone, model.neck = nn.Linear(2, 2), nn.Linear(2, 2)
    assert compile_modules(model, compile_options(cfg)) == ['backbone', 'neck']
    assert calls == [dict(dynamic=False, mode='reduce-overhead')] * 2


def test_compiled_modules_are_the_ones_the_hosts_test_path_calls(monkeypatch):
    """mmseg's test path (test_step -> predict) runs the compiled backbone, neck and decode
    head, also inside test-time augmentation: the decode head's forward, which mmseg calls
    directly, is compiled, for the loop only (restored after it)."""
    import copy

    from helpers.config_zoo import build
    from mmseg.models import SegTTAModel
    from mmseg.structures import SegDataSample

    from mmtwins.engine.compile_hook import CompileForInferenceHook
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'fpn_twins_pcpvt_s_ade20k.py'))
    model = build(cfg).eval()
    ran = []

    def fake_compile(fn, **options):  # records which compiled callables run
        assert options == dict(mode='reduce-overhead')

        def run(*args, **kwargs):
            ran.append(type(fn.__self__).__name__)
            return fn(*args, **kwargs)
        return run
    monkeypatch.setattr(torch, 'compile', fake_compile)
    runner = SimpleNamespace(model=SegTTAModel(module=model),
                             cfg=Config(dict(compile=dict(mode='reduce-overhead'))),
                             logger=MMLogger.get_instance('mmtwins-compile-test'))
    hook = CompileForInferenceHook()
    hook.before_test(runner)
    img = torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8)
    sample = SegDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64)))
    with torch.no_grad():
        model.test_step(dict(inputs=[img], data_samples=[sample]))
    assert ran == ['TwinsPCPVT', 'FPN', 'FPNHead']
    hook.after_test(runner)
    assert 'forward' not in vars(model.decode_head)
    copy.deepcopy(model)  # nothing of the loop's compiling left in the way


@pytest.mark.slow  # inductor compiles C++ kernels (about a minute on 2 cores)
def test_compiled_segmentor_matches_eager():
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'fpn_twins_svt_s_ade20k.py'))
    init_default_scope('mmseg')
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model).eval()
    names = list(model.state_dict())
    x = torch.randn(1, 3, 96, 128)
    with torch.no_grad():
        eager = model._forward(x)
        assert compile_modules(model, {}) == ['backbone', 'neck', 'decode_head']
        assert compile_modules(model, {}) == []  # already compiled
        compiled = model._forward(x)
    assert list(model.state_dict()) == names  # checkpoints load and save as before
    assert model.backbone._compiled_call_impl is not None
    torch.testing.assert_close(compiled, eager, rtol=RTOL, atol=ATOL)


@pytest.mark.slow
def test_test_tool_compile_gives_the_eager_metrics(toy, tmp_path):
    cfg = seg_overlay(tmp_path, 'fpn_twins_pcpvt_s_ade20k.py', toy['ade'], iters=2)
    work = tmp_path / 'work'
    tool(['tools/train.py', str(cfg), '--work-dir', str(work)])
    assert len(scalars(work)) == 2
    # the validation at the end of training, eager: mmengine's vis_data/scalars.json
    path, = work.glob('*/vis_data/scalars.json')
    eager = [r for r in map(json.loads, path.read_text().splitlines()) if 'mIoU' in r][-1]
    proc = tool(['tools/test.py', str(cfg), str(work / 'iter_2.pth'), '--work-dir', str(work),
                 '--compile'])
    assert 'torch.compile() for inference: backbone, neck, decode_head' in proc.stdout + \
        proc.stderr
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith('[mmtwins] metrics: ')][-1]
    metrics = json.loads(line[len('[mmtwins] metrics: '):])
    for key in ('aAcc', 'mIoU', 'mAcc'):
        assert metrics[key] == pytest.approx(eager[key], abs=0.02), key
    # --shape-buckets: the hook from the config, each batch padded to a bucket and cropped
    # back to the image by mmseg (test_shape_buckets: the logits of mmseg's own padding)
    preds = tmp_path / 'preds'
    proc = tool(['tools/test.py', str(cfg), str(work / 'iter_2.pth'), '--work-dir', str(work),
                 '--shape-buckets', '64x160', '32x32', '--out', str(preds)])
    assert 'shape buckets: each batch padded to the smallest of 32x32, 64x160 that' in \
        proc.stdout + proc.stderr
    assert '[mmtwins] metrics: {"aAcc": ' in proc.stdout
    import mmcv
    images = sorted((Path(toy['ade']) / 'images' / 'validation').glob('*.jpg'))
    maps = sorted(preds.glob('*.png'))
    assert len(maps) == len(images) == 2
    for image, label_map in zip(images, maps):  # each at its image's size
        assert mmcv.imread(str(label_map), 'unchanged').shape == mmcv.imread(str(image)).shape[:2]
