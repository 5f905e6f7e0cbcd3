"""Checkpoints given as URLs (and every other scheme of mmengine's ``CheckpointLoader``) are
read like local files: ``weights_only=True`` with mmtwins' allow-list, or safetensors. Served
by a local HTTP server (127.0.0.1) with a fresh torch hub cache (``TORCH_HOME``) per test.

Each door is tried with a genuine mmengine checkpoint (it loads, completely) and with one
whose unpickling would create a marker file (refused by mmtwins' reader, the marker never
appears). A control shows that the same file does run its code through mmengine's own loader,
so the absence of the marker is never vacuous."""
import os
import os.path as osp
import sys
import types

import numpy as np
import pytest
import torch
from helpers import REPO_ROOT, TINY_PCPVT, run_python, save_code_executing_checkpoint
from helpers.config_zoo import build
from helpers.http_server import CheckpointServer
from mmengine.config import Config
from mmengine.logging.history_buffer import HistoryBuffer

from mmtwins.checkpoint import CheckpointError, CheckpointNotFoundError, ChecksumError
from mmtwins.checkpoint.download import download
from mmtwins.checkpoint.schemes import SAFE_LOADERS, unsafe_schemes

SEG_CONFIG = osp.join(REPO_ROOT, 'configs', 'fpn_twins_pcpvt_s_ade20k.py')
DET_CONFIG = osp.join(REPO_ROOT, 'configs', 'retinanet_twins_pcpvt_s_fpn_1x_coco.py')


def tiny_config(path, arch=TINY_PCPVT):
    """A shipped config with a tiny PCPVT backbone (same code, small tensors), no
    pretrained backbone."""
    cfg = Config.fromfile(path)
    cfg.model.backbone.arch = dict(arch)
    cfg.model.backbone.init_cfg = None
    cfg.model.neck.in_channels = list(arch['embed_dims'])
    return cfg


# another variant: same depths and heads, twice the widths
OTHER_PCPVT = dict(TINY_PCPVT, embed_dims=[2 * d for d in TINY_PCPVT['embed_dims']])


def genuine_checkpoint(model, path):
    """A checkpoint as mmengine writes it (message hub with a HistoryBuffer, numpy scalars),
    whose weights differ from any fresh model's: the expected weights after loading."""
    weights = {k: (v + 0.5 if v.is_floating_point() else v)
               for k, v in model.state_dict().items()}
    torch.save({'meta': {'iter': np.int64(2), 'epoch': 1},
                'state_dict': weights,
                'message_hub': {'log_scalars': {'loss': HistoryBuffer([1.0, 0.5], [1, 1])}}},
               path)
    return weights


def assert_holds(model, weights, prefix=''):
    own = model.state_dict()
    keys = [k for k in weights if k.startswith(prefix)]
    assert keys
    for k in keys:
        assert torch.equal(own[k[len(prefix):]], weights[k]), k


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    home = tmp_path / 'torch_home'
    monkeypatch.setenv('TORCH_HOME', str(home))
    return home / 'hub' / 'checkpoints'


@pytest.fixture
def server():
    with CheckpointServer() as s:
        yield s


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    """Genuine and code-executing checkpoints of the tiny Semantic FPN and RetinaNet."""
    root = tmp_path_factory.mktemp('url_ckpts')
    out = {}
    for kind, path in (('seg', SEG_CONFIG), ('det', DET_CONFIG)):
        torch.manual_seed(1)
        model = build(tiny_config(path))
        out[kind] = genuine_checkpoint(model, root / f'{kind}.pth')
        out[f'{kind}_path'] = root / f'{kind}.pth'
        other = build(tiny_config(path, OTHER_PCPVT))
        genuine_checkpoint(other, root / f'{kind}_other_variant.pth')
        out[f'{kind}_other_variant_path'] = root / f'{kind}_other_variant.pth'
    return out


def hostile(tmp_path, name='evil.pth'):
    marker = tmp_path / 'pwned'
    path = tmp_path / name
    save_code_executing_checkpoint(path, marker, state_dict={}, meta={'iter': 1})
    return path, marker


# ---------------------------------------------------------------------------------------------
# the doors: each loads `url` the way users do and returns (model, prefix of the weights)

def door_load_checkpoint(url, cfg_kind, monkeypatch):
    from mmengine.runner import load_checkpoint
    model = build(tiny_config(SEG_CONFIG if cfg_kind == 'seg' else DET_CONFIG))
    load_checkpoint(model, url, map_location='cpu')
    return model, ''


