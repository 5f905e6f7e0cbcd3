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

from ... import arguments, variants
from ...checkpoint.load import backbone_load_pre_hook
from ...registry import register_backbone
from ..layers import PatchEmbed, PositionEncodingGenerator, TwinsBlock
from ..layers.attention import WINDOW_PADDING_MODES, attn_impl_setting, stage_key_mask
from ..layers.tracing import is_tracing


class TwinsStage(nn.Module):
    """One pyramid stage: patch embedding, blocks, PEG after the first block, optional norm.

    Args:
        in_channels: channels of the input map.
        embed_dims: channels of this stage.
        patch_size: kernel size and stride of the (non-overlapping) patch embedding
            (4 for stage 1, else 2 in every Twins).
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

    Subclasses define ``family``, ``arch_zoo``, ``arch_aliases``, ``required_keys`` (from
    the variant table) and :meth:`block_type`; see their docstrings for the arguments, which
    :mod:`mmtwins.arguments` checks and resolves.
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
                 fused_attn: Optional[bool] = None,
                 norm_eps: Optional[float] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 *,
                 attn_impl: Optional[str] = None,
                 qkv_bias: bool = True,
                 norm_cfg: Optional[dict] = None,
                 embed_dims: Optional[Sequence[int]] = None,
                 depths: Optional[Sequence[int]] = None,
                 num_heads: Optional[Sequence[int]] = None,
                 mlp_ratios: Optional[Sequence[Real]] = None,
                 sr_ratios: Optional[Sequence[int]] = None,
                 window_sizes: Optional[Sequence[int]] = None,
                 windiow_sizes: Optional[Sequence[int]] = None,
                 patch_sizes: Optional[Sequence[int]] = None,
                 strides: Optional[Sequence[int]] = None) -> None:
        init_cfg = arguments.init_cfg_of(pretrained, init_cfg)
        super().__init__(init_cfg=init_cfg)
        # every checkpoint that reaches this backbone (load_state_dict, mmengine's
        # load_checkpoint: load_from, resume, init_model, the inferencers) is converted
        # from any known Twins layout, or refused unless it fits completely
        self.register_load_state_dict_pre_hook(backbone_load_pre_hook)
        self.last_load: Optional[dict] = None
        flat = dict(embed_dims=embed_dims, depths=depths, num_heads=num_heads,
                    mlp_ratios=mlp_ratios, sr_ratios=sr_ratios, window_sizes=window_sizes,
                    windiow_sizes=windiow_sizes, patch_sizes=patch_sizes, strides=strides)
        self.arch_name, self.arch_settings = arguments.resolve_architecture(
            self.family, arch, {k: v for k, v in flat.items() if v is not None})
        settings = self.arch_settings
        num_stages = len(settings['depths'])
        self.num_stages = num_stages
        self.embed_dims = list(settings['embed_dims'])
        # per-stage patch size = stride (non-overlapping patch embeddings)
        self.strides = list(settings.get('strides', arguments.default_strides(num_stages)))

        arguments.check_plain_arguments(
            in_channels=in_channels, frozen_stages=frozen_stages, num_stages=num_stages,
            window_padding=window_padding, window_padding_modes=WINDOW_PADDING_MODES,
            drop_rate=drop_rate, attn_drop_rate=attn_drop_rate, drop_path_rate=drop_path_rate,
            qkv_bias=qkv_bias)
        self.in_channels = in_channels
        self.out_indices = arguments.check_out_indices(out_indices, num_stages)
        self.frozen_stages = max(frozen_stages, 0)
        self.window_padding = window_padding
        self.qkv_bias = qkv_bias
        norm_after = arguments.check_norm_after_stage(norm_after_stage, num_stages,
                                                      self.default_norm_after_stage)
        self.norm_after_stage = norm_after
        self.with_cp = with_cp
        # norm_cfg (mmseg's and mmpretrain's argument) sets the blocks' and stage norms' eps
        norm_eps = arguments.resolve_norm_eps(norm_cfg, norm_eps)
        self.norm_eps = float(norm_eps)
        attn_impl = attn_impl_setting(attn_impl, fused_attn)

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
                           attn_drop=attn_drop_rate, drop_path=dpr[cur + j], attn_impl=attn_impl,
                           norm_eps=norm_eps, floor=window_padding == 'mmseg',
                           qkv_bias=qkv_bias)
                for j in range(depths[i])
            ]
            cur += depths[i]
            self.stages.append(
                TwinsStage(in_channels if i == 0 else self.embed_dims[i - 1], dims,
                           self.strides[i], blocks, norm_after[i], window_sizes[i],
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
        """Stride of each returned map w.r.t. the input, in output order (the product of
        the patch-embedding strides up to its stage: 4, 8, 16, 32 in every Twins)."""
        return [math.prod(self.strides[:i + 1]) for i in self.out_indices]

    def block_type(self, index: int) -> str:
        """Attention of the block at ``index`` within a stage: ``'gsa'`` or ``'lsa'``."""
        raise NotImplementedError

    @property
    def num_layers(self) -> int:
        """Depth levels for layer-wise lr decay: the first patch embedding (0), every
        block (1..N), and one level above for everything after the backbone."""
        return sum(self.arch_settings['depths']) + 2

    def get_layer_depth(self, param_name: str, prefix: str = '') -> Tuple[int, int]:
        """Layer depth of a parameter for layer-wise learning-rate decay, with mmpretrain's
        contract: ``(layer_id, num_layers)`` for ``param_name`` (a model's parameter name;
        ``prefix`` is where the backbone sits in the model, e.g. ``'backbone.'``).

        The first patch embedding is 0, block ``k`` (counted over all stages) is ``k + 1``;
        stage ``i``'s later patch embedding and its PEG sit with its first block, its output
        norm with its last block; parameters outside the backbone get ``num_layers - 1``.
        So mmpretrain's ``LearningRateDecayOptimWrapperConstructor`` (through a model that
        delegates to this, as mmpretrain's classifiers do) and our
        :class:`~mmtwins.engine.TwinsLayerDecayOptimWrapperConstructor` agree.
        """
        num_layers = self.num_layers
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        parts = param_name[len(prefix):].split('.')
        if parts[0] != 'stages' or len(parts) < 3:
            return num_layers - 1, num_layers
        stage = int(parts[1])
        depths = self.arch_settings['depths']
        first = sum(depths[:stage]) + 1  # depth of the stage's first block
        if parts[2] == 'blocks':
            depth = first + int(parts[3])
        elif parts[2] == 'norm':
            depth = first + depths[stage] - 1
        elif parts[2] == 'patch_embed' and stage == 0:
            depth = 0
        else:
            depth = first  # patch_embed of later stages, peg
        return depth, num_layers

    @property
    def attn_impl(self) -> str:
        """The attention kernel setting (:data:`~mmtwins.models.layers.ATTN_IMPLS`) of every
        block; set it to switch them all (e.g. ``'math'`` to export or count FLOPs)."""
        return self._attentions()[0].attn_impl

    @attn_impl.setter
    def attn_impl(self, value: str) -> None:
        value = attn_impl_setting(value)
        for m in self._attentions():
            m.attn_impl = value

    @property
    def fused_attn(self) -> bool:
        """timm's spelling of :attr:`attn_impl`: False is ``'math'``, True ``'auto'``."""
        return self.attn_impl != 'math'

    @fused_attn.setter
    def fused_attn(self, value: bool) -> None:
        self.attn_impl = attn_impl_setting(fused_attn=value)

    def _attentions(self):
        return [blk.attn for stage in self.stages for blk in stage.blocks]

    # ------------------------------------------------------------------ forward
    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """``(B, in_channels, H, W)`` -> maps at strides 4, 8, 16, 32 (``out_strides``;
        those in ``out_indices``), each ``(B, embed_dims[i], ceil(H / s), ceil(W / s))``."""
        if not isinstance(x, Tensor) or x.dim() != 4:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f'{type(self).__name__} expects a 4-D (B, C, H, W) tensor, '
                             f'got {shape}')
        if is_tracing():
            pass  # sizes are symbolic while traced for export: nothing to check
        elif x.shape[1] != self.in_channels:
            raise ValueError(
                f'{type(self).__name__} was built for {self.in_channels} input channels '
                f'but got an input of shape {tuple(x.shape)} ({x.shape[1]} channels); '
                f'set in_channels={x.shape[1]} or fix the data pipeline')
        elif x.shape[2] < 1 or x.shape[3] < 1 or x.shape[0] < 1:
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


