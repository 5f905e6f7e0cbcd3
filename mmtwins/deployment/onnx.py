"""Exporting a Twins backbone to ONNX and running it with ONNX Runtime: the pieces of
tools/deployment/export_onnx.py. Whole segmentors and detectors deploy through mmdeploy
(:mod:`mmtwins.deployment.deploy`).

* :func:`build_whole`: a config's whole model with a checkpoint checked as a whole;
* :func:`export`, :func:`ort_session`, :func:`compare`, :func:`normalisation`.
"""
import torch

from ..errors import ConfigError


def build_whole(config: str, checkpoint=None):
    """The config's whole model (eval mode, CPU) with ``checkpoint``'s weights, checked as
    a whole before anything is loaded; returns ``(model, cfg)``."""
    from mmengine.registry import init_default_scope

    from ..checkpoint.whole_model import load_whole_model, read_whole_checkpoint
    from ..cli.config_checks import load_config
    from ..cli.devices import replace_norm_type
    cfg = load_config(config)
    scope = cfg.get('default_scope')
    if scope not in ('mmseg', 'mmdet'):
        raise ConfigError(f'{config}: a whole model needs a mmseg or mmdet config '
                          f'(default_scope {scope!r})')
    cfg.model.backbone.init_cfg = None
    replace_norm_type(cfg.model, 'SyncBN', 'BN')
    init_default_scope(scope)
    if scope == 'mmseg':
        from mmseg.registry import MODELS
    else:
        from mmdet.registry import MODELS
    model = MODELS.build(cfg.model)
    if checkpoint:
        load_whole_model(model, read_whole_checkpoint(checkpoint)[1], source=checkpoint)
    else:
        model.init_weights()
    return model.eval(), cfg


# what every Twins checkpoint was trained on (ImageNet statistics, RGB; all our configs)
IMAGENET_PREPROCESSOR = dict(bgr_to_rgb=True, mean=[123.675, 116.28, 103.53],
                             std=[58.395, 57.12, 57.375])


def normalisation(cfg=None) -> str:
    """The input normalisation of ``cfg``'s data preprocessor (ImageNet's without one)."""
    pre = (cfg.model.get('data_preprocessor') if cfg is not None else None) \
        or IMAGENET_PREPROCESSOR
    return (f'RGB (bgr_to_rgb={pre.get("bgr_to_rgb")}), mean {pre.get("mean")}, '
            f'std {pre.get("std")}')


def export(module: torch.nn.Module, x: torch.Tensor, out: str, output_names, opset: int,
           dynamic: bool = False) -> None:
    """Fixed size: torch's default (dynamo) exporter at ``x``'s shape. ``dynamic``: any batch
    size, height and width, through the TorchScript exporter (as mmdeploy's), under which the
    Twins layers take their general path at every size (``mmtwins.models.layers.tracing``)."""
    if not dynamic:
        torch.onnx.export(module, (x,), out, input_names=['image'], output_names=output_names,
                          opset_version=opset, dynamo=True)
        return
    axes = {'image': {0: 'batch', 2: 'height', 3: 'width'}}
    axes.update({name: {0: 'batch', 2: f'{name}_height', 3: f'{name}_width'}
                 for name in output_names})
    with torch.no_grad():
        torch.onnx.export(module, (x,), out, input_names=['image'], output_names=output_names,
                          opset_version=opset, dynamo=False, dynamic_axes=axes)


def ort_session(path: str, threads: int = 0):
    import onnxruntime as ort
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


def compare(got, want) -> float:
    """Largest absolute difference over the largest absolute reference value."""
    scale = max(float(w.abs().max()) for w in want) or 1.0
    return max(float(abs(g - w.numpy()).max()) for g, w in zip(got, want)) / scale
