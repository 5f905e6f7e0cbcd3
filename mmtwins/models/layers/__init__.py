"""Building blocks shared by Twins-PCPVT and Twins-SVT (one implementation of each)."""
from .attention import (ATTN_IMPLS, GlobalSubsampledAttention, LocallyGroupedAttention, attention,
                        auto_kernel, resolve_attn_impl, window_padding_mask)
from .block import TwinsBlock
from .mlp import DropPath, Mlp
from .patch_embed import PatchEmbed
from .peg import PositionEncodingGenerator

__all__ = [
    'attention', 'ATTN_IMPLS', 'auto_kernel', 'resolve_attn_impl', 'window_padding_mask',
    'GlobalSubsampledAttention', 'LocallyGroupedAttention', 'TwinsBlock', 'Mlp', 'DropPath',
    'PatchEmbed', 'PositionEncodingGenerator'
]
