"""The six Twins variants: one table, the single source of truth for their facts.

Each row ties a variant to its architecture settings, the names it goes by and its published
ImageNet-1k weights, as timm's ``default_cfgs`` ties a model to its weights. The backbones'
``arch_zoo`` and name aliases, the weight hints of the checkpoint loader, the tools'
``--arch`` choices and the configs' ``checkpoint`` URLs (checked by a test) all come from here.
This module imports nothing of mmtwins, so every sub-package may use it.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

#: where mmseg publishes the ImageNet-1k weights it converted from the official release
MMSEG_PRETRAIN_URL = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/twins/'

PCPVT = 'Twins-PCPVT'
SVT = 'Twins-SVT'
FAMILIES = (PCPVT, SVT)
#: the backbone class of each family
CLASS_NAMES = {PCPVT: 'TwinsPCPVT', SVT: 'TwinsSVT'}
#: the per-stage lists an arch dict of each family must have
REQUIRED_KEYS = {
    PCPVT: ('embed_dims', 'depths', 'num_heads', 'mlp_ratios', 'sr_ratios'),
    SVT: ('embed_dims', 'depths', 'num_heads', 'mlp_ratios', 'sr_ratios', 'window_sizes'),
}
#: per-stage lists an arch dict may also have (mmpretrain's arch dicts carry them)
OPTIONAL_KEYS = ('patch_sizes', 'strides')
#: the name prefixes of each family: the official code's and timm's
FAMILY_NAMES = {PCPVT: ('pcpvt', 'twins_pcpvt'), SVT: ('alt_gvt', 'twins_svt')}


@dataclass(frozen=True)
class Variant:
    """One published Twins variant."""

    key: str             # our short name: 'svt_s'
    family: str          # 'Twins-SVT'
    size: str            # 'small' | 'base' | 'large'
    settings: Dict[str, List]  # per-stage lists: embed_dims, depths, num_heads, ...
    official: str        # name in the official Twins code and release: 'alt_gvt_small'
    timm: str            # timm model name: 'twins_svt_small'
    mmseg_file: str      # mmseg's converted ImageNet file under MMSEG_PRETRAIN_URL
    aliases: Tuple[str, ...] = field(default=())

    @property
    def class_name(self) -> str:
        return CLASS_NAMES[self.family]

    @property
    def title(self) -> str:
        """``'Twins-SVT-S'``."""
        return f'{self.family}-{self.size[0].upper()}'

    @property
    def mmseg_url(self) -> str:
        return MMSEG_PRETRAIN_URL + self.mmseg_file

    @property
    def hub_id(self) -> str:
        """timm's ImageNet-1k weights on the Hugging Face hub."""
        return f'timm/{self.timm}.in1k'

    def arch(self) -> Dict[str, List]:
        """A fresh copy of the settings (safe to modify)."""
        return {k: list(v) for k, v in self.settings.items()}


def _pcpvt(depths):
    return dict(embed_dims=[64, 128, 320, 512], depths=depths, num_heads=[1, 2, 5, 8],
                mlp_ratios=[8, 8, 4, 4], sr_ratios=[8, 4, 2, 1])


def _svt(embed_dims, depths, num_heads):
    return dict(embed_dims=embed_dims, depths=depths, num_heads=num_heads,
                mlp_ratios=[4, 4, 4, 4], sr_ratios=[8, 4, 2, 1], window_sizes=[7, 7, 7, 7])


def _variant(key, family, size, settings, mmseg_file) -> Variant:
    official, timm = (f'{prefix}_{size}' for prefix in FAMILY_NAMES[family])
    return Variant(key, family, size, settings, official, timm, mmseg_file,
                   aliases=(size, size[0], official, timm, key))


VARIANTS: Dict[str, Variant] = {v.key: v for v in (
    _variant('pcpvt_s', PCPVT, 'small', _pcpvt([3, 4, 6, 3]),
             'pcpvt_small_20220308-e638c41c.pth'),
    _variant('pcpvt_b', PCPVT, 'base', _pcpvt([3, 4, 18, 3]),
             'pcpvt_base_20220308-0621964c.pth'),
    _variant('pcpvt_l', PCPVT, 'large', _pcpvt([3, 8, 27, 3]),
             'pcpvt_large_20220308-37579dc6.pth'),
    _variant('svt_s', SVT, 'small', _svt([64, 128, 256, 512], [2, 2, 10, 4], [2, 4, 8, 16]),
             'alt_gvt_small_20220308-7e1c3695.pth'),
    _variant('svt_b', SVT, 'base', _svt([96, 192, 384, 768], [2, 2, 18, 2], [3, 6, 12, 24]),
             'alt_gvt_base_20220308-1b7eb711.pth'),
    _variant('svt_l', SVT, 'large', _svt([128, 256, 512, 1024], [2, 2, 18, 2], [4, 8, 16, 32]),
             'alt_gvt_large_20220308-fb5936f3.pth'),
)}


def of_family(family: str) -> List[Variant]:
    """The variants of ``family`` (``'Twins-PCPVT'`` or ``'Twins-SVT'``), small to large."""
    return [v for v in VARIANTS.values() if v.family == family]


def arch_zoo(family: str) -> Dict[str, Dict[str, List]]:
    """``{'small': settings, 'base': ..., 'large': ...}`` of a family."""
    return {v.size: v.arch() for v in of_family(family)}


def alias_table(family: str) -> Dict[str, str]:
    """Every name a variant of ``family`` answers to -> its size."""
    return {alias: v.size for v in of_family(family) for alias in v.aliases}


def lookup(family: str, name: str) -> Optional[Variant]:
    """The variant of ``family`` that ``name`` (any alias, case-insensitive) names, or None."""
    key = name.lower()
    return next((v for v in of_family(family) if key in v.aliases), None)


def match(family: str, settings: Dict[str, List]) -> Optional[Variant]:
    """The named variant whose settings equal ``settings`` (keys it does not have ignored
    on either side), or None."""
    for v in of_family(family):
        if all(list(settings[k]) == v.settings[k] for k in v.settings if k in settings) \
                and all(k in settings for k in v.settings):
            return v
    return None


def identify(family: str, embed_dims: List[int], depths: List[int]) -> Optional[Variant]:
    """The variant of ``family`` with these widths and depths, or None."""
    for v in of_family(family):
        if v.settings['embed_dims'] == list(embed_dims) and v.settings['depths'] == list(depths):
            return v
    return None
