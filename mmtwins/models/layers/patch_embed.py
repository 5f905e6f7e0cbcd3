from typing import Tuple

import torch.nn.functional as F
from torch import Tensor, nn

from .tracing import is_tracing


class PatchEmbed(nn.Module):
    """Non-overlapping patch embedding: strided conv, then LayerNorm (eps 1e-5).

    An input whose sides are not multiples of ``patch_size`` is zero-padded bottom/right,
    so the token map is ``ceil(H / p) x ceil(W / p)`` for any ``H, W >= 1`` (the official
    code drops the trailing pixels instead; both agree on multiples of ``p``).

    Args:
        in_channels: channels of the input map.
        embed_dims: channels of the tokens.
        patch_size: kernel size and stride of the projection.
    """

    def __init__(self, in_channels: int, embed_dims: int, patch_size: int) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_channels, embed_dims, kernel_size=patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(embed_dims, eps=1e-5)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tuple[int, int]]:
        """``x``: ``(B, C_in, H, W)`` -> tokens ``(B, H'*W', C)`` and ``(H', W')``."""
        p = self.patch_size
        H, W = x.shape[-2:]
        if is_tracing() or H % p or W % p:  # (always while tracing: see layers.tracing)
            x = F.pad(x, (0, (-W) % p, 0, (-H) % p))
        x = self.proj(x)  # (B, C, H', W')
        hw_shape = (x.shape[2], x.shape[3])
        x = x.flatten(2).transpose(1, 2)  # (B, H'*W', C)
        return self.norm(x), hw_shape
