from typing import Tuple

from torch import Tensor, nn


class PositionEncodingGenerator(nn.Module):
    """Conditional position encoding (PEG of CPVT): ``x + DWConv3x3(x)`` on the token map.

    Args:
        embed_dims: channels ``C``.
    """

    def __init__(self, embed_dims: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(embed_dims, embed_dims, 3, padding=1, groups=embed_dims)

    def forward(self, x: Tensor, hw_shape: Tuple[int, int]) -> Tensor:
        """``x``: ``(B, H*W, C)`` -> ``(B, H*W, C)``."""
        B, N, C = x.shape
        feat = x.transpose(1, 2).reshape(B, C, *hw_shape)  # (B, C, H, W)
        return x + self.proj(feat).flatten(2).transpose(1, 2)