@register_backbone
class TwinsPCPVT(TwinsBase):
    family = variants.PCPVT
    required_keys = variants.REQUIRED_KEYS[family]
    arch_zoo = variants.arch_zoo(family)
    arch_aliases = variants.alias_table(family)
    default_norm_after_stage = False

    def block_type(self, index: int) -> str:
        return 'gsa'


@register_backbone
class TwinsSVT(TwinsBase):
    family = variants.SVT
    required_keys = variants.REQUIRED_KEYS[family]
    arch_zoo = variants.arch_zoo(family)
    arch_aliases = variants.alias_table(family)
    default_norm_after_stage = True

    def block_type(self, index: int) -> str:
        return 'lsa' if index % 2 == 0 else 'gsa'


# One text of the arguments for both families; the parts that differ are filled in below.
_DOC = """{title}

    Args:
        arch: ``'small' | 'base' | 'large'``, short forms ``'s' | 'b' | 'l'``, official
            names (``'{official}_small'``, ...), timm names (``'{timm}_small'``, ...), or a
            dict of per-stage lists with keys {keys} and optionally ``patch_sizes``,
            ``strides`` (as mmpretrain's arch dicts). A dict equal to a named variant is that
            variant.
        in_channels: channels of the input image.
        out_indices: stages whose outputs are returned (default all four).
        drop_rate: dropout after patch embeddings, attention projections and in MLPs.
        attn_drop_rate: dropout on attention weights.
        drop_path_rate: stochastic depth, linear from 0 to this over all blocks.
        norm_after_stage: LayerNorm (eps ``norm_eps``) on each stage output; a bool or one
            per stage. Default {norm_default}, as the official {short} dense-prediction models.
        window_padding: {window_padding}
        frozen_stages: freeze stages ``1..k`` (eval mode, no gradients); -1 or 0: none.
        with_cp: activation checkpointing per block (saves memory, costs a recompute).
        fused_attn: timm's spelling of ``attn_impl``: False is ``'math'`` (matmul-softmax),
            True ``'auto'``.
        attn_impl: the attention kernel: ``'auto'`` (default: ``scaled_dot_product_attention``,
            matmul-softmax on the CPU in half precision for short key sequences),
            ``'sdpa'`` or ``'math'``.
        norm_eps: eps of the block and stage-output LayerNorms: 1e-6 as the official code
            and timm; mmseg's implementation (and its trained checkpoints) uses 1e-5.
            ``norm_cfg``'s eps, when given, sets it; an explicit ``norm_eps`` that disagrees
            with it is refused.
        pretrained: shorthand for ``init_cfg=dict(type='Pretrained', checkpoint=...)``
            (mmseg's segmentors pass their ``pretrained`` here).
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH_OR_URL[, prefix=...])`` loads
            any known Twins checkpoint format (see :mod:`mmtwins.checkpoint`).
        qkv_bias: bias of the attention's query/key/value projections (default True, as
            every Twins; False builds them without, the output projections keep theirs).
        norm_cfg: mmseg's and mmpretrain's ``dict(type='LN'[, eps=..., requires_grad=True])``:
            its eps (1e-5 when not given, as those libraries build) becomes ``norm_eps``;
            other norm types are refused.
        {flat}, patch_sizes, strides:
            the architecture as the per-stage keyword arguments of mmseg's configs, instead
            of ``arch`` (all but the last two needed; ``patch_sizes`` must equal ``strides``:
            the patch embeddings are non-overlapping). A dict equal to a named variant is
            that variant.

    Example:
        >>> import torch
        >>> from mmtwins.models import {cls}
        >>> model = {cls}(arch='small').eval()
        >>> for out in model(torch.rand({example_input})):
        ...     print(tuple(out.shape))
{example_output}
    """

