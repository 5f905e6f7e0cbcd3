"""Writers of the real Twins checkpoint layouts, for the tests.

Each takes an official-layout state dict (as :class:`reference_twins.RefTwins` has) and
returns what the named source would have saved. They are written from the layouts'
descriptions (and, for mmseg, checked against mmseg's own model with ``strict=True`` in
the tests), independently of mmtwins' converter.
"""
import argparse
import re
from collections import OrderedDict

import torch

from mmtwins.variants import VARIANTS

# the published variants' settings, from mmtwins' variant table
ARCHS = {key: v.arch() for key, v in VARIANTS.items()}


def with_classifier(official: dict, num_classes: int = 10, seed: int = 1) -> dict:
    """Add the ImageNet classifier's final norm and head, as released files have."""
    gen = torch.Generator().manual_seed(seed)
    dims = max(v.shape[0] for k, v in official.items() if k.startswith('patch_embeds.')
               and k.endswith('proj.weight'))
    out = OrderedDict(official)
    out['norm.weight'] = 1 + 0.1 * torch.randn(dims, generator=gen)
    out['norm.bias'] = 0.1 * torch.randn(dims, generator=gen)
    out['head.weight'] = torch.randn(num_classes, dims, generator=gen)
    out['head.bias'] = torch.randn(num_classes, generator=gen)
    return out


def official_trainer_file(official: dict) -> dict:
    """What the official trainer saves: the model under 'model', plus its args."""
    return {'model': official, 'epoch': 299,
            'args': argparse.Namespace(model='alt_gvt_small', lr=5e-4, drop_path=0.2)}


def to_mmseg(official: dict) -> dict:
    """mmseg's ``twins2mmseg.py`` layout (classifier dropped)."""
    out = OrderedDict()
    gsa_blocks = {k.rsplit('.attn.q.', 1)[0] for k in official if '.attn.q.' in k}
    for k, v in official.items():
        if k.startswith(('head.', 'norm.')):
            continue
        m = re.match(r'blocks\.(\d+)\.(\d+)\.(.*)', k)
        if m:
            i, j, rest = m.groups()
            base = f'layers.{i}.{j}.'
            if f'blocks.{i}.{j}' in gsa_blocks:
                if rest.startswith('attn.q.'):
                    kind = rest.split('.')[-1]
                    kv = official[f'blocks.{i}.{j}.attn.kv.{kind}']
                    out[base + f'attn.attn.in_proj_{kind}'] = torch.cat([v, kv], dim=0)
                    continue
                if rest.startswith('attn.kv.'):
                    continue
                if rest.startswith('attn.proj.'):
                    rest = rest.replace('attn.proj.', 'attn.attn.out_proj.')
            rest = rest.replace('mlp.fc1.', 'ffn.layers.0.0.').replace('mlp.fc2.', 'ffn.layers.1.')
            out[base + rest] = v
        elif k.startswith('patch_embeds.'):
            out[k.replace('.proj.', '.projection.')] = v
        elif k.startswith('pos_block.'):
            out[k.replace('pos_block.', 'position_encodings.').replace('.proj.0.', '.proj.')] = v
        else:  # norm_list.{i}
            out[k] = v
    return out


def to_mmpretrain(official: dict) -> dict:
    """An mmpretrain ImageNet classifier checkpoint (backbone under 'backbone.')."""
    sd = OrderedDict()
    for k, v in official.items():
        if k.startswith('head.'):
            sd['head.fc.' + k[len('head.'):]] = v
            continue
        if k.startswith('norm.'):
            n = sum(1 for key in official if re.match(r'patch_embeds\.\d+\.proj\.weight', key))
            new = f'norm_after_stage{n - 1}.' + k[len('norm.'):]
        elif k.startswith('blocks.'):
            new = 'stages.' + k[len('blocks.'):]
            new = new.replace('mlp.fc1.', 'ffn.layers.0.0.').replace('mlp.fc2.', 'ffn.layers.1.')
        elif k.startswith('patch_embeds.'):
            new = k.replace('.proj.', '.projection.')
        elif k.startswith('pos_block.'):
            new = k.replace('pos_block.', 'position_encodings.').replace('.proj.0.', '.proj.')
        else:
            raise KeyError(k)
        sd['backbone.' + new] = v
    return {'state_dict': sd, 'meta': {'mmpretrain_version': '1.2.0'}}


def whole_model(backbone: dict, head_dims: int = 8) -> dict:
    """A detector/segmentor checkpoint: backbone under 'backbone.', plus a head."""
    sd = OrderedDict(('backbone.' + k, v) for k, v in backbone.items())
    sd['decode_head.conv_seg.weight'] = torch.randn(3, head_dims, 1, 1)
    sd['decode_head.conv_seg.bias'] = torch.randn(3)
    return {'meta': {'iter': 10}, 'state_dict': sd}
