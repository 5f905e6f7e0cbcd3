"""Building blocks shared by Twins-PCPVT and Twins-SVT (one implementation of each)."""
from .attention import (GlobalSubsampledAttention, LocallyGroupedAttention, attention,
                        window_padding_mask)
from .block import TwinsBlock
from .mlp import DropPath, Mlp
from .patch_embed import PatchEmbed
from .peg import PositionEncodingGenerator

__all__ = [
    'attention', 'window_padding_mask', 'GlobalSubsampledAttention',
    'LocallyGroupedAttention', 'TwinsBlock', 'Mlp', 'DropPath', 'PatchEmbed',
    'PositionEncodingGenerator'
]
