"""Hugging Face hub ids as checkpoints, read from a hub cache that the test writes (offline)."""
import hashlib
import importlib.util
import json
import os
import os.path as osp
import sys

import pytest
import torch
from helpers import TINY_SVT, run_python, save_code_executing_checkpoint
from helpers.reference_twins import RefTwins, randomize_
from helpers.twins_formats import ARCHS, with_classifier

from mmtwins.checkpoint import CheckpointNotFoundError, resolve_checkpoint_path
from mmtwins.checkpoint.hub import download_from_hub, is_hub_id, split_hub_id
from mmtwins.models import TwinsSVT

needs_hub = pytest.mark.skipif(importlib.util.find_spec('huggingface_hub') is None,
                               reason='huggingface_hub is not installed')
REPO = 'timm/twins_svt_small.in1k'
COMMIT = hashlib.sha1(b'mmtwins test commit').hexdigest()


def add_to_cache(cache, repo_id, filename, data: bytes, commit=COMMIT):
    """Lay out a file as huggingface_hub's cache holds it: blob, snapshot link, ref."""
    repo_dir = cache / ('models--' + repo_id.replace('/', '--'))
    blob = repo_dir / 'blobs' / hashlib.sha256(data).hexdigest()
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    snapshot = repo_dir / 'snapshots' / commit / filename
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(osp.relpath(blob, snapshot.parent), snapshot)
    (repo_dir / 'refs').mkdir(exist_ok=True)
    (repo_dir / 'refs' / 'main').write_text(commit)  # no newline, as huggingface_hub writes it
    return snapshot


# Runs in a fresh interpreter: huggingface_hub reads HF_HOME / HF_HUB_CACHE / HF_HUB_OFFLINE
# when it is imported, exactly as in a user's process.
SCRIPT = r'''
import json, sys
import torch
from mmtwins.checkpoint import CheckpointNotFoundError, resolve_checkpoint_path
from mmtwins.models import TwinsPCPVT, TwinsSVT

out_dir, commit = sys.argv[1], sys.argv[2]


def build(cls, checkpoint):
    model = cls(arch='small', norm_after_stage=False,
                init_cfg=dict(type='Pretrained', checkpoint=checkpoint))
    model.init_weights()
    return model.eval()


def error_of(fn):
    try:
        fn()
    except Exception as exc:
        cause = exc.__cause__
        return dict(type=type(exc).__name__, not_found=isinstance(exc, CheckpointNotFoundError),
                    message=str(exc),
                    cause=[c.__name__ for c in type(cause).__mro__] if cause else [])
    return None


x = torch.randn(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))
model = build(TwinsSVT, 'timm/twins_svt_small.in1k')
with torch.no_grad():
    torch.save([f.clone() for f in model(x)], out_dir + '/features.pt')
prefixed = build(TwinsSVT, 'hf-hub:timm/twins_svt_small.in1k@main')
import huggingface_hub.constants as constants
result = dict(
    offline=constants.HF_HUB_OFFLINE, cache=constants.HF_HUB_CACHE,
    prefixed_equal=all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                         prefixed.state_dict().values())),
    paths={hub_id: resolve_checkpoint_path(hub_id) for hub_id in (
        'timm/twins_svt_small.in1k', 'hf-hub:timm/twins_svt_small.in1k',
        'hf_hub:timm/twins_svt_small.in1k@' + commit, 'hf-hub:someone/bin_only')},
    not_cached=error_of(lambda: resolve_checkpoint_path('timm/twins_pcpvt_small.in1k')),
    not_cached_model=error_of(lambda: build(TwinsPCPVT, 'hf-hub:timm/twins_pcpvt_small.in1k')),
    unknown_revision=error_of(
        lambda: resolve_checkpoint_path('hf-hub:timm/twins_svt_small.in1k@v9')),
    hostile=error_of(lambda: build(TwinsSVT, 'hf-hub:someone/evil_bin')),
)
print(json.dumps(result))
'''


