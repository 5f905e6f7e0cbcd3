"""Whole trained models of every Twins layout run through our configs, through every door,
completely or not at all.

References are independent of mmtwins' converter: mmseg's own Twins segmentors, built from
mmseg's installed config files with random weights (so their state dicts are exactly what
mmseg saves), and the plain official-layout reference model of ``reference_twins`` for the
official layouts. Heads are narrowed (same change on both sides) to keep files and runs
small.
"""
import os
import os.path as osp
import re
from collections import OrderedDict

import pytest
import torch
from helpers import REPO_ROOT, run_python
from helpers.http_server import CheckpointServer
from helpers.reference_twins import RefTwins, randomize_
from helpers.toy_overlays import seg_overlay
from helpers.twins_formats import ARCHS, to_mmseg, with_classifier

mmseg = pytest.importorskip('mmseg')

from mmengine.config import Config  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from mmtwins.checkpoint import CheckpointError  # noqa: E402
from mmtwins.cli.devices import replace_norm_type  # noqa: E402
from mmtwins.model_zoo import find  # noqa: E402

MMSEG_TWINS = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs', 'twins')
CONFIGS = osp.join(REPO_ROOT, 'configs')
NARROW_HEADS = dict(decode_head=dict(channels=32), auxiliary_head=dict(channels=16))
NARROW_OPTIONS = ['model.decode_head.channels=32', 'model.auxiliary_head.channels=16']
# 64x112: LSA windows are padded at the bottom only in stages 1-3 (mmseg's mask is then
# off) and on both sides in stage 4
X = torch.randn(1, 3, 64, 112, generator=torch.Generator().manual_seed(3))


def ade_meta():
    from mmseg.datasets import ADE20KDataset
    meta = ADE20KDataset.METAINFO
    return dict(CLASSES=tuple(meta['classes']), PALETTE=[list(c) for c in meta['palette']],
                mmcv_version='1.4.0', iter=160000, epoch=1)