def door_init_model(url, cfg_kind, monkeypatch):
    from mmseg.apis import init_model
    return init_model(tiny_config(SEG_CONFIG), url, device='cpu'), ''


def door_init_detector(url, cfg_kind, monkeypatch):
    from mmdet.apis import init_detector
    return init_detector(tiny_config(DET_CONFIG), url, device='cpu'), ''


def door_seg_inferencer(url, cfg_kind, monkeypatch):
    from mmseg.apis import MMSegInferencer
    return MMSegInferencer(tiny_config(SEG_CONFIG), weights=url, device='cpu').model, ''


def door_det_inferencer(url, cfg_kind, monkeypatch):
    from mmdet.apis import DetInferencer
    return DetInferencer(tiny_config(DET_CONFIG), weights=url, device='cpu',
                         show_progress=False).model, ''


def _pretrained(part):
    def door(url, cfg_kind, monkeypatch):
        cfg = tiny_config(SEG_CONFIG)
        cfg.model[part].init_cfg = dict(type='Pretrained', checkpoint=url, prefix=f'{part}.')
        model = build(cfg)
        model.init_weights()
        return getattr(model, part), f'{part}.'
    return door


def door_openmmlab(url, cfg_kind, monkeypatch):
    """open-mmlab:// names resolve through mmengine's table, extended by the user's
    MMENGINE_HOME/open_mmlab.json."""
    import json

    from mmengine.runner import load_checkpoint
    home = osp.join(os.environ['TORCH_HOME'], 'mmengine_home')
    os.makedirs(home, exist_ok=True)
    with open(osp.join(home, 'open_mmlab.json'), 'w') as f:
        json.dump({'toy_fpn': url}, f)
    monkeypatch.setenv('MMENGINE_HOME', home)
    model = build(tiny_config(SEG_CONFIG))
    load_checkpoint(model, 'open-mmlab://toy_fpn', map_location='cpu')
    return model, ''


def door_torchvision(url, cfg_kind, monkeypatch):
    from mmengine.runner import checkpoint as mm
    monkeypatch.setattr(mm, 'get_torchvision_models', lambda: {'toy_fpn': url})
    model = build(tiny_config(SEG_CONFIG))
    mm.load_checkpoint(model, 'torchvision://toy_fpn', map_location='cpu')
    return model, ''


def door_mmcls(url, cfg_kind, monkeypatch):
    from mmengine.runner import checkpoint as mm
    monkeypatch.setattr(mm, 'get_mmcls_models', lambda: {'toy_fpn': url})
    model = build(tiny_config(SEG_CONFIG))
    mm.load_checkpoint(model.backbone, 'mmcls://toy_fpn', map_location='cpu')
    return model.backbone, 'backbone.'


def door_pavi(url, cfg_kind, monkeypatch):
    """pavi's model cloud, stood in by a module that fetches the same URL."""
    import shutil
    import urllib.request

    class Model:
        name = 'ckpt.pth'

        def download(self, dst):
            with urllib.request.urlopen(url) as r, open(dst, 'wb') as f:
                shutil.copyfileobj(r, f)

    pavi = types.ModuleType('pavi')
    pavi.modelcloud = types.SimpleNamespace(get=lambda path: Model())
    monkeypatch.setitem(sys.modules, 'pavi', pavi)
    from mmengine.runner import load_checkpoint
    model = build(tiny_config(SEG_CONFIG))
    load_checkpoint(model, 'pavi://toy/fpn', map_location='cpu')
    return model, ''


def door_s3(url, cfg_kind, monkeypatch):
    """s3:// through mmengine's file backends, stood in by one that fetches the same URL."""
    import urllib.request

    import mmengine.fileio

    class Backend:
        def get(self, filepath):
            with urllib.request.urlopen(url) as r:
                return r.read()

    monkeypatch.setattr(mmengine.fileio, 'get_file_backend', lambda *a, **k: Backend())
    from mmengine.runner import load_checkpoint
    model = build(tiny_config(SEG_CONFIG))
    load_checkpoint(model, 'cluster:s3://bucket/fpn.pth', map_location='cpu')
    return model, ''


