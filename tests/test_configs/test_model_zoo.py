"""The trained model zoo: mmtwins.model_zoo against its configs, mmseg's metafile and the docs."""
import doctest
import functools
import os.path as osp
import re
from urllib.parse import urlparse

import pytest
import yaml
from helpers import REPO_ROOT
from mmengine.config import Config

import mmtwins  # noqa: F401  (registers mmtwins:: and the backbones before configs load)
from mmtwins import model_zoo

MODELS = model_zoo.MODELS
IDS = [model_zoo.name(e) for e in MODELS]
DOC = osp.join(REPO_ROOT, 'docs', 'model_zoo.md')
ARCHS = {'s': 'small', 'b': 'base', 'l': 'large'}
TYPES = {'pcpvt': 'mmtwins.TwinsPCPVT', 'svt': 'mmtwins.TwinsSVT'}
HEADS = {'UPerNet 160k': 'UPerHead', 'Semantic FPN 80k': 'FPNHead'}
# stage widths (facts sheet, section 1): the trained heads' input channels
WIDTHS = dict(pcpvt_s=[64, 128, 320, 512], pcpvt_b=[64, 128, 320, 512],
              pcpvt_l=[64, 128, 320, 512], svt_s=[64, 128, 256, 512],
              svt_b=[96, 192, 384, 768], svt_l=[128, 256, 512, 1024])
# the paper's UPerNet 160k mIoU, single / multi-scale (facts sheet, section 4)
PAPER = dict(pcpvt_s=(46.2, 47.5), svt_s=(46.2, 47.1), pcpvt_b=(47.1, 48.4),
             svt_b=(47.7, 48.9), pcpvt_l=(48.6, 49.8), svt_l=(48.8, 50.2))


@functools.lru_cache(maxsize=None)
def load_config(filename):
    return Config.fromfile(osp.join(REPO_ROOT, 'configs', filename))


def metafile_models():
    import mmseg
    path = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs', 'twins', 'metafile.yaml')
    with open(path) as f:
        return yaml.safe_load(f)['Models']


def test_entries_are_the_18_published_segmentors():
    assert len(MODELS) == 18
    assert len(set(IDS)) == 18 and len({e['url'] for e in MODELS}) == 18
    keys = {'source', 'method', 'variant', 'config', 'url', 'miou', 'miou_ms'}
    assert all(set(e) == keys for e in MODELS)
    expected = {('official', 'UPerNet 160k', v) for v in WIDTHS}
    expected |= {('mmseg', m, v) for m in HEADS for v in WIDTHS}
    assert {(e['source'], e['method'], e['variant']) for e in MODELS} == expected


@pytest.mark.parametrize('entry', MODELS, ids=IDS)
def test_config_runs_the_entry(entry):
    path = osp.join(REPO_ROOT, 'configs', entry['config'])
    assert osp.isfile(path), path
    cfg = load_config(entry['config'])
    family, size = entry['variant'].split('_')
    backbone = cfg.model.backbone
    assert (backbone.type, backbone.arch) == (TYPES[family], ARCHS[size])
    head = cfg.model.decode_head
    assert head.type == HEADS[entry['method']] and head.num_classes == 150
    widths = WIDTHS[entry['variant']]
    if head.type == 'UPerHead':
        assert list(head.in_channels) == widths
        assert cfg.model.auxiliary_head.in_channels == widths[2]
        assert cfg.train_cfg.max_iters == 160000
    else:
        assert list(cfg.model.neck.in_channels) == widths
        assert cfg.train_cfg.max_iters == 80000


def test_official_entries_match_the_paper():
    official = [e for e in MODELS if e['source'] == 'official']
    for e in official:
        assert re.fullmatch(r'https://drive\.google\.com/file/d/[\w-]+/view\?usp=sharing',
                            e['url'])
        assert (e['miou'], e['miou_ms']) == PAPER[e['variant']], e


def metafile_variant(model):
    """'svt_s' from the metafile's architecture (written 'Twins-SVT-S' or 'SVT-S')."""
    arch = [a for a in model['Metadata']['Architecture'] if 'PCPVT' in a or 'SVT' in a]
    assert len(arch) == 1, model['Name']
    return arch[0].replace('Twins-', '').lower().replace('-', '_')


