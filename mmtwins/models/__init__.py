"""mmtwins models: the Twins backbones and their building blocks."""
from .backbones import TwinsBase, TwinsPCPVT, TwinsStage, TwinsSVT  # noqa: F401 (registers)
from .layers import (DropPath, GlobalSubsampledAttention, LocallyGroupedAttention, Mlp, PatchEmbed,
                     PositionEncodingGenerator, TwinsBlock)

__all__ = [
    'TwinsBase', 'TwinsPCPVT', 'TwinsSVT', 'TwinsStage', 'TwinsBlock',
    'GlobalSubsampledAttention', 'LocallyGroupedAttention', 'PatchEmbed',
    'PositionEncodingGenerator', 'Mlp', 'DropPath'
]
