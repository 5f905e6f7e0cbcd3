from typing import Optional, Tuple

from torch import Tensor, nn

from .attention import GlobalSubsampledAttention, LocallyGroupedAttention
from .mlp import DropPath, Mlp


class TwinsBlock(nn.Module):
    """Pre-norm transformer block with GSA or LSA attention.

    ``x = x + DropPath(Attn(LN(x)))``, then ``x = x + DropPath(Mlp(LN(x)))``.

    Args:
        embed_dims: channels ``C``.
        num_heads: attention heads.
        mlp_ratio: hidden width of the MLP as a multiple of ``C``.
        attn_type: ``'gsa'`` (global sub-sampled) or ``'lsa'`` (locally grouped).
        sr_ratio: spatial reduction of GSA (ignored by LSA).
        window_size: window of LSA (ignored by GSA).
        drop: dropout after the projections and in the MLP.
        attn_drop: dropout on attention weights.
        drop_path: stochastic depth probability of this block.
        attn_impl: the attention kernel (:data:`~.attention.ATTN_IMPLS`).
        norm_eps: eps of the two LayerNorms (1e-6 as the official code and timm; mmseg's
            implementation uses 1e-5).
        floor: GSA drops trailing tokens instead of padding, see
            :class:`GlobalSubsampledAttention`.
        qkv_bias: bias of the attention's q/kv (GSA) or qkv (LSA) projections.
    """

    def __init__(self, embed_dims: int, num_heads: int, mlp_ratio: float, attn_type: str = 'gsa',
                 sr_ratio: int = 1, window_size: int = 7, drop: float = 0.0,
                 attn_drop: float = 0.0, drop_path: float = 0.0, attn_impl: str = 'auto',
                 norm_eps: float = 1e-6, floor: bool = False, qkv_bias: bool = True) -> None:
        super().__init__()
        self.attn_type = attn_type
        self.norm1 = nn.LayerNorm(embed_dims, eps=norm_eps)
        if attn_type == 'gsa':
            self.attn = GlobalSubsampledAttention(embed_dims, num_heads, sr_ratio,
                                                  qkv_bias=qkv_bias, attn_drop=attn_drop,
                                                  proj_drop=drop, attn_impl=attn_impl,
                                                  floor=floor)
        elif attn_type == 'lsa':
            self.attn = LocallyGroupedAttention(embed_dims, num_heads, window_size,
                                                qkv_bias=qkv_bias, attn_drop=attn_drop,
                                                proj_drop=drop, attn_impl=attn_impl)
        else:
            raise ValueError(f"attn_type must be 'gsa' or 'lsa', got {attn_type!r}")
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.mlp = Mlp(embed_dims, int(embed_dims * mlp_ratio), drop)

    def forward(self, x: Tensor, hw_shape: Tuple[int, int],
                key_mask: Optional[Tensor] = None) -> Tensor:
        """``x``: ``(B, H*W, C)``; ``key_mask``: LSA's window padding mask, or None."""
        if self.attn_type == 'lsa':
            y = self.attn(self.norm1(x), hw_shape, key_mask)
        else:
            y = self.attn(self.norm1(x), hw_shape)
        x = x + self.drop_path(y)
        return x + self.drop_path(self.mlp(self.norm2(x)))
