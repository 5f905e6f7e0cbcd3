"""Whole models through mmdeploy: a trained config + checkpoint to an ONNX Runtime model, a
picture of its predictions, and its agreement with PyTorch at other input sizes.

The one road for whole segmentors and detectors (``tools/deployment/deploy.py``, and
``export_onnx.py --whole``, which hands over to it):

* :func:`deploy_config_for`: the shipped deploy config (``configs/deploy/``) for a model config;
* :func:`deploy`: checks the checkpoint against the model as a whole (mmdeploy's own loading
  is non-strict and would deploy a half-loaded model), exports with mmdeploy's
  ``torch2onnx``, draws the backend's predictions with mmdeploy's ``visualize_model``;
* :func:`agreement`: PyTorch and the deployed model on one image resized to given sizes,
  through mmdeploy's task processor (same pipeline, same preprocessing): for segmentation the
  share of pixels with the same class, for detection boxes matched by label and IoU, their
  scores, and masks by IoU.
"""
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..errors import ConfigError, InputNotFoundError, MissingDependencyError
from ..startup_hook import configs_dir

#: the shipped deploy configs (under ``configs/deploy/``) by task
DEPLOY_CONFIGS = {
    'segmentation': 'segmentation_onnxruntime_dynamic.py',
    'detection': 'detection_onnxruntime_dynamic.py',
    'instance-seg': 'instance-seg_onnxruntime_dynamic.py',
}
INSTALL_HINT = ('install it with: MMTWINS_DEPLOY=1 bash tools/setup.sh (mmdeploy 1.3.1 without '
                'its stale protobuf pin; docs/deployment.md)')


def require_mmdeploy():
    """Import mmdeploy and register mmtwins' support; MissingDependencyError (an ImportError)
    without it."""
    try:
        import mmdeploy  # noqa: F401
    except ImportError as e:
        raise MissingDependencyError(f'deploying a whole model needs mmdeploy, which is not '
                                     f'installed; {INSTALL_HINT}') from e
    from . import mmdeploy_support
    return mmdeploy_support.register()


def model_task(model_cfg) -> str:
    """'segmentation', 'detection' or 'instance-seg' for a mmseg/mmdet model config."""
    scope = model_cfg.get('default_scope')
    if scope == 'mmseg':
        return 'segmentation'
    if scope == 'mmdet':
        roi_head = model_cfg.model.get('roi_head') or {}
        return 'instance-seg' if roi_head.get('mask_head') else 'detection'
    raise ConfigError(f'deploying needs a mmseg or mmdet model config (default_scope '
                      f'{scope!r})')


def deploy_config_path(name: str) -> str:
    """A shipped deploy config by file name."""
    return osp.join(configs_dir(), 'deploy', name)


def deploy_config_for(model_cfg) -> str:
    """The shipped deploy config for ``model_cfg``'s task."""
    return deploy_config_path(DEPLOY_CONFIGS[model_task(model_cfg)])


def check_checkpoint(config: str, checkpoint: str) -> None:
    """Refuse, before mmdeploy loads it non-strictly, a checkpoint that does not fit the
    config's model as a whole (or would run code: mmtwins' safe reader)."""
    from .onnx import build_whole
    build_whole(config, checkpoint)


@dataclass
class Deployed:
    work_dir: str
    onnx_file: str
    deploy_cfg: str
    picture: Optional[str] = None
    export_shape: Tuple[int, int] = (0, 0)
    outputs: List[str] = field(default_factory=list)