TwinsPCPVT.__doc__ = _DOC.format(
    title='Twins-PCPVT: every block is global sub-sampled attention (GSA), plus a PEG per '
          'stage.',
    official='pcpvt', timm='twins_pcpvt', short='PCPVT', norm_default='False',
    keys='``embed_dims``, ``depths``, ``num_heads``, ``mlp_ratios``, ``sr_ratios``',
    window_padding="""PCPVT has no window attention; ``'mmseg'`` makes GSA's
            sub-sampling drop trailing tokens instead of padding them, as mmseg's PCPVT
            (with ``norm_eps=1e-5``: mmseg's numerics at any size).""",
    flat='embed_dims, depths, num_heads, mlp_ratios, sr_ratios',
    cls='TwinsPCPVT', example_input='1, 3, 224, 224',
    example_output="""        (1, 64, 56, 56)
        (1, 128, 28, 28)
        (1, 320, 14, 14)
        (1, 512, 7, 7)""")

TwinsSVT.__doc__ = _DOC.format(
    title="""Twins-SVT: alternating locally-grouped (LSA, even blocks) and global sub-sampled
    (GSA, odd blocks) attention in every stage, plus a PEG per stage.""",
    official='alt_gvt', timm='twins_svt', short='SVT', norm_default='True',
    keys='``embed_dims``, ``depths``, ``num_heads``, ``mlp_ratios``, ``sr_ratios``, '
         '``window_sizes``',
    window_padding="""``'mask'`` (default): tokens padded to complete a window are
            excluded from attention; ``'zero'``: they take part as zero vectors, as in the
            official detection code and timm; ``'mmseg'``: mmseg's handling of sizes that
            do not divide, to run mmseg's trained checkpoints with the numerics they were
            trained with (with ``norm_eps=1e-5``): windows masked only when both bottom and
            right are padded (mmseg's one-sided-mask bug), and GSA's sub-sampling drops
            trailing tokens instead of padding them. All agree at sizes that are multiples
            of 32 where no window needs padding.""",
    flat="embed_dims, depths, num_heads, mlp_ratios, sr_ratios, window_sizes (or mmseg's\n"
         "            windiow_sizes)",
    cls='TwinsSVT', example_input='1, 3, 97, 131',
    example_output="""        (1, 64, 25, 33)
        (1, 128, 13, 17)
        (1, 256, 7, 9)
        (1, 512, 4, 5)""")
