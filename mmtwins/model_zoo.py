"""The published trained Twins segmentors (ADE20K) and the mmtwins config that runs each.

Plain data: the machine-readable copy of the table in ``docs/model_zoo.md``. Each entry:

- ``source``: ``'official'`` (the Twins authors' release: Google Drive links in the README of
  github.com/Meituan-AutoML/Twins) or ``'mmseg'`` (mmsegmentation's model zoo, trained with
  mmseg's own Twins implementation; URLs and mIoU from mmseg's ``configs/twins/metafile.yaml``).
- ``method``: ``'UPerNet 160k'`` or ``'Semantic FPN 80k'``.
- ``variant``: ``'pcpvt_s'``, ``'pcpvt_b'``, ``'pcpvt_l'``, ``'svt_s'``, ``'svt_b'``, ``'svt_l'``.
- ``config``: the file under ``configs/`` that runs the checkpoint.
- ``url``: the published checkpoint. The official ones are Google Drive pages: download the
  file there, then pass its path.
- ``miou``, ``miou_ms``: the published ADE20K val mIoU, single scale and multi-scale (+flip).

``find(url_or_name)`` looks an entry up.

>>> find('mmseg/upernet_twins_svt_s_ade20k')['miou']
46.08
>>> find('https://drive.google.com/uc?id=18OhG0sbAJ5okPj0zn-8YTydKG9jS8TUx')['variant']
'svt_s'
>>> find('unknown.pth') is None
True
"""
import os.path as osp
import re