def test_mmseg_entries_match_mmseg_metafile():
    metafile = metafile_models()
    assert len(metafile) == 12
    # by the file's path: the OneDL fork's metafile names its mirror (mmassets.onedl.ai) of the
    # same files
    ours = {urlparse(e['url']).path: e for e in MODELS if e['source'] == 'mmseg'}
    assert set(ours) == {urlparse(m['Weights']).path for m in metafile}
    for m in metafile:
        e = ours[urlparse(m['Weights']).path]
        metrics = m['Results']['Metrics']
        assert (e['miou'], e['miou_ms']) == (metrics['mIoU'], metrics['mIoU(ms+flip)']), m['Name']
        method = {'UPerNet': 'UPerNet 160k', 'FPN': 'Semantic FPN 80k'}[m['In Collection']]
        assert e['method'] == method and method.split()[-1] in m['Name']
        assert e['variant'] == metafile_variant(m), m['Name']
        # the checkpoint's file name agrees with the architecture ...
        family, size = e['variant'].split('_')
        head = 'uperhead' if method == 'UPerNet 160k' else 'fpn_fpnhead'
        assert osp.basename(m['Weights']).startswith(f'twins_{family}-{size}_{head}_')
    # ... but not always with the entry's name (the docs' footnote)
    svt_l = next(m for m in metafile if 'twins_svt-l_uperhead' in m['Weights'])
    assert svt_l['Name'] == 'twins_pcpvt-l_uperhead_8xb2-160k_ade20k-512x512'
    assert ours[urlparse(svt_l['Weights']).path]['config'] == 'upernet_twins_svt_l_ade20k.py'


def docs_rows():
    text = open(DOC).read()
    table = text.split('<!-- trained segmentors begin -->')[1]
    table = table.split('<!-- trained segmentors end -->')[0]
    rows = [line for line in table.strip().splitlines() if line.startswith('|')]
    assert rows[0].startswith('| source | method | backbone | mmtwins config | checkpoint |')
    assert set(rows[1]) <= set('|-')
    return text, rows[2:]


def parse_row(row):
    cells = [re.sub(r'\s*\[\^[\w-]+\]', '', c).strip() for c in row.strip('|').split('|')]
    source, method, backbone, config, checkpoint, miou, miou_ms = cells
    family, size = re.fullmatch(r'Twins-(PCPVT|SVT)-([SBL])', backbone).groups()
    config_name, config_link = re.fullmatch(r'\[([^\]]+)\]\(([^)]+)\)', config).groups()
    assert config_link == f'../configs/{config_name}'
    assert osp.isfile(osp.join(osp.dirname(DOC), config_link))
    url = re.fullmatch(r'\[[^\]]+\]\(([^)]+)\)', checkpoint).group(1)
    return dict(source=source, method=method, variant=f'{family}_{size}'.lower(),
                config=config_name, url=url, miou=float(miou), miou_ms=float(miou_ms))


def test_docs_table_lists_exactly_the_entries():
    text, rows = docs_rows()
    assert [parse_row(r) for r in rows] == list(MODELS)
    for note in set(re.findall(r'\[\^([\w-]+)\]', '\n'.join(rows))):
        assert f'\n[^{note}]:' in text, note
    # the documented command runs a checkpoint with its own config
    commands = re.findall(r'python tools/test.py (configs/\S+) \\\n\s+(https://\S+)', text)
    assert commands
    for config, url in commands:
        assert model_zoo.find(url)['config'] == osp.basename(config)
    # the numerics section gives the backbone arguments that reproduce each source
    section = text.split('### Numerics of the trained checkpoints')[1].split('\n## ')[0]
    from mmtwins.models import TwinsSVT
    for options in re.findall(r'--cfg-options (.+)', section):
        kwargs = dict(opt.split('=', 1) for opt in options.split())
        kwargs = {k.rsplit('.', 1)[1]: float(v) if k.endswith('eps') else v
                  for k, v in kwargs.items()}
        TwinsSVT(arch='small', **kwargs)  # valid arguments


def test_find():
    for e in MODELS:
        assert model_zoo.find(e['url']) is e
        assert model_zoo.find(model_zoo.name(e)) is e
        if e['source'] == 'mmseg':
            assert model_zoo.find(osp.basename(e['url'])) is e
            assert model_zoo.find('/data/ckpts/' + osp.basename(e['url'])) is e
        else:
            drive_id = e['url'].split('/d/')[1].split('/')[0]
            assert model_zoo.find(f'https://drive.google.com/uc?id={drive_id}') is e
    assert model_zoo.find('configs/upernet_twins_svt_s_ade20k.py') is None
    assert model_zoo.find('https://example.com/x.pth') is None
    result = doctest.testmod(model_zoo)
    assert result.attempted >= 3 and result.failed == 0


def test_readme_commands_use_published_checkpoints_with_their_config():
    with open(osp.join(REPO_ROOT, 'README.md')) as f:
        text = f.read()
    commands = re.findall(r'tools/test.py (configs/\S+) \\\n\s+(https://\S+)', text)
    assert commands
    for config, url in commands:
        assert model_zoo.find(url)['config'] == osp.basename(config)
