#!/usr/bin/env python
"""Parameters and FLOPs of a config's model (backbone and whole), attention included.

    python tools/analysis/get_flops.py CONFIG [--shape H W]
    python tools/analysis/get_flops.py --table [--output docs/model_zoo.md]

FLOPs follow the paper's convention: one multiply-add counts as one FLOP (so these are
GMACs). They are counted on a real forward pass by torch's FLOP counter, with mmtwins'
attention run as explicit matmuls so that the attention products (q @ k^T, attn @ v) are
counted, not only the linear and conv layers. Default input: 512x512 for segmentation
(test mode, the decode head without the auxiliary head), 800x1280 for detection.

What is counted is the network without post-processing (the hosts' ``_forward``), with two
head-specific rules: Mask2Former's head takes the data samples, and a cascade's mask heads run
on 100 RoIs per stage as in mmdet's single-stage ``StandardRoIHead.forward`` and mmdet 2's
``forward_dummy`` (mmdet 3's ``CascadeRoIHead.forward`` runs them on all 1000 proposals,
about 2000 G that inference never spends). mmcv's deformable-attention sampling and RoIAlign
are not counted.

``--table`` writes two tables: the paper's 36 configs, and the configs beyond the paper next
to the same heads with the hosts' own backbones (measured the same way where the host can
build them here, with the result the host publishes in its metafile).
"""
import argparse
import contextlib
import glob
import importlib
import inspect
import os.path as osp
import sys

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

DEFAULT_SHAPE = {'mmseg': (512, 512), 'mmdet': (800, 1280)}


def build_model(config):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmtwins  # noqa: F401
    from mmtwins.cli.devices import replace_norm_type
    if '::' in config:  # a host's own config, e.g. mmseg::mask2former/...py
        from mmengine.hub import get_config
        cfg = get_config(config)
    else:
        cfg = Config.fromfile(config)
    init_default_scope(cfg.default_scope)
    cfg.model.backbone.init_cfg = None
    replace_norm_type(cfg.model, 'SyncBN', 'BN')
    registry = importlib.import_module(f'{cfg.default_scope}.registry').MODELS
    return cfg, registry.build(cfg.model).eval()


def dummy_samples(scope, h, w):
    meta = dict(img_shape=(h, w), pad_shape=(h, w), ori_shape=(h, w), scale_factor=(1.0, 1.0),
                batch_input_shape=(h, w))
    if scope == 'mmdet':
        from mmdet.structures import DetDataSample
        return [DetDataSample(metainfo=meta)]
    from mmseg.structures import SegDataSample
    return [SegDataSample(metainfo=meta)]


MASKS_PER_STAGE = 100  # RoIs that a mask head sees in the count (mmdet's StandardRoIHead)


@contextlib.contextmanager
def counted_cascade(model):
    """A cascade RoI head counted as mmdet 2's ``forward_dummy``: box heads on every
    proposal, each stage's mask head on the first 100 refined RoIs."""
    head = getattr(model, 'roi_head', None)
    if head is None or not hasattr(head, '_refine_roi') or not head.with_mask:
        yield
        return
    from mmdet.structures.bbox import bbox2roi

    def forward(x, rpn_results_list, batch_data_samples):
        metas = [s.metainfo for s in batch_data_samples]
        proposals = [r.bboxes for r in rpn_results_list]
        rois, cls_scores, bbox_preds = head._refine_roi(
            x, bbox2roi(proposals), metas, tuple(len(p) for p in proposals))
        mask_rois = torch.cat(rois)[:MASKS_PER_STAGE]
        masks = [head._mask_forward(stage, x, mask_rois)['mask_preds']
                 for stage in range(head.num_stages)]
        return cls_scores, bbox_preds, masks

    head.forward = forward
    try:
        yield
    finally:
        del head.forward


def whole_forward(model, x, samples):
    """The network without post-processing, as the host's ``_forward`` runs it."""
    head = getattr(model, 'decode_head', None)
    if head is not None and 'batch_data_samples' in inspect.signature(head.forward).parameters:
        return head.forward(model.extract_feat(x), samples)  # Mask2Former
    return model._forward(x, samples)