DOORS = {
    'load_checkpoint': (door_load_checkpoint, 'seg'),
    'init_model': (door_init_model, 'seg'),
    'init_detector': (door_init_detector, 'det'),
    'MMSegInferencer': (door_seg_inferencer, 'seg'),
    'DetInferencer': (door_det_inferencer, 'det'),
    'Pretrained neck': (_pretrained('neck'), 'seg'),
    'Pretrained decode_head': (_pretrained('decode_head'), 'seg'),
    'open-mmlab://': (door_openmmlab, 'seg'),
    'torchvision://': (door_torchvision, 'seg'),
    'mmcls://': (door_mmcls, 'seg'),
    'pavi://': (door_pavi, 'seg'),
    's3://': (door_s3, 'seg'),
}


@pytest.mark.parametrize('door', list(DOORS))
def test_url_door_loads_genuine_and_refuses_code(door, files, server, hub_cache, tmp_path,
                                                 monkeypatch):
    open_door, kind = DOORS[door]
    url = server.add(files[f'{kind}_path'])
    model, prefix = open_door(url, kind, monkeypatch)
    assert_holds(model, files[kind], prefix)  # every tensor, as saved

    evil, marker = hostile(tmp_path)
    with pytest.raises(CheckpointError, match='refusing to load') as info:
        open_door(server.add(evil), kind, monkeypatch)
    assert 'could run arbitrary code' in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize('door', ['load_checkpoint', 'init_model', 'init_detector',
                                  'MMSegInferencer', 'DetInferencer'])
def test_whole_model_of_another_variant_is_refused(door, files, server, hub_cache, monkeypatch):
    """A detector/segmentor checkpoint whose backbone is another variant: refused by the
    backbone before anything is copied, through the hosts' APIs and inferencers too."""
    open_door, kind = DOORS[door]
    url = server.add(files[f'{kind}_other_variant_path'])
    with pytest.raises(CheckpointError, match='nothing was loaded') as info:
        open_door(url, kind, monkeypatch)
    msg = str(info.value)
    assert 'The model is a Twins-PCPVT with embed_dims [16, 32, 32, 64]' in msg
    assert 'the checkpoint holds a Twins-PCPVT with embed_dims [32, 64, 64, 128]' in msg


def test_backbone_init_cfg_url_refuses_code(server, hub_cache, tmp_path):
    """The backbone's own init_cfg (mmtwins' loader) reads URLs the same way."""
    from mmtwins.models import TwinsPCPVT
    evil, marker = hostile(tmp_path)
    model = TwinsPCPVT(arch=dict(TINY_PCPVT),
                       init_cfg=dict(type='Pretrained', checkpoint=server.add(evil)))
    with pytest.raises(CheckpointError, match='refusing to load'):
        model.init_weights()
    assert not marker.exists()


def test_every_mmengine_scheme_has_the_safe_loader():
    """Nothing of mmengine's CheckpointLoader is left with a loader of its own (a scheme that
    a newer mmengine adds would show up here and in python -m mmtwins.env)."""
    from mmengine.runner.checkpoint import CheckpointLoader
    assert unsafe_schemes() == []
    ours = {loader for _, loader in SAFE_LOADERS}
    for path in ('x.pth', '/abs/x.pth', 'http://h/x.pth', 'https://h/x.pth',
                 'open-mmlab://resnet50_v1c', 'openmmlab://x', 'torchvision://resnet50',
                 'modelzoo://resnet50', 'mmcls://x', 'pavi://x', 's3://b/x.pth',
                 'cluster:s3://b/x.pth', 'petrel://b/x.pth'):
        assert CheckpointLoader._get_checkpoint_loader(path) in ours, path