def randomize_all_(model, seed):
    """Random values in every float tensor of the state dict, BN statistics included."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            if name.endswith('running_var'):
                t.copy_(0.5 + torch.rand(t.shape, generator=gen))
            elif t.dim() == 1 and name.endswith('weight'):
                t.copy_(1 + 0.1 * torch.randn(t.shape, generator=gen))
            elif t.dim() == 1:
                t.copy_(0.05 * torch.randn(t.shape, generator=gen))
            else:
                t.copy_(torch.randn(t.shape, generator=gen) / max(t[0].numel(), 1) ** 0.5)
    return model.eval()


def cpu_config(path, **backbone):
    cfg = Config.fromfile(path)
    cfg.model.backbone.init_cfg = None
    cfg.model.pop('pretrained', None)
    if 'decode_head' in cfg.model:
        cfg.merge_from_dict(dict(model=NARROW_HEADS))
    cfg.model.backbone.update(backbone)
    replace_norm_type(cfg.model, 'SyncBN', 'BN')
    return cfg


def ours_config(name, **backbone):
    import mmtwins  # noqa: F401
    return cpu_config(osp.join(CONFIGS, name), **backbone)


def head_logits(model, x=X):
    with torch.no_grad():
        return model.decode_head(model.extract_feat(x))


def rel_diff(a, b):
    return ((a - b).norm() / b.norm()).item()


@pytest.fixture(scope='module')
def mmseg_svt_s():
    """mmseg's own UPerNet Twins-SVT-S (mmseg's implementation), random weights."""
    init_default_scope('mmseg')
    from mmseg.registry import MODELS
    cfg = cpu_config(osp.join(MMSEG_TWINS, 'twins_svt-s_uperhead_8xb2-160k_ade20k-512x512.py'))
    return randomize_all_(MODELS.build(cfg.model), seed=11)


@pytest.fixture(scope='module')
def ckpts(mmseg_svt_s, tmp_path_factory):
    """Whole-model checkpoints in the released layouts."""
    root = tmp_path_factory.mktemp('trained')
    paths = {}
    # mmseg's model zoo: mmseg's names for everything, mmcv 1.x meta
    mmseg_sd = mmseg_svt_s.state_dict()
    paths['mmseg'] = root / 'upernet_twins_svt_s_mmseg.pth'
    torch.save(dict(meta=ade_meta(), state_dict=mmseg_sd), paths['mmseg'])
    heads = OrderedDict((k, v) for k, v in mmseg_sd.items() if not k.startswith('backbone.'))
    # the official segmentation release: official backbone names (with the stage norms and
    # the unused ImageNet classifier), mmseg 0.x heads, meta, optimizer state
    ref = randomize_(RefTwins(**ARCHS['svt_s'], norm_list=True), seed=5).eval()
    official = OrderedDict(('backbone.' + k, v)
                           for k, v in with_classifier(ref.state_dict()).items())
    official.update(heads)
    paths['official'] = root / 'upernet_alt_gvt_small_official.pth'
    torch.save(dict(meta=ade_meta(), state_dict=official,
                    optimizer=dict(state={}, param_groups=[dict(lr=6e-5, params=[0, 1])])),
               paths['official'])
    # another variant (SVT-B in mmseg's layout) with the same heads file structure
    ref_b = randomize_(RefTwins(**ARCHS['svt_b'], norm_list=True), seed=6)
    wrong = OrderedDict(('backbone.' + k, v) for k, v in to_mmseg(ref_b.state_dict()).items())
    wrong.update(heads)
    paths['svt_b'] = root / 'upernet_twins_svt_b_mmseg.pth'
    torch.save(dict(meta=ade_meta(), state_dict=wrong), paths['svt_b'])
    # no class names at all
    paths['no_meta'] = root / 'no_meta.pth'
    torch.save(dict(state_dict=mmseg_sd), paths['no_meta'])
    return dict(paths=paths, ref=ref)


def test_mmseg_zoo_layout_init_model_and_inferencer(mmseg_svt_s, ckpts):
    from mmseg.apis import MMSegInferencer, init_model
    path = str(ckpts['paths']['mmseg'])
    expected = head_logits(mmseg_svt_s)
    # with mmseg's numerics the logits are mmseg's, to float precision
    exact = init_model(ours_config('upernet_twins_svt_s_ade20k.py', norm_eps=1e-5,
                                   window_padding='mmseg'), path, device='cpu')
    torch.testing.assert_close(head_logits(exact), expected, rtol=1e-4, atol=1e-4)
    assert exact.dataset_meta['classes'] == ade_meta()['CLASSES']
    # the default (official) numerics differ from mmseg's: the switch is what makes it exact
    official = init_model(ours_config('upernet_twins_svt_s_ade20k.py'), path, device='cpu')
    assert rel_diff(head_logits(official), expected) > 1e-3
    # mmseg's inferencer loads exactly the same tensors
    inferencer = MMSegInferencer(model=ours_config('upernet_twins_svt_s_ade20k.py'),
                                 weights=path, device='cpu')
    theirs = inferencer.model.state_dict()
    for key, value in official.state_dict().items():
        torch.testing.assert_close(theirs[key], value, rtol=0, atol=0, msg=key)


def test_official_segmentation_layout(mmseg_svt_s, ckpts):
    from mmseg.apis import init_model
    model = init_model(ours_config('upernet_twins_svt_s_ade20k.py'),
                       str(ckpts['paths']['official']), device='cpu')
    # reference: the official-layout model's features through mmseg's own heads
    with torch.no_grad():
        expected = mmseg_svt_s.decode_head(ckpts['ref'](X, 'mask'))
    torch.testing.assert_close(head_logits(model), expected, rtol=1e-4, atol=1e-4)


def test_official_detector_layout_init_detector(tmp_path):
    pytest.importorskip('mmdet')
    from mmdet.apis import init_detector
    from mmdet.registry import MODELS
    cfg = ours_config('retinanet_twins_pcpvt_s_fpn_1x_coco.py')
    init_default_scope('mmdet')
    donor = randomize_all_(MODELS.build(cfg.model), seed=3)
    ref = randomize_(RefTwins(**ARCHS['pcpvt_s']), seed=4).eval()
    sd = OrderedDict(('backbone.' + k, v) for k, v in with_classifier(ref.state_dict()).items())
    sd.update((k, v) for k, v in donor.state_dict().items() if not k.startswith('backbone.'))
    path = tmp_path / 'retinanet_pcpvt_s_official.pth'
    torch.save(dict(meta=dict(CLASSES=('a', 'b'), mmdet_version='2.8.0'), state_dict=sd), path)
    model = init_detector(cfg, str(path), device='cpu')
    x = torch.randn(1, 3, 96, 128)
    with torch.no_grad():
        for got, want in zip(model.backbone(x), ref(x)):
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    own = model.state_dict()
    for key, value in donor.state_dict().items():
        if not key.startswith('backbone.'):
            torch.testing.assert_close(own[key], value, rtol=0, atol=0, msg=key)
    # mmdet's inferencer loads exactly the same tensors
    from mmdet.apis import DetInferencer
    theirs = DetInferencer(model=cfg, weights=str(path), device='cpu',
                           show_progress=False).model.state_dict()
    for key, value in own.items():
        torch.testing.assert_close(theirs[key], value, rtol=0, atol=0, msg=key)


def test_wrong_variant_and_missing_tensors_refused_by_init_model(ckpts, tmp_path):
    from mmseg.apis import init_model
    cfg = ours_config('upernet_twins_svt_s_ade20k.py')
    with pytest.raises(CheckpointError, match=r'(?s)nothing was loaded.*Twins-SVT-S.*Twins-SVT-B'):
        init_model(cfg, str(ckpts['paths']['svt_b']), device='cpu')
    # PCPVT weights for an SVT config
    with pytest.raises(CheckpointError, match='Twins-PCPVT'):
        init_model(ours_config('upernet_twins_pcpvt_s_ade20k.py'),
                   str(ckpts['paths']['mmseg']), device='cpu')
    # one backbone tensor missing
    ckpt = torch.load(ckpts['paths']['mmseg'], weights_only=True)
    del ckpt['state_dict']['backbone.layers.2.3.ffn.layers.1.weight']
    path = tmp_path / 'incomplete.pth'
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match='missing'):
        init_model(cfg, str(path), device='cpu')
    # a whole model with another backbone
    ckpt['state_dict'] = OrderedDict(
        [('backbone.conv1.weight', torch.zeros(64, 3, 7, 7))]
        + [(k, v) for k, v in ckpt['state_dict'].items() if not k.startswith('backbone.')])
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match='not a Twins backbone'):
        init_model(cfg, str(path), device='cpu')


def test_backbone_load_state_dict_converts_and_refuses():
    from mmtwins.models import TwinsPCPVT, TwinsSVT
    ref = randomize_(RefTwins(**ARCHS['svt_s'], norm_list=True), seed=2).eval()
    model = TwinsSVT(arch='small').eval()
    model.load_state_dict(with_classifier(ref.state_dict()))  # official names, strict
    assert model.last_load['format'] == 'official'
    with torch.no_grad():
        for got, want in zip(model(X), ref(X, 'mask')):
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointError, match='Twins-PCPVT-S'):
        model.load_state_dict(to_mmseg(RefTwins(**ARCHS['pcpvt_s']).state_dict()))
    with pytest.raises(CheckpointError, match='no backbone tensors'):
        model.load_state_dict({}, strict=False)
    for k, v in model.state_dict().items():  # untouched
        assert torch.equal(v, before[k]), k
    # mmtwins' own layout: loads silently and strictly
    pcpvt = TwinsPCPVT(arch='small')
    pcpvt.load_state_dict(TwinsPCPVT(arch='small').state_dict())
    assert pcpvt.last_load['format'] == 'mmtwins'


def test_tools_test_py_from_url_and_refusal(ckpts, toy, tmp_path):
    import shutil
    config = seg_overlay(tmp_path, 'upernet_twins_svt_s_ade20k.py', toy['ade'])
    env = dict(TORCH_HOME=str(tmp_path / 'torch_home'))
    with CheckpointServer() as server:
        url = server.add(ckpts['paths']['mmseg'], name='upernet_twins_svt_s_mmseg.pth')
        out = run_python(['tools/test.py', str(config), url, '--work-dir', str(tmp_path / 'w1'),
                          '--cfg-options'] + NARROW_OPTIONS, env=env)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    assert '[mmtwins] metrics' in out.stdout
    assert 'mmtwins: loaded' in log and 'backbone: mmseg layout, converted' in log
    assert 'missing keys' not in log and 'unexpected key' not in log
    assert osp.isfile(tmp_path / 'torch_home' / 'hub' / 'checkpoints'
                      / 'upernet_twins_svt_s_mmseg.pth')
    # an SVT-B checkpoint, under the name of mmseg's published SVT-B UPerNet
    wrong = tmp_path / osp.basename(find('mmseg/upernet_twins_svt_b_ade20k')['url'])
    shutil.copy(ckpts['paths']['svt_b'], wrong)
    out = run_python(['tools/test.py', str(config), str(wrong),
                      '--work-dir', str(tmp_path / 'w2'), '--cfg-options'] + NARROW_OPTIONS)
    assert out.returncode != 0
    assert '[mmtwins] metrics' not in out.stdout
    assert 'Twins-SVT-B' in out.stderr and 'nothing was loaded' in out.stderr
    assert 'run it with configs/upernet_twins_svt_b_ade20k.py' in out.stderr
    assert 'Traceback' not in out.stderr


FIVE_CLASSES = ('wall', 'floor', 'tree', 'person', 'car')


def test_load_from_fine_tunes_into_five_classes(ckpts, toy, tmp_path):
    config = seg_overlay(tmp_path, 'upernet_twins_svt_s_ade20k.py', toy['ade'], iters=2)
    with open(config, 'a') as f:
        f.write(f'\nmetainfo = dict(classes={FIVE_CLASSES!r})\n'
                "train_dataloader['dataset']['metainfo'] = metainfo\n"
                "val_dataloader['dataset']['metainfo'] = metainfo\n"
                f'load_from = {str(ckpts["paths"]["official"])!r}\n')
    out = run_python(['tools/train.py', str(config), '--work-dir', str(tmp_path / 'w'),
                      '--cfg-options', 'model.decode_head.num_classes=5',
                      'model.auxiliary_head.num_classes=5'] + NARROW_OPTIONS)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    line = next(ln for ln in log.splitlines() if 'mmtwins: loaded' in ln)
    assert 'backbone: official layout, converted' in line
    # one line in all: the hook hands the converted backbone over, which has nothing to add
    assert "converted to mmtwins' names" not in log
    assert 'skipped 4 tensor(s) sized by the number of classes' in line
    assert '150 rows in the checkpoint, 5 in the config' in line
    assert 'size mismatch' not in log and 'missing keys' not in log
    assert osp.isfile(tmp_path / 'w' / 'iter_2.pth')


def test_demo_uses_config_classes_without_checkpoint_meta(ckpts, toy, tmp_path):
    images = osp.join(toy['ade'], 'images', 'validation')
    config = seg_overlay(tmp_path, 'upernet_twins_svt_s_ade20k.py', toy['ade'])
    out = run_python(['tools/demo.py', images, str(config), str(ckpts['paths']['no_meta']),
                      '--out-dir', str(tmp_path / 'pics'), '--device', 'cpu'])
    log = out.stdout + out.stderr
    # the narrow heads come from the checkpoint's config here: demo has no --cfg-options,
    # so the wide config's heads must refuse the narrow checkpoint first
    assert out.returncode != 0 and 'does not fit the model outside its backbone' in log
    with open(config, 'a') as f:
        f.write('model.update(decode_head=dict(channels=32), auxiliary_head=dict(channels=16))\n')
    out = run_python(['tools/demo.py', images, str(config), str(ckpts['paths']['no_meta']),
                      '--out-dir', str(tmp_path / 'pics'), '--device', 'cpu'])
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    assert 'class names from the config (the checkpoint has none): 150 classes' in out.stdout
    assert 'cityscapes' not in log.lower()
    assert len(os.listdir(tmp_path / 'pics' / 'vis')) == 2


def test_batch_of_one_with_batchnorm_stops_before_training(tmp_path, capsys):
    from mmtwins.cli.run import run_main
    from mmtwins.cli.train import main
    code = run_main(main, [osp.join(CONFIGS, 'upernet_twins_svt_s_ade20k.py'), '--work-dir',
                           str(tmp_path / 'w'), '--cfg-options',
                           'train_dataloader.batch_size=1', 'model.backbone.init_cfg=None'])
    err = capsys.readouterr().err
    assert code == 1
    assert re.search(r'train_dataloader.batch_size=1 with (Sync)?BN in the UPerHead', err)
    assert 'train_dataloader.batch_size=2' in err
    assert not osp.exists(tmp_path / 'w')


@pytest.mark.slow  # three UPerNets
def test_compare_numerics_tool_against_mmsegs_own_model(ckpts, tmp_path, capsys):
    """tools/analysis/compare_numerics.py (its figures are in docs/model_zoo.md): its
    "mmseg numerics" side is ours with norm_eps=1e-5 and window_padding='mmseg'; the
    difference it prints equals the one between ours and mmseg's own model, run here."""
    import importlib.util

    import numpy as np
    from mmseg.apis import inference_model, init_model
    from PIL import Image
    image = tmp_path / 'scene.png'
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 112, 3), dtype=np.uint8)).save(image)
    spec = importlib.util.spec_from_file_location(
        'compare_numerics', osp.join(REPO_ROOT, 'tools', 'analysis', 'compare_numerics.py'))
    tool_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool_module)
    ckpt = str(ckpts['paths']['mmseg'])
    config = osp.join(CONFIGS, 'upernet_twins_svt_s_ade20k.py')
    assert tool_module.main([config, ckpt, str(image), '--cfg-options'] + NARROW_OPTIONS) == 0
    out = capsys.readouterr().out
    m = re.search(r'scene.png: logits rel. diff ([\d.e+-]+), changed pixels ([\d.]+)%', out)
    assert m and 'over 1 image(s)' in out, out
    reported = float(m.group(1))

    ours = init_model(ours_config('upernet_twins_svt_s_ade20k.py'), ckpt, device='cpu')
    theirs = init_model(cpu_config(osp.join(MMSEG_TWINS,
                                            'twins_svt-s_uperhead_8xb2-160k_ade20k-512x512.py')),
                        ckpt, device='cpu')
    with torch.no_grad():
        a = inference_model(ours, str(image)).seg_logits.data.float()
        b = inference_model(theirs, str(image)).seg_logits.data.float()
    independent = rel_diff(a, b)
    assert independent > 0
    assert reported == pytest.approx(independent, rel=0.05, abs=1e-6)


