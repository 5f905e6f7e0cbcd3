"""Command-line arguments that pick a Twins backbone and its weights (shared by tools)."""
import argparse

from ..variants import VARIANTS

#: --arch choices: our short names -> (backbone class name, size)
ARCHS = {key: (v.class_name, v.size) for key, v in VARIANTS.items()}


def add_backbone_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--config', help='take the backbone of this config')
    parser.add_argument('--checkpoint',
                        help='weights: any Twins format, or a whole detector/segmentor')
    parser.add_argument('--arch', default='svt_s', choices=sorted(ARCHS),
                        help='variant when no --config is given')


def load_backbone(args):
    """The backbone of ``--config`` (or ``--arch``) with ``--checkpoint`` loaded, in eval mode."""
    import mmtwins.models as mm
    from mmtwins.checkpoint import load_pretrained
    if args.config:
        from .config_checks import load_config
        backbone_cfg = dict(load_config(args.config).model.backbone)
        backbone_cfg.pop('init_cfg', None)
        backbone_cfg.pop('pretrained', None)
        cls = getattr(mm, backbone_cfg.pop('type').split('.')[-1])
        backbone = cls(**backbone_cfg)
    else:
        cls_name, arch = ARCHS[args.arch]
        backbone = getattr(mm, cls_name)(arch=arch)
    backbone.init_weights()
    if args.checkpoint:
        load_pretrained(backbone, args.checkpoint)
    return backbone.eval()
