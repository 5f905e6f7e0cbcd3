"""Twins-PCPVT and Twins-SVT backbones for dense prediction (mmdet and mmseg alike).

Twins: Revisiting the Design of Spatial Attention in Vision Transformers,
Chu et al., NeurIPS 2021, https://arxiv.org/abs/2104.13840
"""
import math
from numbers import Real
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.utils.checkpoint as cp
from mmengine.model import BaseModule
from torch import Tensor, nn

from ...checkpoint.load import backbone_load_pre_hook
from ...registry import register_backbone
from ..layers import PatchEmbed, PositionEncodingGenerator, TwinsBlock
from ..layers.attention import WINDOW_PADDING_MODES, stage_key_mask

_PCPVT_COMMON = dict(embed_dims=[64, 128, 320, 512], num_heads=[1, 2, 5, 8],
                     mlp_ratios=[8, 8, 4, 4], sr_ratios=[8, 4, 2, 1])
_SVT_COMMON = dict(mlp_ratios=[4, 4, 4, 4], sr_ratios=[8, 4, 2, 1], window_sizes=[7, 7, 7, 7])


class TwinsStage(nn.Module):
    """One pyramid stage: patch embedding, blocks, PEG after the first block, optional norm.

    Args:
        in_channels: channels of the input map.
        embed_dims: channels of this stage.
        patch_size: stride of the patch embedding (4 for stage 1, else 2).
        blocks: the stage's :class:`TwinsBlock` list.
        norm_after: add a LayerNorm on the stage output.
        window_size: window of the stage's LSA blocks (if any).
        window_padding: ``'mask'``, ``'zero'`` or ``'mmseg'``, see
            :func:`~mmtwins.models.layers.attention.stage_key_mask`.
        drop_rate: dropout after the patch embedding.
        with_cp: activation checkpointing per block during training.
        norm_eps: eps of the stage-output LayerNorm.
    """

    def __init__(self, in_channels: int, embed_dims: int, patch_size: int,
                 blocks: List[TwinsBlock], norm_after: bool, window_size: int,
                 window_padding: str, drop_rate: float = 0.0, with_cp: bool = False,
                 norm_eps: float = 1e-6) -> None:
        super().__init__()
        self.patch_embed = PatchEmbed(in_channels, embed_dims, patch_size)
        self.pos_drop = nn.Dropout(drop_rate)
        self.blocks = nn.ModuleList(blocks)
        self.peg = PositionEncodingGenerator(embed_dims)
        self.norm = nn.LayerNorm(embed_dims, eps=norm_eps) if norm_after else None
        self.window_size = window_size
        self.window_padding = window_padding
        self.with_cp = with_cp
        self._has_lsa = any(b.attn_type == 'lsa' for b in blocks)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C_in, H, W)`` -> ``(B, C, ceil(H/p), ceil(W/p))``."""
        x, hw_shape = self.patch_embed(x)  # (B, H*W, C)
        x = self.pos_drop(x)
        key_mask = None
        if self._has_lsa:
            # one mask per stage and forward, shared by all LSA blocks
            key_mask = stage_key_mask(self.window_padding, hw_shape, self.window_size,
                                      x.shape[0], x.device)
        use_cp = self.with_cp and self.training and torch.is_grad_enabled()
        for j, block in enumerate(self.blocks):
            if use_cp:
                x = cp.checkpoint(block, x, hw_shape, key_mask, use_reentrant=False)
            else:
                x = block(x, hw_shape, key_mask)
            if j == 0:
                x = self.peg(x, hw_shape)
        if self.norm is not None:
            x = self.norm(x)
        B, _, C = x.shape
        return x.transpose(1, 2).reshape(B, C, *hw_shape)  # (B, C, H, W)


class TwinsBase(BaseModule):
    """Shared implementation of :class:`TwinsPCPVT` and :class:`TwinsSVT`.

    Subclasses define ``arch_zoo``, ``arch_aliases``, ``required_keys`` and
    :meth:`block_type`; see their docstrings for the arguments.
    """

    arch_zoo: Dict[str, dict] = {}
    arch_aliases: Dict[str, str] = {}
    required_keys: Tuple[str, ...] = ()
    default_norm_after_stage = False
    family = ''

    def __init__(self,
                 arch: Union[str, dict] = 'small',
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 drop_rate: float = 0.0,
                 attn_drop_rate: float = 0.0,
                 drop_path_rate: float = 0.0,
                 norm_after_stage: Optional[Union[bool, Sequence[bool]]] = None,
                 window_padding: str = 'mask',
                 frozen_stages: int = -1,
                 with_cp: bool = False,
                 fused_attn: bool = True,
                 norm_eps: float = 1e-6,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if pretrained is not None:
            # mmseg's segmentors pass their ``pretrained`` to the backbone
            if init_cfg is not None:
                raise ValueError('give either pretrained or init_cfg, not both')
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        super().__init__(init_cfg=init_cfg)
        # every checkpoint that reaches this backbone (load_state_dict, mmengine's
        # load_checkpoint: load_from, resume, init_model, the inferencers) is converted
        # from any known Twins layout, or refused unless it fits completely
        self.register_load_state_dict_pre_hook(backbone_load_pre_hook)
        self.last_load: Optional[dict] = None
        self.arch_name, self.arch_settings = self._resolve_arch(arch)
        settings = self.arch_settings
        num_stages = len(settings['depths'])
        self.num_stages = num_stages
        self.embed_dims = list(settings['embed_dims'])

        if not isinstance(in_channels, int) or in_channels <= 0:
            raise ValueError(f'in_channels must be a positive int, got {in_channels!r}')
        self.in_channels = in_channels
        self.out_indices = self._check_out_indices(out_indices, num_stages)
        if not isinstance(frozen_stages, int) or not -1 <= frozen_stages <= num_stages:
            raise ValueError(f'frozen_stages must be an int in [-1, {num_stages}] (-1 or 0: '
                             f'nothing frozen; k: stages 1..k frozen), got {frozen_stages!r}')
        self.frozen_stages = max(frozen_stages, 0)
        if window_padding not in WINDOW_PADDING_MODES:
            raise ValueError(f'window_padding must be one of {WINDOW_PADDING_MODES}, '
                             f'got {window_padding!r}')
        self.window_padding = window_padding
        for name, rate in (('drop_rate', drop_rate), ('attn_drop_rate', attn_drop_rate),
                           ('drop_path_rate', drop_path_rate)):
            if not isinstance(rate, Real) or not 0.0 <= rate < 1.0:
                raise ValueError(f'{name} must be a number in [0, 1), got {rate!r}')
        norm_after = self._check_norm_after_stage(norm_after_stage, num_stages)
        self.norm_after_stage = norm_after
        self.with_cp = with_cp
        if isinstance(norm_eps, bool) or not isinstance(norm_eps, Real) or not norm_eps > 0:
            raise ValueError(f'norm_eps must be a positive number, got {norm_eps!r}')
        self.norm_eps = float(norm_eps)

        # stochastic depth: linear from 0 to drop_path_rate over all blocks
        depths = settings['depths']
        total = sum(depths)
        dpr = [drop_path_rate * i / (total - 1) if total > 1 else 0.0 for i in range(total)]
        window_sizes = settings.get('window_sizes', [7] * num_stages)
        self.stages = nn.ModuleList()
        cur = 0
        for i in range(num_stages):
            dims = self.embed_dims[i]
            blocks = [
                TwinsBlock(dims, settings['num_heads'][i], settings['mlp_ratios'][i],
                           attn_type=self.block_type(j), sr_ratio=settings['sr_ratios'][i],
                           window_size=window_sizes[i], drop=drop_rate,
                           attn_drop=attn_drop_rate, drop_path=dpr[cur + j], fused=fused_attn,
                           norm_eps=norm_eps, floor=window_padding == 'mmseg')
                for j in range(depths[i])
            ]
            cur += depths[i]
            self.stages.append(
                TwinsStage(in_channels if i == 0 else self.embed_dims[i - 1], dims,
                           4 if i == 0 else 2, blocks, norm_after[i], window_sizes[i],
                           window_padding, drop_rate, with_cp, norm_eps))
        # Tokens viewed as maps are channels-last; with channels-last conv weights the
        # patch-embedding, sub-sampling and PEG convs run on them without any layout copy
        # (several times faster on CPU) and hand back token-ordered outputs.
        self.to(memory_format=torch.channels_last)
        self._freeze_stages()

    # ------------------------------------------------------------------ contract
    @property
    def out_channels(self) -> List[int]:
        """Channels of each returned map, in output order."""
        return [self.embed_dims[i] for i in self.out_indices]

    @property
    def out_strides(self) -> List[int]:
        """Stride of each returned map w.r.t. the input, in output order."""
        return [4 * 2 ** i for i in self.out_indices]

    def block_type(self, index: int) -> str:
        """Attention of the block at ``index`` within a stage: ``'gsa'`` or ``'lsa'``."""
        raise NotImplementedError

    @property
    def num_layers(self) -> int:
        """Depth levels for layer-wise lr decay: the first patch embedding (0), every
        block (1..N), and one level above for everything after the backbone."""
        return sum(self.arch_settings['depths']) + 2

    def get_layer_depth(self, param_name: str) -> int:
        """Depth of a backbone parameter (name relative to the backbone), for layer-wise
        learning-rate decay: stage ``i``'s patch embedding and PEG sit with its first
        block, its output norm with its last block."""
        parts = param_name.split('.')
        if parts[0] != 'stages' or len(parts) < 3:
            return self.num_layers - 1
        stage = int(parts[1])
        depths = self.arch_settings['depths']
        first = sum(depths[:stage]) + 1  # depth of the stage's first block
        if parts[2] == 'blocks':
            return first + int(parts[3])
        if parts[2] == 'norm':
            return first + depths[stage] - 1
        if parts[2] == 'patch_embed' and stage == 0:
            return 0
        return first  # patch_embed of later stages, peg

    @property
    def fused_attn(self) -> bool:
        """Whether attention runs on ``scaled_dot_product_attention`` (the default)."""
        return all(m.fused for m in self._attentions())

    @fused_attn.setter
    def fused_attn(self, value: bool) -> None:
        for m in self._attentions():
            m.fused = bool(value)

    def _attentions(self):
        return [blk.attn for stage in self.stages for blk in stage.blocks]

    # ------------------------------------------------------------------ forward
    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """``(B, in_channels, H, W)`` -> maps at strides 4, 8, 16, 32 (those in
        ``out_indices``), each ``(B, embed_dims[i], ceil(H / s), ceil(W / s))``."""
        if not isinstance(x, Tensor) or x.dim() != 4:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f'{type(self).__name__} expects a 4-D (B, C, H, W) tensor, '
                             f'got {shape}')
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f'{type(self).__name__} was built for {self.in_channels} input channels '
                f'but got an input of shape {tuple(x.shape)} ({x.shape[1]} channels); '
                f'set in_channels={x.shape[1]} or fix the data pipeline')
        if x.shape[2] < 1 or x.shape[3] < 1 or x.shape[0] < 1:
            raise ValueError(f'empty input of shape {tuple(x.shape)}')
        outs = []
        last = self.out_indices[-1]
        for i, stage in enumerate(self.stages[:last + 1]):
            if i < self.frozen_stages:
                with torch.no_grad():  # frozen: no autograd graph, no backward work
                    x = stage(x)
            else:
                x = stage(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    # ------------------------------------------------------------------ training
    def _freeze_stages(self) -> None:
        for stage in self.stages[:self.frozen_stages]:
            stage.eval()
            for p in stage.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        return self

    # ------------------------------------------------------------------ weights
    def init_weights(self) -> None:
        """Official initialisation, then ``Pretrained`` weights from ``init_cfg`` if any.

        Pretrained checkpoints in every known Twins format are converted on the fly by
        :func:`mmtwins.checkpoint.load_pretrained`, which refuses shape mismatches and
        files that match nothing instead of loading partially.
        """
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        cfgs = self.init_cfg if isinstance(self.init_cfg, list) else [self.init_cfg]
        cfgs = [c for c in cfgs if c is not None]
        pretrained = [c for c in cfgs if c.get('type') == 'Pretrained']
        others = [c for c in cfgs if c.get('type') != 'Pretrained']
        if others:
            init_cfg, self.init_cfg = self.init_cfg, others
            try:
                super().init_weights()
            finally:
                self.init_cfg = init_cfg
        for cfg in pretrained:
            from ...checkpoint import load_pretrained
            unknown = set(cfg) - {'type', 'checkpoint', 'prefix', 'map_location'}
            if unknown:
                raise ValueError(f'unsupported keys {sorted(unknown)} in init_cfg {cfg}')
            if 'checkpoint' not in cfg:
                raise ValueError(f"init_cfg {cfg} has no 'checkpoint' (a path or URL)")
            load_pretrained(self, cfg['checkpoint'], prefix=cfg.get('prefix'),
                            map_location=cfg.get('map_location', 'cpu'))
        self._is_init = True

    # ------------------------------------------------------------------ arguments
    @classmethod
    def _resolve_arch(cls, arch) -> Tuple[str, dict]:
        if isinstance(arch, str):
            key = arch.lower()
            if key in cls.arch_aliases:
                name = cls.arch_aliases[key]
                return name, {k: list(v) for k, v in cls.arch_zoo[name].items()}
            other = TwinsSVT if cls is TwinsPCPVT else TwinsPCPVT
            hint = ''
            if key in other.arch_aliases:
                hint = f' ({arch!r} is a {other.family} architecture: use {other.__name__})'
            raise ValueError(f'unknown {cls.family} arch {arch!r}{hint}; choose one of '
                             f'{sorted(cls.arch_aliases)} or pass a dict with keys '
                             f'{list(cls.required_keys)}')
        if not isinstance(arch, dict):
            raise TypeError(f'arch must be a str or a dict, got {type(arch).__name__}')
        unknown = sorted(set(arch) - set(cls.required_keys))
        if unknown:
            raise ValueError(f'unknown key(s) {unknown} in the {cls.family} arch dict; '
                             f'expected exactly {list(cls.required_keys)}')
        missing = [k for k in cls.required_keys if k not in arch]
        if missing:
            raise ValueError(f'the {cls.family} arch dict misses key(s) {missing}')
        settings = {}
        num_stages = None
        for key in cls.required_keys:
            value = arch[key]
            if not isinstance(value, (list, tuple)) or not value:
                raise ValueError(f'arch[{key!r}] must be a non-empty per-stage list, '
                                 f'got {value!r}')
            if num_stages is None:
                num_stages = len(value)
            elif len(value) != num_stages:
                raise ValueError(f'arch[{key!r}] has {len(value)} entries but '
                                 f'arch[{cls.required_keys[0]!r}] has {num_stages}: every '
                                 f'per-stage list must have one entry per stage')
            number = Real if key == 'mlp_ratios' else int
            for v in value:
                if isinstance(v, bool) or not isinstance(v, number) or v <= 0:
                    kind = 'numbers' if number is Real else 'ints'
                    raise ValueError(f'arch[{key!r}] must hold positive {kind}, got {value!r}')
            settings[key] = list(value)
        for i, (dims, heads) in enumerate(zip(settings['embed_dims'], settings['num_heads'])):
            if dims % heads:
                raise ValueError(f"arch['embed_dims'][{i}] ({dims}) is not a multiple of "
                                 f"arch['num_heads'][{i}] ({heads})")
        return 'custom', settings

    @staticmethod
    def _check_out_indices(out_indices, num_stages: int) -> Tuple[int, ...]:
        if isinstance(out_indices, int):
            out_indices = (out_indices,)
        if not isinstance(out_indices, (list, tuple)) or not out_indices:
            raise ValueError(f'out_indices must be a non-empty sequence of stage indices, '
                             f'got {out_indices!r}')
        result = []
        for i in out_indices:
            if isinstance(i, bool) or not isinstance(i, int) or not -num_stages <= i < num_stages:
                raise ValueError(f'out_indices {tuple(out_indices)!r}: {i!r} is not a stage '
                                 f'index in [0, {num_stages - 1}]')
            result.append(i % num_stages)
        if len(set(result)) != len(result):
            raise ValueError(f'out_indices {tuple(out_indices)!r} repeats a stage')
        return tuple(sorted(result))

    def _check_norm_after_stage(self, value, num_stages: int) -> List[bool]:
        if value is None:
            value = self.default_norm_after_stage
        if isinstance(value, bool):
            return [value] * num_stages
        if (not isinstance(value, (list, tuple)) or len(value) != num_stages
                or not all(isinstance(v, bool) for v in value)):
            raise ValueError(f'norm_after_stage must be a bool or {num_stages} bools, '
                             f'got {value!r}')
        return list(value)


def _aliases(official: str, timm: str) -> Dict[str, str]:
    table = {}
    for size in ('small', 'base', 'large'):
        for name in (size, size[0], f'{official}_{size}', f'{timm}_{size}'):
            table[name] = size
    return table


@register_backbone
class TwinsPCPVT(TwinsBase):
    """Twins-PCPVT: every block is global sub-sampled attention (GSA), plus a PEG per stage.

    Args:
        arch: ``'small' | 'base' | 'large'``, short forms ``'s' | 'b' | 'l'``, official
            names (``'pcpvt_small'``, ...), timm names (``'twins_pcpvt_small'``, ...), or a
            dict of per-stage lists with keys ``embed_dims``, ``depths``, ``num_heads``,
            ``mlp_ratios``, ``sr_ratios``.
        in_channels: channels of the input image.
        out_indices: stages whose outputs are returned (default all four).
        drop_rate: dropout after patch embeddings, attention projections and in MLPs.
        attn_drop_rate: dropout on attention weights.
        drop_path_rate: stochastic depth, linear from 0 to this over all blocks.
        norm_after_stage: LayerNorm (eps ``norm_eps``) on each stage output; a bool or one
            per stage. Default False, as the official PCPVT dense-prediction models.
        window_padding: PCPVT has no window attention; ``'mmseg'`` makes GSA's
            sub-sampling drop trailing tokens instead of padding them, as mmseg's PCPVT
            (with ``norm_eps=1e-5``: mmseg's numerics at any size).
        frozen_stages: freeze stages ``1..k`` (eval mode, no gradients); -1 or 0: none.
        with_cp: activation checkpointing per block (saves memory, costs a recompute).
        fused_attn: attention on ``scaled_dot_product_attention``; False: matmul-softmax.
        norm_eps: eps of the block and stage-output LayerNorms: 1e-6 as the official code
            and timm; mmseg's implementation (and its trained checkpoints) uses 1e-5.
        pretrained: shorthand for ``init_cfg=dict(type='Pretrained', checkpoint=...)``
            (mmseg's segmentors pass their ``pretrained`` here).
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH_OR_URL[, prefix=...])`` loads
            any known Twins checkpoint format (see :mod:`mmtwins.checkpoint`).

    Example:
        >>> import torch
        >>> from mmtwins.models import TwinsPCPVT
        >>> model = TwinsPCPVT(arch='small').eval()
        >>> for out in model(torch.rand(1, 3, 224, 224)):
        ...     print(tuple(out.shape))
        (1, 64, 56, 56)
        (1, 128, 28, 28)
        (1, 320, 14, 14)
        (1, 512, 7, 7)
    """

    family = 'Twins-PCPVT'
    required_keys = ('embed_dims', 'depths', 'num_heads', 'mlp_ratios', 'sr_ratios')
    arch_zoo = {
        'small': dict(_PCPVT_COMMON, depths=[3, 4, 6, 3]),
        'base': dict(_PCPVT_COMMON, depths=[3, 4, 18, 3]),
        'large': dict(_PCPVT_COMMON, depths=[3, 8, 27, 3]),
    }
    arch_aliases = _aliases('pcpvt', 'twins_pcpvt')
    default_norm_after_stage = False

    def block_type(self, index: int) -> str:
        return 'gsa'


@register_backbone
class TwinsSVT(TwinsBase):
    """Twins-SVT: alternating locally-grouped (LSA, even blocks) and global sub-sampled
    (GSA, odd blocks) attention in every stage, plus a PEG per stage.

    Args:
        arch: ``'small' | 'base' | 'large'``, short forms ``'s' | 'b' | 'l'``, official
            names (``'alt_gvt_small'``, ...), timm names (``'twins_svt_small'``, ...), or a
            dict of per-stage lists with keys ``embed_dims``, ``depths``, ``num_heads``,
            ``mlp_ratios``, ``sr_ratios``, ``window_sizes``.
        in_channels: channels of the input image.
        out_indices: stages whose outputs are returned (default all four).
        drop_rate: dropout after patch embeddings, attention projections and in MLPs.
        attn_drop_rate: dropout on attention weights.
        drop_path_rate: stochastic depth, linear from 0 to this over all blocks.
        norm_after_stage: LayerNorm (eps ``norm_eps``) on each stage output; a bool or one
            per stage. Default True, as the official SVT dense-prediction models.
        window_padding: ``'mask'`` (default): tokens padded to complete a window are
            excluded from attention; ``'zero'``: they take part as zero vectors, as in the
            official detection code and timm; ``'mmseg'``: mmseg's handling of sizes that
            do not divide, to run mmseg's trained checkpoints with the numerics they were
            trained with (with ``norm_eps=1e-5``): windows masked only when both bottom and
            right are padded (mmseg's one-sided-mask bug), and GSA's sub-sampling drops
            trailing tokens instead of padding them. All agree at sizes that are multiples
            of 32 where no window needs padding.
        frozen_stages: freeze stages ``1..k`` (eval mode, no gradients); -1 or 0: none.
        with_cp: activation checkpointing per block (saves memory, costs a recompute).
        fused_attn: attention on ``scaled_dot_product_attention``; False: matmul-softmax.
        norm_eps: eps of the block and stage-output LayerNorms: 1e-6 as the official code
            and timm; mmseg's implementation (and its trained checkpoints) uses 1e-5.
        pretrained: shorthand for ``init_cfg=dict(type='Pretrained', checkpoint=...)``
            (mmseg's segmentors pass their ``pretrained`` here).
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH_OR_URL[, prefix=...])`` loads
            any known Twins checkpoint format (see :mod:`mmtwins.checkpoint`).

    Example:
        >>> import torch
        >>> from mmtwins.models import TwinsSVT
        >>> model = TwinsSVT(arch='small').eval()
        >>> for out in model(torch.rand(1, 3, 97, 131)):
        ...     print(tuple(out.shape))
        (1, 64, 25, 33)
        (1, 128, 13, 17)
        (1, 256, 7, 9)
        (1, 512, 4, 5)
    """

    family = 'Twins-SVT'
    required_keys = ('embed_dims', 'depths', 'num_heads', 'mlp_ratios', 'sr_ratios',
                     'window_sizes')
    arch_zoo = {
        'small': dict(_SVT_COMMON, embed_dims=[64, 128, 256, 512], depths=[2, 2, 10, 4],
                      num_heads=[2, 4, 8, 16]),
        'base': dict(_SVT_COMMON, embed_dims=[96, 192, 384, 768], depths=[2, 2, 18, 2],
                     num_heads=[3, 6, 12, 24]),
        'large': dict(_SVT_COMMON, embed_dims=[128, 256, 512, 1024], depths=[2, 2, 18, 2],
                      num_heads=[4, 8, 16, 32]),
    }
    arch_aliases = _aliases('alt_gvt', 'twins_svt')
    default_norm_after_stage = True

    def block_type(self, index: int) -> str:
        return 'lsa' if index % 2 == 0 else 'gsa'