MODELS = (
    # The Twins authors' UPerNet 160k release. mIoU: the README's (= the paper's), except
    # SVT-B single scale: README 47.4, paper and the final evaluation in the official training
    # log 47.7 (docs/model_zoo.md).
    dict(source='official', method='UPerNet 160k', variant='pcpvt_s',
         config='upernet_twins_pcpvt_s_ade20k.py',
         url='https://drive.google.com/file/d/1PkkBULZZUhIkFKq_D9db1DXUIHwIPlvp/view?usp=sharing',
         miou=46.2, miou_ms=47.5),
    dict(source='official', method='UPerNet 160k', variant='pcpvt_b',
         config='upernet_twins_pcpvt_b_ade20k.py',
         url='https://drive.google.com/file/d/16sCd0slLLz6xt3C2ma3TkS9rpMS9eezT/view?usp=sharing',
         miou=47.1, miou_ms=48.4),
    dict(source='official', method='UPerNet 160k', variant='pcpvt_l',
         config='upernet_twins_pcpvt_l_ade20k.py',
         url='https://drive.google.com/file/d/1wsU9riWBiN22fyfsJCHDFhLyP2c_n8sk/view?usp=sharing',
         miou=48.6, miou_ms=49.8),
    dict(source='official', method='UPerNet 160k', variant='svt_s',
         config='upernet_twins_svt_s_ade20k.py',
         url='https://drive.google.com/file/d/18OhG0sbAJ5okPj0zn-8YTydKG9jS8TUx/view?usp=sharing',
         miou=46.2, miou_ms=47.1),
    dict(source='official', method='UPerNet 160k', variant='svt_b',
         config='upernet_twins_svt_b_ade20k.py',
         url='https://drive.google.com/file/d/1LNtdvACihmKO6XyBPoJDxbrd6AuHVVvq/view?usp=sharing',
         miou=47.7, miou_ms=48.9),
    dict(source='official', method='UPerNet 160k', variant='svt_l',
         config='upernet_twins_svt_l_ade20k.py',
         url='https://drive.google.com/file/d/1xS91hytfzuMZ5Rgb-W-cOJ9G7ptjVwlO/view?usp=sharing',
         miou=48.8, miou_ms=50.2),
    # mmsegmentation's model zoo (metafile mIoU and mIoU(ms+flip)).
    dict(source='mmseg', method='UPerNet 160k', variant='pcpvt_s',
         config='upernet_twins_pcpvt_s_ade20k.py',
         url='https://download.openmmlab.com/mmsegmentation/v0.5/twins/twins_pcpvt-s_uperhead_8x4_512x512_160k_ade20k/twins_pcpvt-s_uperhead_8x4_512x512_160k_ade20k_20211201_233537-8e99c07a.pth',  # noqa: E501
         miou=46.04, miou_ms=46.92),
    dict(source='mmseg', method='UPerNet 160k', variant='pcpvt_b',
         config='upernet_twins_pcpvt_b_ade20k.py',
         url='https://download.openmmlab.com/mmsegmentation/v0.5/twins/twins_pcpvt-b_uperhead_8x2_512x512_160k_ade20k/twins_pcpvt-b_uperhead_8x2_512x512_160k_ade20k_20211130_141020-02094ea5.pth',  # noqa: E501
         miou=47.91, miou_ms=48.64),
    dict(source='mmseg', method='UPerNet 160k', variant='pcpvt_l',
         config='upernet_twins_pcpvt_l_ade20k.py',
         url='https://download.openmmlab.com/mmsegmentation/v0.5/twins/twins_pcpvt-l_uperhead_8x2_512x512_160k_ade20k/twins_pcpvt-l_uperhead_8x2_512x512_160k_ade20k_20211201_075053-c6095c07.pth',  # noqa: E501
         miou=49.35, miou_ms=50.08),
    dict(source='mmseg', method='UPerNet 160k', variant='svt_s',
         config='upernet_twins_svt_s_ade20k.py',
         url='https://download.openmmlab.com/mmsegmentation/v0.5/twins/twins_svt-s_uperhead_8x2_512x512_160k_ade20k/twins_svt-s_uperhead_8x2_512x512_160k_ade20k_20211130_141005-e48a2d94.pth',  # noqa: E501
         miou=46.08, miou_ms=46.96),
    dict(source='mmseg', method='UPerNet 160k', variant='svt_b',
         config='upernet_twins_svt_b_ade20k.py',
         url='https://download.openmmlab.com/mmsegmentation/v0.5/twins/twins_svt-b_uperhead_8x2_512x512_160k_ade20k/twins_svt-b_uperhead_8x2_512x512_160k_ade20k_20211202_040826-0943a1f1.pth',  # noqa: E501
         miou=48.04, miou_ms=48.87),
    # the metafile names this entry twins_pcpvt-l_uperhead_8xb2-160k_ade20k-512x512, but its
    # weights (and the metafile's architecture and file name) are SVT-L's
    dict(source='mmseg', method='UPerNet 160k', variant='svt_l',
         config='upernet_twins_svt_l_ade20k.py',
         url='https://download.openmmlab.com/mmsegmentation/v0.5/twins/twins_svt-l_uperhead_8x2_512x512_160k_ade20k/twins_svt-l_uperhead_8x2_512x512_160k_ade20k_20211130_141005-3e2cae61.pth',  # noqa: E501
         miou=49.65, miou_ms=50.63),
    dict(source='mmseg', method='Semantic FPN 80k', variant='pcpvt_s',
         config='fpn_twins_pcpvt_s_ade20k.py',
         url='https://download.openmmlab.com/mmsegmentation/v0.5/twins/twins_pcpvt-s_fpn_fpnhead_8x4_512x512_80k_ade20k/twins_pcpvt-s_fpn_fpnhead_8x4_512x512_80k_ade20k_20211201_204132-41acd132.pth',  # noqa: E501
         miou=43.26, miou_ms=44.11),
    dict(source='mmseg', method='Semantic FPN 80k', variant='pcpvt_b',
         config='fpn_twins_pcpvt_b_ade20k.py',
         url='https://download.openmmlab.com/mmsegmentation/v0.5/twins/twins_pcpvt-b_fpn_fpnhead_8x4_512x512_80k_ade20k/twins_pcpvt-b_fpn_fpnhead_8x4_512x512_80k_ade20k_20211130_141019-d396db72.pth',  # noqa: E501
         miou=45.66, miou_ms=46.48),
    dict(source='mmseg', method='Semantic FPN 80k', variant='pcpvt_l',
         config='fpn_twins_pcpvt_l_ade20k.py',
         url='https://download.openmmlab.com/mmsegmentation/v0.5/twins/twins_pcpvt-l_fpn_fpnhead_8x4_512x512_80k_ade20k/twins_pcpvt-l_fpn_fpnhead_8x4_512x512_80k_ade20k_20211201_105226-bc6d61dc.pth',  # noqa: E501
         miou=45.94, miou_ms=46.7),
    dict(source='mmseg', method='Semantic FPN 80k', variant='svt_s',
         config='fpn_twins_svt_s_ade20k.py',
         url='https://download.openmmlab.com/mmsegmentation/v0.5/twins/twins_svt-s_fpn_fpnhead_8x4_512x512_80k_ade20k/twins_svt-s_fpn_fpnhead_8x4_512x512_80k_ade20k_20211130_141006-0a0d3317.pth',  # noqa: E501
         miou=44.47, miou_ms=45.42),
    dict(source='mmseg', method='Semantic FPN 80k', variant='svt_b',
         config='fpn_twins_svt_b_ade20k.py',
         url='https://download.openmmlab.com/mmsegmentation/v0.5/twins/twins_svt-b_fpn_fpnhead_8x4_512x512_80k_ade20k/twins_svt-b_fpn_fpnhead_8x4_512x512_80k_ade20k_20211201_113849-88b2907c.pth',  # noqa: E501
         miou=46.77, miou_ms=47.47),
    dict(source='mmseg', method='Semantic FPN 80k', variant='svt_l',
         config='fpn_twins_svt_l_ade20k.py',
         url='https://download.openmmlab.com/mmsegmentation/v0.5/twins/twins_svt-l_fpn_fpnhead_8x4_512x512_80k_ade20k/twins_svt-l_fpn_fpnhead_8x4_512x512_80k_ade20k_20211130_141005-1d59bee2.pth',  # noqa: E501
         miou=46.55, miou_ms=47.74),
)


def name(entry):
    """``'<source>/<config stem>'``, unique per entry, e.g. ``'mmseg/fpn_twins_svt_s_ade20k'``."""
    return f'{entry["source"]}/{osp.splitext(entry["config"])[0]}'


def _drive_id(text):
    match = re.search(r'drive\.google\.com/.*?(?:/d/|[?&]id=)([\w-]+)', text)
    return match.group(1) if match else None


def find(url_or_name):
    """The entry of ``MODELS`` for a checkpoint, or None when it is not a published one.

    ``url_or_name``: the published URL; any Google Drive link with the same file id; an mmseg
    checkpoint's file name or a local path ending in it; or ``name(entry)``.
    """
    text = str(url_or_name).strip()
    drive_id = _drive_id(text)
    for entry in MODELS:
        if text in (entry['url'], name(entry)):
            return entry
        if drive_id is not None and drive_id == _drive_id(entry['url']):
            return entry
        if entry['source'] == 'mmseg' and osp.basename(text) == osp.basename(entry['url']):
            return entry
    return None