def measure(config, shape=None):
    """Dict of params and GFLOPs (multiply-adds) of backbone and whole model."""
    from mmtwins.utils.flops import count_flops
    cfg, model = build_model(config)
    h, w = shape or DEFAULT_SHAPE[cfg.default_scope]
    x = torch.randn(1, 3, h, w)
    samples = dummy_samples(cfg.default_scope, h, w)
    with counted_cascade(model):
        whole = count_flops(lambda: whole_forward(model, x, samples), model)['total'] / 2
    backbone = count_flops(lambda: model.backbone(x), model.backbone)
    attention = sum(n for op, n in backbone.items() if op in ('bmm', 'matmul', 'baddbmm')) / 2
    return dict(
        config=osp.relpath(config, REPO) if config.startswith(REPO) else config, shape=(h, w),
        params=sum(p.numel() for p in model.parameters()),
        backbone_params=sum(p.numel() for p in model.backbone.parameters()),
        flops=whole, backbone_flops=backbone['total'] / 2, attention_flops=attention)


def print_one(r):
    print(f'config:          {r["config"]}')
    print(f'input shape:     1x3x{r["shape"][0]}x{r["shape"][1]}')
    print(f'params:          {r["params"] / 1e6:.2f} M '
          f'(backbone {r["backbone_params"] / 1e6:.2f} M)')
    print(f'FLOPs:           {r["flops"] / 1e9:.1f} G (backbone {r["backbone_flops"] / 1e9:.1f} G, '
          f'of which attention matmuls {r["attention_flops"] / 1e9:.2f} G)')
    print('FLOPs count multiply-adds (the paper convention), attention products included.')


PAPER_HEADS = ('retinanet', 'mask_rcnn', 'upernet', 'fpn')
# the heads beyond the paper, each with the hosts' configs of the same head for comparison:
# (config or None where it cannot be built here, metafile, model name in it)
BEYOND = {
    'mask2former': ('Mask2Former, ADE20K, 160k iterations', [
        ('mmseg::mask2former/mask2former_swin-t_8xb2-160k_ade20k-512x512.py',
         'mmseg', 'mask2former', 'mask2former_swin-t_8xb2-160k_ade20k-512x512'),
        ('mmseg::mask2former/mask2former_swin-s_8xb2-160k_ade20k-512x512.py',
         'mmseg', 'mask2former', 'mask2former_swin-s_8xb2-160k_ade20k-512x512'),
        ('mmseg::mask2former/mask2former_swin-b-in1k-384x384-pre_8xb2-160k_ade20k-640x640.py',
         'mmseg', 'mask2former', 'mask2former_swin-b-in1k-384x384-pre_8xb2-160k_ade20k-640x640'),
    ]),
    'cascade_mask_rcnn': ('Cascade Mask R-CNN FPN, COCO, 3x multi-scale', [
        # mmdet has no Swin cascade; its ConvNeXt needs mmpretrain, which our stack lacks
        (None, 'mmdet', 'convnext',
         'cascade-mask-rcnn_convnext-t-p4-w7_fpn_4conv1fc-giou_amp-ms-crop-3x_coco'),
        (None, 'mmdet', 'convnext',
         'cascade-mask-rcnn_convnext-s-p4-w7_fpn_4conv1fc-giou_amp-ms-crop-3x_coco'),
    ]),
    'dino_4scale': ('DINO-4scale, COCO, 12 epochs', [
        # mmdet has no Swin-T/S/B DINO
        ('mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py', 'mmdet', 'dino',
         'dino-4scale_r50_8xb2-12e_coco'),
    ]),
}

TABLE_BEGIN = '<!-- get_flops table begin -->'
TABLE_END = '<!-- get_flops table end -->'
BEYOND_BEGIN = '<!-- get_flops beyond table begin -->'
BEYOND_END = '<!-- get_flops beyond table end -->'


