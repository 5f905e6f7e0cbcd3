import torch
from torch import Tensor, nn

from .tracing import is_tracing

#: on the CPU the MLP runs over blocks of tokens whose hidden activations take about this
#: many bytes (see :meth:`Mlp.forward`)
CPU_MLP_CHUNK_BYTES = 8 * 2**20


def mlp_chunk_rows(x: Tensor, hidden_dims: int) -> int:
    """Rows (tokens) per block of the MLP on ``x``, or 0 to run it on all tokens at once.

    On the CPU, the hidden activations of a high-resolution stage are tens of megabytes
    (SVT-S stage 1 at 800x1344: 67200 tokens x 256 channels = 69 MB in fp32). Each such
    tensor is a fresh allocation that glibc's allocator maps from the OS (every page faulted
    in) and that falls out of the caches between the two linear layers; blocks of about
    :data:`CPU_MLP_CHUNK_BYTES` are reused from the heap and stay in cache. The MLP acts on
    each token alone, so the blocks compute the same values. Not while traced for export or
    compiled (a single graph, which the compiler fuses itself), nor on GPUs (whose caching
    allocator keeps memory).
    """
    if x.device.type != 'cpu' or is_tracing() or torch.compiler.is_compiling():
        return 0
    dtype = torch.get_autocast_dtype('cpu') if torch.is_autocast_enabled('cpu') else x.dtype
    rows = max(256, CPU_MLP_CHUNK_BYTES // (hidden_dims * dtype.itemsize))
    return rows if x.numel() // x.shape[-1] > 2 * rows else 0


class Mlp(nn.Module):
    """``Linear(C, C*r) -> GELU -> Dropout -> Linear(C*r, C) -> Dropout``, per token.

    On the CPU, large token maps run in blocks of tokens (:func:`mlp_chunk_rows`).
    """

    def __init__(self, embed_dims: int, hidden_dims: int, drop: float = 0.0) -> None:
        super().__init__()
        self.fc1 = nn.Linear(embed_dims, hidden_dims)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dims, embed_dims)
        self.drop = nn.Dropout(drop)

    def _mlp(self, x: Tensor) -> Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))

    def forward(self, x: Tensor) -> Tensor:
        """``x``: ``(..., C)`` -> ``(..., C)``."""
        rows = mlp_chunk_rows(x, self.fc1.out_features)
        if not rows:
            return self._mlp(x)
        flat = x.reshape(-1, x.shape[-1])  # (tokens, C)
        out = torch.cat([self._mlp(part) for part in flat.split(rows)])
        return out.view(*x.shape[:-1], out.shape[-1])


class DropPath(nn.Module):
    """Stochastic depth: zero a sample's residual branch with probability ``p`` (training).

    Kept samples are scaled by ``1 / (1 - p)``.
    """

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        return x * x.new_empty(shape).bernoulli_(keep).div_(keep)

    def extra_repr(self) -> str:
        return f'p={self.p}'