# (door, checkpoint, what the refusal says): the runner doors, where mmengine loads
# non-strictly and CheckpointCompatibilityHook (heads, class counts) and the backbone (its
# variant) refuse before anything runs
RUNNER_REFUSALS = [
    ('tools/test.py', 'five_classes', 'was trained for another number of classes'),
    ('tools/train.py --resume', 'five_classes', 'was trained for another number of classes'),
    ('tools/train.py load_from', 'wide_config', 'does not fit the model outside its backbone'),
    ('tools/train.py load_from', 'svt_b', 'Twins-SVT-B'),
    ('tools/train.py --resume', 'svt_b', 'Twins-SVT-B'),
    ('mmseg test.py', 'five_classes', 'was trained for another number of classes'),
    ('mmseg test.py', 'svt_b', 'Twins-SVT-B'),
    ('mmseg train.py load_from', 'wide_config', 'does not fit the model outside its backbone'),
    ('mmseg train.py load_from', 'svt_b', 'Twins-SVT-B'),
]


@pytest.mark.slow  # a tool in a subprocess
@pytest.mark.parametrize('door,which,message', RUNNER_REFUSALS)
def test_runner_doors_refuse_checkpoints_that_do_not_fit(ckpts, toy, tmp_path, door, which,
                                                         message):
    from helpers import host_tool
    config = seg_overlay(tmp_path, 'upernet_twins_svt_s_ade20k.py', toy['ade'], iters=2)
    options = [] if which == 'wide_config' else NARROW_OPTIONS
    if which == 'five_classes':  # the heads' class layers cut to 5 rows
        ckpt = torch.load(ckpts['paths']['mmseg'], weights_only=True)
        for key in list(ckpt['state_dict']):
            if '.conv_seg.' in key:
                ckpt['state_dict'][key] = ckpt['state_dict'][key][:5].clone()
        ckpt['meta'].update(iter=2)
        path = tmp_path / 'five_classes.pth'
        torch.save(ckpt, path)
    else:
        path = ckpts['paths']['svt_b' if which == 'svt_b' else 'mmseg']
    work = tmp_path / 'w'
    if door == 'tools/test.py':
        args = ['tools/test.py', str(config), str(path)]
    elif door == 'mmseg test.py':
        args = [host_tool('mmseg', 'test.py'), str(config), str(path)]
    elif door == 'tools/train.py --resume':
        args = ['tools/train.py', str(config), '--resume', str(path)]
    else:
        script = 'tools/train.py' if door.startswith('tools') else host_tool('mmseg', 'train.py')
        args = [script, str(config)]
        options = options + [f'load_from={path}']
    args += ['--work-dir', str(work)] + (['--cfg-options'] + options if options else [])
    out = run_python(args)
    log = out.stdout + out.stderr
    assert out.returncode != 0, log[-3000:]
    assert message in log and 'nothing was loaded' in log, log[-3000:]
    assert not list(work.glob('iter_*.pth'))  # nothing trained on a half-loaded model