def deploy(config: str, checkpoint: str, image: str, work_dir: str,
           deploy_cfg: Optional[str] = None, device: str = 'cpu',
           picture: bool = True) -> Deployed:
    """Export ``config`` with ``checkpoint``'s weights through mmdeploy into
    ``work_dir/end2end.onnx`` (traced at ``image``'s size after the test pipeline), and draw
    the ONNX Runtime model's predictions on ``image`` into ``work_dir/output_onnxruntime.jpg``."""
    require_mmdeploy()
    from mmdeploy.apis import torch2onnx, visualize_model
    from mmdeploy.utils import get_onnx_config, load_config

    from ..cli.config_checks import load_config as load_model_config
    if not osp.isfile(image):
        raise InputNotFoundError(f'image not found: {image}')
    model_cfg = load_model_config(config)
    deploy_cfg = deploy_cfg or deploy_config_for(model_cfg)
    if not osp.isfile(deploy_cfg):
        raise InputNotFoundError(f'deploy config not found: {deploy_cfg}')
    check_checkpoint(config, checkpoint)
    os.makedirs(work_dir, exist_ok=True)
    onnx_cfg = get_onnx_config(load_config(deploy_cfg)[0])
    torch2onnx(image, work_dir, onnx_cfg['save_file'], deploy_cfg, model_cfg, checkpoint, device)
    onnx_file = osp.join(work_dir, onnx_cfg['save_file'])
    result = Deployed(work_dir, onnx_file, deploy_cfg, outputs=list(onnx_cfg['output_names']))
    result.export_shape = _pipeline_shape(model_cfg, deploy_cfg, image)
    if picture:
        visualize_model(model_cfg, deploy_cfg, [onnx_file], image, device,
                        output_file=osp.join(work_dir, 'output_onnxruntime.jpg'))
        # (mmseg's visualizer adds a suffix and picks the extension: the newest such file)
        drawn = [osp.join(work_dir, f) for f in os.listdir(work_dir)
                 if f.startswith('output_onnxruntime')]
        result.picture = max(drawn, key=osp.getmtime) if drawn else None
    return result


def _pipeline_shape(model_cfg, deploy_cfg, image) -> Tuple[int, int]:
    """The input size mmdeploy traced at: ``image`` through the test pipeline and the data
    preprocessor."""
    from mmdeploy.apis.utils import build_task_processor
    from mmengine.registry import MODELS
    processor = build_task_processor(model_cfg, deploy_cfg, 'cpu')
    data, _ = processor.create_input(image, None)
    preprocessor = MODELS.build(model_cfg.model.data_preprocessor)
    return tuple(preprocessor(data, False)['inputs'].shape[2:])


def export_model(model, inputs: torch.Tensor, out: str, deploy_cfg) -> str:
    """Export an in-memory segmentor through mmdeploy's export (its rewriters, the deploy
    config's ONNX settings; a path or a Config) to ``out``; what the benchmark times.
    Returns the file written."""
    require_mmdeploy()
    from mmdeploy.apis.onnx import export
    from mmdeploy.codebase import import_codebase
    from mmdeploy.utils import (get_backend, get_codebase, get_dynamic_axes, get_onnx_config,
                                load_config)
    from mmdeploy.utils.config_utils import get_codebase_external_module
    dcfg = load_config(deploy_cfg)[0]
    # the codebase's rewriters (e.g. the segmentor's forward to a tensor) and ours
    import_codebase(get_codebase(dcfg), get_codebase_external_module(dcfg))
    onnx_cfg = get_onnx_config(dcfg)
    prefix = out[:-len('.onnx')] if out.endswith('.onnx') else out
    export(model, inputs, prefix, backend=get_backend(dcfg).value,
           input_metas={'data_samples': None, 'mode': 'predict'},
           context_info=dict(deploy_cfg=dcfg), input_names=onnx_cfg['input_names'],
           output_names=onnx_cfg['output_names'], opset_version=onnx_cfg['opset_version'],
           dynamic_axes=get_dynamic_axes(dcfg),
           keep_initializers_as_inputs=onnx_cfg['keep_initializers_as_inputs'],
           optimize=False)
    return prefix + '.onnx'


# --- agreement with PyTorch -------------------------------------------------------------------

@dataclass
class Agreement:
    """One input size: ``pixels`` (segmentation: share of pixels with the same class) or,
    for detection, over PyTorch's instances scoring at least ``score_thr``: ``matched``
    (share with an ONNX Runtime instance of the same label at IoU >= ``iou_thr``),
    ``min_iou`` and ``max_score_diff`` of the matched ones, and ``mask_iou``, the mean mask
    IoU of those whose boxes agree (IoU >= 0.99; a box that moves moves its mask)."""
    shape: Tuple[int, int]
    pixels: Optional[float] = None
    instances: int = 0
    matched: Optional[float] = None
    min_iou: Optional[float] = None
    max_score_diff: Optional[float] = None
    mask_iou: Optional[float] = None

    def line(self) -> str:
        size = f'{self.shape[0]}x{self.shape[1]}'
        if self.pixels is not None:
            return f'{size}: {100 * self.pixels:.3f}% of pixels with the same class'
        if not self.instances:
            return f'{size}: no instance above the score threshold in PyTorch'
        text = (f'{size}: {self.instances} instances, {100 * self.matched:.1f}% matched, '
                f'box IoU >= {self.min_iou:.4f}, score difference <= '
                f'{self.max_score_diff:.2e}')
        if self.mask_iou is not None:
            text += f', mask IoU {self.mask_iou:.4f} (mean)'
        return text