@pytest.fixture(scope='module')
def offline_run(tmp_path_factory):
    """Random SVT-S weights in timm's layout, cached as the hub repo, loaded offline."""
    root = tmp_path_factory.mktemp('hub')
    hf_home = root / 'hf_home'
    cache = hf_home / 'hub'
    ref = randomize_(RefTwins(**ARCHS['svt_s']), seed=3).eval()
    state_dict = with_classifier(ref.state_dict(), num_classes=1000)
    from safetensors.torch import save
    data = save({k: v.contiguous() for k, v in state_dict.items()})
    snapshot = add_to_cache(cache, REPO, 'model.safetensors', data)
    bin_only = add_to_cache(cache, 'someone/bin_only', 'pytorch_model.bin', b'not read')
    # a repo whose pytorch_model.bin would run code when unpickled
    marker = root / 'pwned'
    save_code_executing_checkpoint(root / 'evil.bin', marker, **state_dict)
    add_to_cache(cache, 'someone/evil_bin', 'pytorch_model.bin', (root / 'evil.bin').read_bytes())
    before = sorted(str(p) for p in cache.rglob('*'))

    env = dict(HF_HOME=str(hf_home), HF_HUB_CACHE=str(cache), HF_HUB_OFFLINE='1',
               HF_HUB_DISABLE_TELEMETRY='1')
    proc = run_python(['-c', SCRIPT, str(root), COMMIT], env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    x = torch.randn(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    return dict(result=result, cache=cache, snapshot=snapshot, bin_only=bin_only, marker=marker,
                expected=ref(x, 'mask'), features=torch.load(root / 'features.pt'),
                cache_untouched=before == sorted(str(p) for p in cache.rglob('*')))


@needs_hub
def test_hub_id_loads_timm_safetensors_from_the_cache_offline(offline_run):
    result = offline_run['result']
    assert result['offline'] is True and result['cache'] == str(offline_run['cache'])
    # the weights are the file's: features equal the independent reference model's
    assert len(offline_run['features']) == 4
    for got, want in zip(offline_run['features'], offline_run['expected']):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    # the path is the cached snapshot (the blob behind huggingface_hub's symlink)
    path = result['paths'][REPO]
    assert osp.basename(path) == 'model.safetensors'
    assert osp.realpath(path) == osp.realpath(offline_run['snapshot'])
    assert offline_run['cache_untouched']


@needs_hub
def test_hf_hub_prefix_and_revisions(offline_run):
    result = offline_run['result']
    assert result['prefixed_equal']  # 'hf-hub:...@main' loaded the same weights
    snapshot = osp.realpath(offline_run['snapshot'])
    for hub_id in ('hf-hub:' + REPO, 'hf_hub:' + REPO + '@' + COMMIT):
        assert osp.realpath(result['paths'][hub_id]) == snapshot, hub_id
    # a repo with only pytorch_model.bin (cached) falls back to it
    bin_path = result['paths']['hf-hub:someone/bin_only']
    assert osp.basename(bin_path) == 'pytorch_model.bin'
    assert osp.realpath(bin_path) == osp.realpath(offline_run['bin_only'])


@needs_hub
def test_hub_file_that_would_run_code_is_refused(offline_run):
    err = offline_run['result']['hostile']
    assert err and 'refusing to load' in err['message'] and 'evil_bin' in err['message'], err
    assert not offline_run['marker'].exists()


@needs_hub
def test_offline_and_not_cached_is_a_clear_error(offline_run):
    result, cache = offline_run['result'], str(offline_run['cache'])
    err = result['not_cached']
    assert err['not_found'], err
    assert 'LocalEntryNotFoundError' in err['cause']  # huggingface_hub's error is chained
    for text in ('timm/twins_pcpvt_small.in1k', cache, 'HF_HUB_OFFLINE', 'local path'):
        assert text in err['message'], (text, err['message'])
    # the same through init_cfg, plus where the weights are published
    err = result['not_cached_model']
    assert err['not_found'] and 'timm/twins_pcpvt_small.in1k' in err['message'], err
    assert cache in err['message']
    err = result['unknown_revision']  # the ref v9 is not cached
    assert err['not_found'] and 'timm/twins_svt_small.in1k@v9' in err['message'], err


def test_not_installed_says_what_to_do(monkeypatch):
    monkeypatch.setitem(sys.modules, 'huggingface_hub', None)
    with pytest.raises(CheckpointNotFoundError) as info:
        resolve_checkpoint_path(REPO)
    msg = str(info.value)
    assert 'pip install huggingface_hub' in msg and REPO in msg and 'local path' in msg
    assert isinstance(info.value.__cause__, ImportError)
    model = TwinsSVT(arch=TINY_SVT, init_cfg=dict(type='Pretrained', checkpoint='hf-hub:' + REPO))
    with pytest.raises(CheckpointNotFoundError, match='pip install huggingface_hub'):
        model.init_weights()


@pytest.mark.parametrize('s,expected', [
    ('timm/twins_svt_small.in1k', True),
    ('hf-hub:timm/twins_svt_small.in1k', True),
    ('hf-hub:timm/twins_svt_small.in1k@main', True),
    ('hf_hub:timm/twins_svt_small.in1k', True),
    ('timm/twins_svt_small.in1k@main', False),  # revisions need the hf-hub: prefix
    ('checkpoints/model.pth', False),
    ('checkpoints/model.safetensors', False),
    ('work_dirs/epoch_12.ckpt', False),
    ('weights/pytorch_model.bin', False),
    ('a/b/c', False),
    ('/abs/path', False),
    ('./model', False),
    ('~/model', False),
    ('model', False),
    ('https://huggingface.co/timm/twins_svt_small.in1k', False),
    ('http://host/a', False),
    ('existing/file', False),  # created in the test: local paths win
])
def test_is_hub_id(s, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'existing').mkdir()
    (tmp_path / 'existing' / 'file').write_bytes(b'')
    assert is_hub_id(s) is expected
    from pathlib import Path
    assert not is_hub_id(Path('timm/twins_svt_small.in1k'))  # Path objects are paths


def test_split_hub_id():
    assert split_hub_id('hf-hub:timm/a.b@v1.0') == ('timm/a.b', 'v1.0')
    assert split_hub_id('timm/a') == ('timm/a', None)
    assert split_hub_id('hf-hub:timm/a@') == ('timm/a', None)


def _error(cls, message):
    """An instance of one of huggingface_hub's HTTP errors without an HTTP response."""
    exc = cls.__new__(cls)
    Exception.__init__(exc, message)
    return exc


@pytest.fixture
def fake_download(monkeypatch):
    """Replace hf_hub_download: ``outcomes`` maps a file name to a path or an exception."""
    huggingface_hub = pytest.importorskip('huggingface_hub')
    calls, outcomes = [], {}

    def fake(repo_id, filename, revision=None, **kwargs):
        calls.append((repo_id, filename, revision))
        outcome = outcomes[filename]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    monkeypatch.setattr(huggingface_hub, 'hf_hub_download', fake)
    from huggingface_hub import errors
    return calls, outcomes, errors


@needs_hub
def test_falls_back_to_pytorch_model_bin_only_without_safetensors(fake_download):
    calls, outcomes, errors = fake_download
    remote_missing = getattr(errors, 'RemoteEntryNotFoundError', errors.EntryNotFoundError)
    outcomes.update({'model.safetensors': _error(remote_missing, '404'),
                     'pytorch_model.bin': '/cache/pytorch_model.bin'})
    assert download_from_hub('hf-hub:org/name@dev') == '/cache/pytorch_model.bin'
    assert calls == [('org/name', 'model.safetensors', 'dev'),
                     ('org/name', 'pytorch_model.bin', 'dev')]
    calls.clear()
    outcomes['model.safetensors'] = '/cache/model.safetensors'
    assert download_from_hub('org/name') == '/cache/model.safetensors'
    assert calls == [('org/name', 'model.safetensors', None)]


@needs_hub
@pytest.mark.parametrize('kind,expected', [
    ('repo', "repo 'org/name' was not found"),
    ('revision', "has no revision 'dev'"),
    ('no_weights', 'has neither model.safetensors nor pytorch_model.bin'),
    ('network', 'could not download model.safetensors of Hugging Face hub repo org/name@dev'),
])
def test_hub_errors_are_clear(fake_download, kind, expected):
    calls, outcomes, errors = fake_download
    remote_missing = getattr(errors, 'RemoteEntryNotFoundError', errors.EntryNotFoundError)
    cause = {'repo': _error(errors.RepositoryNotFoundError, '401'),
             'revision': _error(errors.RevisionNotFoundError, '404'),
             'no_weights': _error(remote_missing, '404'),
             'network': ConnectionError('connection refused')}[kind]
    outcomes.update({'model.safetensors': cause, 'pytorch_model.bin': cause})
    with pytest.raises(CheckpointNotFoundError, match=expected) as info:
        download_from_hub('hf-hub:org/name@dev')
    assert info.value.__cause__ is cause


def test_invalid_prefixed_id():
    with pytest.raises(CheckpointNotFoundError, match='not a valid Hugging Face hub repo id'):
        download_from_hub('hf-hub:a/b/c')