def test_mmengine_alone_runs_the_code_of_a_url_checkpoint(server, tmp_path):
    """The control: without mmtwins, mmengine's http loader (torch.hub, weights_only=False)
    does run the file's code. This is what the tests above guard against."""
    evil, marker = hostile(tmp_path)
    url = server.add(evil)
    code = ('import sys\n'
            'from mmengine.runner.checkpoint import _load_checkpoint\n'
            '_load_checkpoint(sys.argv[1], map_location="cpu")\n'
            "assert 'mmtwins' not in sys.modules\n")
    proc = run_python(['-c', code, url], env={'TORCH_HOME': str(tmp_path / 'home')},
                      timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert marker.exists()


# ---------------------------------------------------------------------------------------------
# downloads a user can trust

def cache_files(cache):
    return sorted(os.listdir(cache)) if osp.isdir(cache) else []


def test_hash_in_name_checked(files, server, hub_cache):
    import hashlib
    data = files['seg_path'].read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    good = server.add(files['seg_path'], name=f'fpn-{digest[:8]}.pth')
    path = download(good)
    assert path == str(hub_cache / f'fpn-{digest[:8]}.pth')
    assert download(good) == path  # from the cache: one request in all
    assert server.requests[f'fpn-{digest[:8]}.pth'] == 1

    wrong = '0' * 8 if not digest.startswith('0' * 8) else '1' * 8
    bad = server.add(files['seg_path'], name=f'fpn_other-{wrong}.pth')
    with pytest.raises(ChecksumError, match=f'SHA-256 starts with {wrong}') as info:
        download(bad)
    assert bad in str(info.value) and 'nothing was kept' in str(info.value)
    assert cache_files(hub_cache) == [f'fpn-{digest[:8]}.pth']  # no partial file either


def test_interrupted_download_leaves_no_file(files, server, hub_cache):
    url = server.add(files['seg_path'], name='fpn.pth', truncate=True)
    size = files['seg_path'].stat().st_size
    with pytest.raises(CheckpointNotFoundError,
                       match=f'transfer ended after {size // 2} of {size} bytes'):
        download(url)
    assert cache_files(hub_cache) == []
    server.truncated.clear()  # the next try gets the whole file
    assert download(url) == str(hub_cache / 'fpn.pth')
    assert (hub_cache / 'fpn.pth').read_bytes() == files['seg_path'].read_bytes()


def test_missing_and_unreachable_urls_are_one_line(server, hub_cache):
    url = server.url('no_such-0123abcd.pth')
    with pytest.raises(FileNotFoundError) as info:
        download(url)
    msg = str(info.value)
    assert '\n' not in msg and url in msg and '404' in msg
    import socket
    with socket.socket() as s:  # a port nothing listens on
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    url = f'http://127.0.0.1:{port}/x.pth'
    with pytest.raises(CheckpointNotFoundError) as info:
        download(url)
    msg = str(info.value)
    assert '\n' not in msg and url in msg and 'refused' in msg.lower()
    assert cache_files(hub_cache) == []


@pytest.mark.slow
@pytest.mark.parametrize('case', ['ok', 'missing'])
def test_distributed_download_once_per_node(case, files, server, tmp_path):
    """Two processes (gloo): local rank 0 downloads, rank 1 waits; a failed download stops
    both with the error (no rank waits forever)."""
    import socket
    name = 'fpn.pth'
    url = server.add(files['seg_path'], name=name) if case == 'ok' else server.url('gone.pth')
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    script = osp.join(REPO_ROOT, 'tests', 'scripts', 'dist_download.py')
    import subprocess
    procs = []
    for rank in (0, 1):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE='2',
                   MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port),
                   TORCH_HOME=str(tmp_path / 'home'), OMP_NUM_THREADS='1')
        procs.append(subprocess.Popen([sys.executable, script, url], env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    outs = [p.communicate(timeout=240) for p in procs]
    codes = [p.returncode for p in procs]
    if case == 'ok':
        assert codes == [0, 0], outs
        paths = {out.strip().splitlines()[-1] for out, _ in outs}
        assert len(paths) == 1 and paths.pop().endswith(name)
        assert server.requests[name] == 1
    else:
        assert codes == [1, 1], outs
        assert '404' in outs[0][1] and url in outs[0][1]
        assert 'the process that downloads it failed' in outs[1][1]


def test_guarantees_page_lists_the_schemes_and_doors_tested_here():
    """docs/guarantees.md's scheme table names exactly the prefixes mmtwins registers, and
    every door it names for the hosts' APIs is one of the doors tested above."""
    import re
    with open(osp.join(REPO_ROOT, 'docs', 'guarantees.md')) as f:
        page = f.read()
    section = page.split('## No foreign code runs', 1)[1].split('\n## ', 1)[0]
    rows = [ln for ln in section.splitlines() if ln.startswith('| ') and '---' not in ln][1:]
    documented = {p for row in rows for p in re.findall(r'`([a-z0-9-]+://)`', row.split('|')[1])}
    registered = {p for prefixes, _ in SAFE_LOADERS for p in prefixes if p}
    registered = {re.sub(r'^\(\\S\+\\:\)\?', '', p) for p in registered}
    assert documented == registered
    assert any(row.startswith('| a local path') for row in rows)
    for door in ('init_model', 'init_detector', 'MMSegInferencer', 'DetInferencer'):
        assert f'`{door}`' in section or f'`mmseg.apis.{door}`' in section \
            or f'`mmdet.apis.{door}`' in section, door
        assert door in DOORS
