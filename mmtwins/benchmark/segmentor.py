"""Whole-segmentor rows of the benchmark: one UPerNet training iteration against mmseg's
own, and UPerNet-SVT-S inference by each way of running it (eager, compiled, ONNX Runtime)."""
import os.path as osp
import time

import torch
import torch.nn.functional as F
from torch import nn

from .timing import autocast, interleaved, parse_size, timed


class SegmentorLogits(nn.Module):
    """A mmseg encoder-decoder as ``image -> logits`` at the input's size (mmseg's
    whole-image inference without its post-processing): the eager model the benchmark times,
    and what the ONNX Runtime row's graph computes."""

    def __init__(self, segmentor: nn.Module) -> None:
        super().__init__()
        self.segmentor = segmentor

    def forward(self, image):
        seg = self.segmentor
        logits = seg.decode_head(seg.extract_feat(image))
        return F.interpolate(logits, size=image.shape[2:], mode='bilinear',
                             align_corners=seg.align_corners)


def config_iteration(args, device, config: str):
    """One training iteration of a whole UPerNet config: ours against mmseg's own."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    import mmseg
    ours_cfg = Config.fromfile(config)
    theirs_cfg = Config.fromfile(osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs',
                                          'twins', 'twins_svt-s_uperhead_8xb2-160k_ade20k-'
                                          '512x512.py'))
    h, w = parse_size(args.config_crop)
    models = {}
    for name, cfg in (('mmtwins', ours_cfg), ('mmseg', theirs_cfg)):
        cfg.model.backbone.init_cfg = None
        cfg.model.backbone.drop_path_rate = 0.0
        from mmtwins.cli.devices import replace_norm_type
        if device == 'cpu':
            replace_norm_type(cfg.model, 'SyncBN', 'BN')
        # constructor initialisation is enough for timing (init_weights logs every tensor)
        models[name] = MODELS.build(cfg.model).to(device)
    imgs = torch.randn(args.train_batch, 3, h, w, device=device)
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    samples = []
    for _ in range(args.train_batch):
        s = SegDataSample(metainfo=dict(img_shape=(h, w), pad_shape=(h, w), ori_shape=(h, w)))
        s.gt_sem_seg = PixelData(data=torch.randint(0, 150, (1, h, w), device=device))
        samples.append(s)
    fns = {}
    for name, model in models.items():
        opt = torch.optim.AdamW(model.parameters(), lr=1e-5)

        def step(model=model, opt=opt):
            model.train()
            opt.zero_grad()
            losses = model.loss(imgs, samples)
            sum(v for k, v in losses.items() if 'loss' in k).backward()
            opt.step()
        fns[name] = step
    return interleaved(fns, device, warmup=1, repeats=args.config_repeats)


def segmentor_paths(args, device, config: str):
    """The whole UPerNet-SVT-S segmentor, inference at --config-crop (random weights), by
    each way of running it: eager, ``--compile`` (CompileForInferenceHook's modules:
    backbone, neck, decode head), ONNX Runtime (the model exported through mmdeploy with
    the shipped segmentation deploy config, logits instead of classes; where mmdeploy is
    installed), each in fp32 and, for
    the PyTorch paths, in every other dtype of ``--dtypes`` (autocast). Returns, per path,
    the median time, its max relative difference from eager fp32 logits and the share of
    pixels whose class is unchanged."""
    import copy
    import tempfile

    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    from mmtwins.cli.devices import replace_norm_type
    from mmtwins.engine.compile_hook import compile_modules
    from ..deployment.onnx import build_whole, ort_session
    init_default_scope('mmseg')
    if args.segmentor_checkpoint:  # trained weights, checked whole before loading
        model, cfg = build_whole(config, args.segmentor_checkpoint)
    else:
        cfg = Config.fromfile(config)
        cfg.model.backbone.init_cfg = None
        if device == 'cpu':
            replace_norm_type(cfg.model, 'SyncBN', 'BN')
        model = MODELS.build(cfg.model)
    eager = SegmentorLogits(model).to(device).eval()
    h, w = parse_size(args.config_crop)
    if args.segmentor_image:  # resized to the crop, normalised as the data preprocessor
        import numpy as np
        from PIL import Image
        pre = cfg.model.data_preprocessor
        with Image.open(args.segmentor_image) as img:
            rgb = np.asarray(img.convert('RGB').resize((w, h), Image.BILINEAR), np.float32)
        x = (torch.from_numpy(rgb).permute(2, 0, 1) - torch.tensor(pre.mean)[:, None, None]) \
            / torch.tensor(pre.std)[:, None, None]
        x = x[None].to(device)
    else:
        x = torch.randn(1, 3, h, w, device=device)
    fns, outs, compile_s = {}, {}, {}

    def run(model, dtype):
        def fn():
            torch.compiler.cudagraph_mark_step_begin()  # reduce-overhead: a new step each call
            with torch.no_grad(), autocast(device, dtype):
                return model(x)
        return fn
    for dtype in args.dtypes:
        fns[f'eager {dtype}'] = run(eager, dtype)
    if not args.no_compile:
        compiled = copy.deepcopy(eager)
        mode = getattr(args, 'compile_mode', None)
        compile_modules(compiled.segmentor, dict(mode=mode) if mode else {})
        label = f'compiled {mode}' if mode else 'compiled'
        for dtype in args.dtypes:
            fns[f'{label} {dtype}'] = run(compiled, dtype)
            # the first calls compile (reduce-overhead: a later one records the CUDA graph)
            compile_s[f'{label} {dtype}'] = sum(
                timed(fns[f'{label} {dtype}'], device) for _ in range(3))
    tmp = tempfile.TemporaryDirectory()
    try:
        import mmdeploy  # noqa: F401
    except ImportError:
        onnx_path = None
        print('(no ONNX Runtime row: mmdeploy is not installed; MMTWINS_DEPLOY=1 bash '
              'tools/setup.sh installs it)')
    else:
        from mmdeploy.utils import load_config

        from ..deployment.deploy import DEPLOY_CONFIGS, deploy_config_path, export_model
        deploy_cfg = load_config(deploy_config_path(DEPLOY_CONFIGS['segmentation']))[0]
        deploy_cfg.codebase_config.with_argmax = False  # logits, as the eager rows
        start = time.perf_counter()
        onnx_path = export_model(model.cpu().eval(), x.cpu(), osp.join(tmp.name, 'upernet.onnx'),
                                 deploy_cfg)
        compile_s['onnxruntime fp32'] = time.perf_counter() - start
        eager.to(device)
        session = ort_session(onnx_path, torch.get_num_threads())
        feed = {'input': x.cpu().numpy()}
        fns['onnxruntime fp32'] = lambda: torch.from_numpy(session.run(None, feed)[0])
        if args.int8:  # dynamic quantization: int8 weights of MatMul/Gemm, activations at run
            from onnxruntime.quantization import QuantType, quantize_dynamic
            int8_path = osp.join(tmp.name, 'upernet_int8.onnx')
            start = time.perf_counter()
            quantize_dynamic(onnx_path, int8_path, weight_type=QuantType.QInt8,
                             op_types_to_quantize=['MatMul', 'Gemm'])
            compile_s['onnxruntime int8'] = time.perf_counter() - start
            session8 = ort_session(int8_path, torch.get_num_threads())
            fns['onnxruntime int8'] = lambda: torch.from_numpy(session8.run(None, feed)[0])
    for name, fn in fns.items():
        outs[name] = fn().float().cpu()
    ref = outs['eager fp32'] if 'eager fp32' in outs else next(iter(outs.values()))
    t = interleaved(fns, device, args.warmup, args.repeats)
    tmp.cleanup()
    return {name: dict(time=t[name], prep_s=compile_s.get(name),
                       max_rel_diff=float((outs[name] - ref).abs().max() / ref.abs().max()),
                       same_pixels=float((outs[name].argmax(1) == ref.argmax(1)).float().mean()))
            for name in fns}