def mask_iou(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.bool(), b.bool()
    union = (a | b).sum()
    return 1.0 if union == 0 else float((a & b).sum() / union)


def compare_instances(want, got, shape, score_thr: float = 0.05,
                      iou_thr: float = 0.9) -> Agreement:
    """Match PyTorch's instances (``want``, scoring >= ``score_thr``) to the deployed model's
    (``got``) greedily by IoU among the same label."""
    keep = want.scores >= score_thr
    result = Agreement(shape, instances=int(keep.sum()))
    if not result.instances:
        return result
    w_boxes, w_scores, w_labels = want.bboxes[keep], want.scores[keep], want.labels[keep]
    w_masks = want.masks[keep] if 'masks' in want else None
    from mmdet.structures.bbox import bbox_overlaps
    ious = bbox_overlaps(w_boxes.float(), got.bboxes.float())  # (N, M); (N, 0) when M = 0
    ious[w_labels[:, None] != got.labels[None, :]] = 0
    used, matched_ious, score_diffs, mask_ious = set(), [], [], []
    for i in torch.argsort(w_scores, descending=True).tolist():
        row = ious[i].clone()
        row[list(used)] = -1
        if not len(row) or float(row.max()) < iou_thr:
            continue
        j = int(row.argmax())
        used.add(j)
        matched_ious.append(float(row[j]))
        score_diffs.append(abs(float(w_scores[i]) - float(got.scores[j])))
        if w_masks is not None and 'masks' in got and float(row[j]) >= 0.99:
            mask_ious.append(mask_iou(w_masks[i], got.masks[j]))
    result.matched = len(matched_ious) / result.instances
    result.min_iou = min(matched_ious, default=0.0)
    result.max_score_diff = max(score_diffs, default=float('inf'))
    if mask_ious:
        result.mask_iou = sum(mask_ious) / len(mask_ious)
    return result


def agreement(config: str, checkpoint: str, backend_files: Sequence[str], image: str,
              shapes: Sequence[Tuple[int, int]], deploy_cfg: Optional[str] = None,
              score_thr: float = 0.05, checked: bool = False) -> List[Agreement]:
    """PyTorch (``checkpoint``) and the deployed model (``backend_files``) on ``image`` resized
    by the test pipeline to each ``(H, W)`` of ``shapes``. ``checked``: the checkpoint was
    already checked against the model as a whole (by :func:`deploy`)."""
    require_mmdeploy()
    from mmdeploy.apis.utils import build_task_processor

    from ..cli.config_checks import load_config as load_model_config
    model_cfg = load_model_config(config)
    deploy_cfg = deploy_cfg or deploy_config_for(model_cfg)
    if not checked:
        check_checkpoint(config, checkpoint)
    processor = build_task_processor(model_cfg, deploy_cfg, 'cpu')
    torch_model = processor.build_pytorch_model(checkpoint).eval()
    backend_model = processor.build_backend_model(
        list(backend_files), data_preprocessor_updater=processor.update_data_preprocessor)
    import mmcv
    original = mmcv.imread(image)
    results = []
    for h, w in shapes:
        # the image at (h, w) and the pipeline at the same size: both models' outputs are
        # compared at their input's resolution (no rescaling after them)
        resized = mmcv.imresize(original, (w, h))
        data, _ = processor.create_input(resized, (w, h))  # mmdeploy takes (width, height)
        with torch.no_grad():
            want = torch_model.test_step(data)[0]
            got = backend_model.test_step(data)[0]
        if 'pred_sem_seg' in want:
            a = want.pred_sem_seg.data.cpu().numpy()
            b = got.pred_sem_seg.data.cpu().numpy()
            # mmdeploy's segmentor wrapper keeps the data preprocessor's bottom/right padding
            # (size_divisor); mmseg crops it: compare the image's pixels
            b = b[..., :a.shape[-2], :a.shape[-1]]
            results.append(Agreement((h, w), pixels=float(np.mean(a == b))))
        else:
            results.append(compare_instances(want.pred_instances.cpu(),
                                             got.pred_instances.cpu(), (h, w), score_thr))
    return results