def published(package, folder, name):
    """The metrics a host's metafile publishes for one of its models, as 'key value, ...'."""
    import yaml
    root = osp.join(osp.dirname(importlib.import_module(package).__file__), '.mim', 'configs',
                    folder)
    path = next(osp.join(root, f) for f in ('metafile.yaml', 'metafile.yml')
                if osp.exists(osp.join(root, f)))
    with open(path) as f:
        models = yaml.safe_load(f)['Models']
    model = next(m for m in models if m['Name'].strip() == name)
    results = model['Results'] if isinstance(model['Results'], list) else [model['Results']]
    metrics = [(k, v) for r in results for k, v in r['Metrics'].items()]
    return ', '.join(f'{k} {v}' for k, v in metrics) + f' ({results[0]["Dataset"]})'


def head_of(config):
    return osp.basename(config).split('_twins_')[0]


def row(r, result=''):
    return (f'| `{r["config"]}` | {r["shape"][0]}x{r["shape"][1]} | {r["params"] / 1e6:.2f} | '
            f'{r["backbone_params"] / 1e6:.2f} | {r["flops"] / 1e9:.1f} | '
            f'{r["backbone_flops"] / 1e9:.1f} |' + (f' {result} |' if result else ''))


def measured(config):
    r = measure(config)
    print(f'{r["config"]:65s} {r["params"] / 1e6:7.2f} M {r["flops"] / 1e9:7.1f} G', flush=True)
    return r


def paper_table(configs):
    lines = [TABLE_BEGIN,
             '| config | input | params (M) | backbone params (M) | FLOPs (G) '
             '| backbone FLOPs (G) |',
             '|---|---|---|---|---|---|']
    lines += [row(measured(c)) for c in configs]
    return '\n'.join(lines + [TABLE_END])


def beyond_table(configs):
    lines = [BEYOND_BEGIN]
    for head, (title, references) in BEYOND.items():
        lines += ['', f'**{title}**', '',
                  '| config | input | params (M) | backbone params (M) | FLOPs (G) '
                  '| backbone FLOPs (G) | published result |',
                  '|---|---|---|---|---|---|---|']
        lines += [row(measured(c), 'no trained weights yet') for c in configs
                  if head_of(c) == head]
        for config, package, folder, name in references:
            result = published(package, folder, name)
            if config is None:
                lines.append(f'| `{package}::{folder}/{name}.py` | | not measured: needs '
                             f'mmpretrain | | | | {result} |')
            else:
                lines.append(row(measured(config), result))
    return '\n'.join(lines + ['', BEYOND_END])


def replace_block(text, begin, end, table):
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        return head + table + rest.split(end, 1)[1]
    return text.rstrip() + '\n\n' + table + '\n'


def write_table(output):
    configs = sorted(glob.glob(osp.join(REPO, 'configs', '*.py')))
    paper = [c for c in configs if head_of(c) in PAPER_HEADS]
    unknown = [c for c in configs if head_of(c) not in PAPER_HEADS + tuple(BEYOND)]
    if unknown:
        raise ValueError(f'get_flops --table: no table for {unknown}; add its head to '
                         'PAPER_HEADS or BEYOND in tools/analysis/get_flops.py')
    text = open(output).read() if osp.exists(output) else (
        '# Model zoo: parameters and FLOPs\n\nWritten by '
        '`python tools/analysis/get_flops.py --table`.\n')
    text = replace_block(text, TABLE_BEGIN, TABLE_END, paper_table(paper))
    text = replace_block(text, BEYOND_BEGIN, BEYOND_END,
                         beyond_table([c for c in configs if c not in paper]))
    with open(output, 'w') as f:
        f.write(text)
    print(f'wrote {output}')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', nargs='?')
    parser.add_argument('--shape', nargs=2, type=int, metavar=('H', 'W'))
    parser.add_argument('--table', action='store_true', help='all configs into --output')
    parser.add_argument('--output', default=osp.join(REPO, 'docs', 'model_zoo.md'))
    args = parser.parse_args(argv)
    if args.table:
        write_table(args.output)
        return 0
    if not args.config:
        parser.error('give a CONFIG or --table')
    if '::' not in args.config and not osp.isfile(args.config):
        print(f'error: config file not found: {args.config}', file=sys.stderr)
        return 1
    print_one(measure(args.config, tuple(args.shape) if args.shape else None))
    return 0


if __name__ == '__main__':
    sys.exit(main())
