#!/usr/bin/env python
"""Benchmark mmtwins' Twins backbones against mmsegmentation's PCPVT/SVT and timm's Twins.

The peers are built with the same architecture and loaded with the same weights; timings are
interleaved in one run (warm-up, then medians), so machine noise hits all alike. timm joins
where it is importable (it needs torchvision, which mmtwins never installs).

    python tools/analysis/benchmark.py                       # SVT-S and PCPVT-S, fp32
    python tools/analysis/benchmark.py --dtypes fp32 bf16    # also under bf16 autocast
    python tools/analysis/benchmark.py --variants svt_b --infer-sizes 512x512 --device cuda
    python tools/analysis/benchmark.py --config-iter          # also one UPerNet iteration
    python tools/analysis/benchmark.py --only-segmentor --dtypes fp32 bf16  # UPerNet: eager,
                                         # --compile, ONNX Runtime

Prints, per variant and precision: inference (no grad) and training-step (forward +
backward) times and the ratios to each peer; peak memory of a training step (on CPU each
measured in a fresh process; mmtwins with and without ``with_cp``); mmtwins' achieved
GFLOP/s next to the machine's measured matmul GFLOP/s in that precision.
"""
import argparse
import contextlib
import json
import os
import os.path as osp
import platform
import statistics
import subprocess
import sys
import time

import torch

from mmtwins.cli.backbone import ARCHS as VARIANTS


def parse_size(text):
    h, w = text.lower().split('x')
    return int(h), int(w)


DTYPES = {'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}


def autocast(device, dtype):
    """Autocast to ``dtype`` ('bf16', 'fp16'), or nothing for 'fp32'."""
    if DTYPES[dtype] is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device, dtype=DTYPES[dtype])


def timm_available():
    try:
        import timm  # noqa: F401
    except Exception:  # ImportError, or a torchvision that does not match torch
        return False
    return True


def build_timm(variant, ours, device):
    """timm's Twins of the same variant, with ``ours``' weights; its forward returns the
    four stage maps, as ours does."""
    import timm

    from mmtwins.checkpoint import rename_key
    from mmtwins.variants import VARIANTS as INFO
    model = timm.create_model(INFO[variant].timm, pretrained=False, num_classes=0)
    ours_sd = ours.state_dict()
    # ours' weights under timm's names (timm's layout is the official one)
    theirs_sd, unmapped = {}, []
    for key, value in model.state_dict().items():
        name = rename_key(key, 'official')
        if name in ours_sd:
            theirs_sd[key] = ours_sd[name]
        elif key.startswith('norm.'):  # the classifier's final norm: not in the stage maps
            theirs_sd[key] = value
        else:
            unmapped.append(key)
    if unmapped:
        raise RuntimeError(f'timm {INFO[variant].timm}: {len(unmapped)} tensor(s) have no '
                           f'counterpart in mmtwins ({unmapped[:4]}): the two would not hold '
                           f'the same weights')
    model.load_state_dict(theirs_sd)

    class Maps(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net.forward_intermediates(x, intermediates_only=True)
    return Maps(model).to(device)


def build_pair(variant, device, with_cp=False, need_mmseg=True):
    """mmtwins' backbone and mmseg's, same architecture, same (random) weights."""
    import mmtwins.models as mm
    from mmtwins.checkpoint import check_state_dict, to_mmtwins
    cls_name, arch = VARIANTS[variant]
    ours = getattr(mm, cls_name)(arch=arch, with_cp=with_cp)
    ours.init_weights()
    theirs = None
    if need_mmseg:
        from mmseg.models.backbones import PCPVT, SVT
        a = ours.arch_settings
        kwargs = dict(embed_dims=a['embed_dims'], depths=a['depths'], num_heads=a['num_heads'],
                      mlp_ratios=a['mlp_ratios'], sr_ratios=a['sr_ratios'],
                      patch_sizes=[4, 2, 2, 2], strides=[4, 2, 2, 2], qkv_bias=True,
                      drop_path_rate=0.0)
        if cls_name == 'TwinsSVT':
            theirs = SVT(windiow_sizes=a['window_sizes'], norm_after_stage=True, **kwargs)
        else:
            theirs = PCPVT(norm_after_stage=False, **kwargs)
        theirs.init_weights()
        converted = to_mmtwins(theirs.state_dict(), fmt='mmseg')['state_dict']
        ours.load_state_dict(check_state_dict(ours, converted)['matched'])
        theirs.to(device)
    return ours.to(device), theirs


def check_same_weights(models, device, tol=1e-3):
    """Run every implementation on one 224x224 image (no window padding anywhere) before
    timing: each peer's four stage maps must equal ours to ``tol`` of the largest value, so
    that the rows time the same network with the same weights. Returns ``{peer: diff}``."""
    x = torch.randn(1, 3, 224, 224, device=device)
    with torch.no_grad():
        want = [o.float() for o in models['mmtwins'].eval()(x)]
        diffs = {}
        for name, model in models.items():
            if name == 'mmtwins' or model is None:
                continue
            got = [o.float() for o in model.eval()(x)]
            diffs[name] = max(float((g - w).abs().max() / w.abs().max())
                              for g, w in zip(got, want))
    wrong = {n: d for n, d in diffs.items() if not d <= tol}
    if wrong:
        raise RuntimeError(f'the implementations do not compute the same: largest difference '
                           f'relative to the largest output {wrong} (> {tol}); the timings would '
                           f'compare different networks')
    return diffs


def sync(device):
    if device == 'cuda':
        torch.cuda.synchronize()


def timed(fn, device):
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def interleaved(fns, device, warmup, repeats):
    """Median seconds of each callable, run in alternating order after warm-up."""
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            fns[name]()
    times = {name: [] for name in names}
    for r in range(repeats):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            times[name].append(timed(fns[name], device))
    return {name: statistics.median(t) for name, t in times.items()}


def matmul_gflops(device, n=2048, repeats=10, dtype='fp32'):
    a = torch.randn(n, n, device=device, dtype=DTYPES[dtype] or torch.float32)
    b = torch.randn(n, n, device=device, dtype=DTYPES[dtype] or torch.float32)
    for _ in range(3):
        a @ b
    t = statistics.median(timed(lambda: a @ b, device) for _ in range(repeats))
    return 2 * n ** 3 / t / 1e9


def train_step_fn(model, x, dtype='fp32'):
    model.train()

    def step():
        for p in model.parameters():
            p.grad = None
        with autocast(x.device.type, dtype):
            outs = model(x)
            loss = sum(o.float().mean() for o in outs)
        loss.backward()
    return step


def infer_fn(model, x, dtype='fp32'):
    model.eval()

    def run():
        with torch.no_grad(), autocast(x.device.type, dtype):
            model(x)
    return run


def _rss_bytes():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def build_impl(impl, variant, device):
    """One benchmarked backbone: 'mmtwins', 'mmtwins+cp' (with_cp), 'mmseg' or 'timm'."""
    ours, theirs = build_pair(variant, device, with_cp=impl == 'mmtwins+cp',
                              need_mmseg=impl == 'mmseg')
    if impl == 'mmseg':
        return theirs
    if impl == 'timm':
        return build_timm(variant, ours, device)
    return ours


def cuda_peak(model, x, dtype):
    """Peak CUDA memory that one training step adds, in this process."""
    step = train_step_fn(model, x, dtype)
    step()  # warm-up: one-time buffers (kernels, workspaces) are not the step's memory
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    step()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - base


def memory_worker(args):
    """One training step in this (fresh) process; prints the peak memory it added.

    On CPU: the peak resident set size above the level before the step, sampled every
    0.2 ms; the parent starts this process with glibc's mmap threshold fixed low, so
    tensors are returned to the OS when freed and the resident size follows the live
    tensors. (On CUDA ``max_memory_allocated`` is exact in-process: see :func:`cuda_peak`.)
    """
    import gc
    import threading
    impl, variant, size, batch, device, dtype = args
    h, w = parse_size(size)
    model = build_impl(impl, variant, device)
    x = torch.randn(int(batch), 3, h, w, device=device)
    if device == 'cuda':
        print(json.dumps(dict(peak_bytes=cuda_peak(model, x, dtype))))
        return
    step = train_step_fn(model, x, dtype)
    step()  # warm-up: one-time buffers are not the step's memory
    gc.collect()
    base = _rss_bytes()
    high = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            high[0] = max(high[0], _rss_bytes())
            time.sleep(0.0002)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    step()
    done.set()
    sampler.join()
    print(json.dumps(dict(peak_bytes=high[0] - base)))


def peak_memory(impl, variant, size, batch, device, dtype='fp32'):
    if device == 'cuda':  # exact in-process; models built here are freed after
        h, w = parse_size(size)
        model = build_impl(impl, variant, device)
        peak = cuda_peak(model, torch.randn(batch, 3, h, w, device=device), dtype)
        del model
        torch.cuda.empty_cache()
        return peak
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_='65536', MALLOC_TRIM_THRESHOLD_='0')
    proc = subprocess.run([sys.executable, osp.abspath(__file__), '--_memory-worker', impl,
                           variant, size, str(batch), device, dtype], capture_output=True,
                          text=True, env=env)
    if proc.returncode:
        raise RuntimeError(f'memory worker failed:\n{proc.stderr[-2000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])['peak_bytes']


def config_iteration(args, device):
    """One training iteration of a whole UPerNet config: ours against mmseg's own."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    import mmseg
    ours_cfg = Config.fromfile(osp.join(osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))), 'configs', 'upernet_twins_svt_s_ade20k.py'))
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


def segmentor_paths(args, device):
    """The whole UPerNet-SVT-S segmentor, inference at --config-crop (random weights), by
    each way of running it: eager, ``--compile`` (CompileForInferenceHook's modules:
    backbone, neck, decode head), ONNX Runtime (where installed; CPU), each in fp32 and, for
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
    tools = osp.dirname(osp.dirname(osp.abspath(__file__)))
    sys.path.insert(0, osp.join(tools, 'deployment'))
    from export_onnx import SegmentorLogits, export, ort_session
    init_default_scope('mmseg')
    config = osp.join(osp.dirname(tools), 'configs', 'upernet_twins_svt_s_ade20k.py')
    if args.segmentor_checkpoint:  # trained weights, checked whole before loading
        from export_onnx import build_whole
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
            with torch.no_grad(), autocast(device, dtype):
                return model(x)
        return fn
    for dtype in args.dtypes:
        fns[f'eager {dtype}'] = run(eager, dtype)
    if not args.no_compile:
        compiled = copy.deepcopy(eager)
        compile_modules(compiled.segmentor, {})
        for dtype in args.dtypes:
            fns[f'compiled {dtype}'] = run(compiled, dtype)
            compile_s[f'compiled {dtype}'] = timed(fns[f'compiled {dtype}'], device)
    tmp = tempfile.TemporaryDirectory()
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        onnx_path = None
    else:
        onnx_path = osp.join(tmp.name, 'upernet.onnx')
        start = time.perf_counter()
        export(eager.cpu(), x.cpu(), onnx_path, ['logits'], 18)
        compile_s['onnxruntime fp32'] = time.perf_counter() - start
        eager.to(device)
        session = ort_session(onnx_path, torch.get_num_threads())
        feed = {'image': x.cpu().numpy()}
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--variants', nargs='+', default=['svt_s', 'pcpvt_s'],
                        choices=sorted(VARIANTS))
    parser.add_argument('--infer-sizes', nargs='+', default=['512x512', '800x1344'])
    parser.add_argument('--infer-batch', type=int, default=1)
    parser.add_argument('--train-sizes', nargs='+', default=['512x512'])
    parser.add_argument('--train-batch', type=int, default=2)
    parser.add_argument('--dtypes', nargs='+', default=['fp32'], choices=sorted(DTYPES),
                        help='precisions: fp32, and bf16/fp16 under torch.autocast')
    parser.add_argument('--peers', nargs='+', choices=('mmseg', 'timm'),
                        help='compare with these (default: mmseg, and timm if importable)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--no-memory', action='store_true', help='skip peak memory')
    parser.add_argument('--config-iter', action='store_true',
                        help='also time one UPerNet SVT-S training iteration, ours vs mmseg')
    parser.add_argument('--config-crop', default='512x512')
    parser.add_argument('--config-repeats', type=int, default=3)
    parser.add_argument('--segmentor', action='store_true',
                        help='also time whole UPerNet-SVT-S inference at --config-crop: eager, '
                        '--compile (torch.compile of backbone, neck and decode head) and ONNX '
                        'Runtime, in each of --dtypes (ONNX Runtime: fp32)')
    parser.add_argument('--only-segmentor', action='store_true',
                        help='only that (no backbone rows)')
    parser.add_argument('--int8', action='store_true',
                        help='--segmentor: also ONNX Runtime with int8 dynamic quantization of '
                        'the linear layers (MatMul/Gemm)')
    parser.add_argument('--segmentor-checkpoint',
                        help='--segmentor: a trained UPerNet-SVT-S checkpoint (default: random '
                        'weights)')
    parser.add_argument('--segmentor-image',
                        help='--segmentor: an image, resized to --config-crop (default: noise)')
    parser.add_argument('--no-compile', action='store_true',
                        help='--segmentor without the torch.compile paths (which compile for '
                        'about a minute on 2 CPU cores)')
    parser.add_argument('--json', help='also write the results here')
    parser.add_argument('--_memory-worker', nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._memory_worker:
        return memory_worker(args._memory_worker)

    device = args.device
    torch.manual_seed(0)
    from mmtwins.utils.flops import count_flops
    peers = args.peers or (['mmseg'] + (['timm'] if timm_available() else []))
    peaks = {dtype: matmul_gflops(device, dtype=dtype) for dtype in args.dtypes}
    hardware = (torch.cuda.get_device_name() if device == 'cuda'
                else platform.processor() or platform.machine())
    print(f'mmtwins benchmark {time.strftime("%Y-%m-%d")}: torch {torch.__version__}, '
          f'{device} ({hardware}, {torch.get_num_threads()} threads), medians of '
          f'{args.repeats} after {args.warmup} warm-up; peers: {", ".join(peers)}')
    for dtype, peak in peaks.items():
        print(f'measured {dtype} matmul (2048^3): {peak:.1f} GFLOP/s')
    print()
    results = dict(matmul_gflops=peaks, device=device, hardware=hardware, peers=peers,
                   variants={})
    header = (f'{"variant":8s} {"prec":4s} {"workload":22s} {"mmtwins":>9s} '
              + ''.join(f'{p:>9s} ' for p in peers)
              + ''.join(f'{"/" + p:>7s} ' for p in peers))
    if not args.only_segmentor:
        print(header)
        print('-' * len(header))

    def row(variant, dtype, workload, t, extra=''):
        cells = f'{t["mmtwins"] * 1e3:7.1f}ms ' + ''.join(
            f'{t[p] * 1e3:7.1f}ms ' for p in peers) + ''.join(
            f'{t[p] / t["mmtwins"]:6.2f}x ' for p in peers)
        print(f'{variant:8s} {dtype:4s} {workload:22s} {cells}{extra}', flush=True)

    for variant in ([] if args.only_segmentor else args.variants):
        ours, mmseg_model = build_pair(variant, device, need_mmseg='mmseg' in peers)
        models = dict(mmtwins=ours, mmseg=mmseg_model)
        if 'timm' in peers:
            try:
                models['timm'] = build_timm(variant, ours, device)
            except Exception as err:  # e.g. a timm without forward_intermediates
                if args.peers:
                    raise
                print(f'timm left out: {type(err).__name__}: {err}')
                peers = [p for p in peers if p != 'timm']
        diffs = check_same_weights({n: models.get(n) for n in ['mmtwins'] + peers}, device)
        print(f'{variant}: same weights, outputs at 224x224 agree with mmtwins\' to '
              + ', '.join(f'{n} {d:.1e}' for n, d in diffs.items())
              + ' (largest difference / largest value)', flush=True)
        res = results['variants'][variant] = {'same_weights_max_rel_diff': diffs}
        for dtype in args.dtypes:
            for size in args.infer_sizes:
                h, w = parse_size(size)
                x = torch.randn(args.infer_batch, 3, h, w, device=device)
                fns = {name: infer_fn(models[name], x, dtype) for name in ['mmtwins'] + peers}
                t = interleaved(fns, device, args.warmup, args.repeats)
                flops = count_flops(lambda: ours.eval()(x), ours)['total']
                gflops = flops / t['mmtwins'] / 1e9
                res[f'{dtype} infer {size}'] = dict(t, flops=flops, gflops=gflops)
                extra = (f'{gflops:.0f} GFLOP/s = {100 * gflops / peaks[dtype]:.0f}% of '
                         f'matmul ({flops / 1e9:.1f} GFLOP)')
                row(variant, dtype, f'infer {args.infer_batch}x3x{size}', t, extra)
            for size in args.train_sizes:
                h, w = parse_size(size)
                x = torch.randn(args.train_batch, 3, h, w, device=device)
                fns = {name: train_step_fn(models[name], x, dtype)
                       for name in ['mmtwins'] + peers}
                t = interleaved(fns, device, 1, max(3, args.repeats // 2))
                res[f'{dtype} train {size}'] = t
                row(variant, dtype, f'train {args.train_batch}x3x{size}', t)
                if args.no_memory:
                    continue
                if device == 'cuda':  # in-process: the timed models stay where they are
                    mem = {name: cuda_peak(models[name], x, dtype)
                           for name in ['mmtwins'] + peers}
                    mem['mmtwins+cp'] = peak_memory('mmtwins+cp', variant, size,
                                                    args.train_batch, device, dtype)
                else:
                    mem = {impl: peak_memory(impl, variant, size, args.train_batch, device,
                                             dtype) for impl in ['mmtwins', 'mmtwins+cp'] + peers}
                res[f'{dtype} train {size} peak memory'] = mem
                cells = f'{mem["mmtwins"] / 2**20:7.0f}MB ' + ''.join(
                    f'{mem[p] / 2**20:7.0f}MB ' for p in peers) + ''.join(
                    f'{mem["mmtwins"] / mem[p]:6.2f}x ' for p in peers)
                print(f'{variant:8s} {dtype:4s} {"  peak memory":22s} {cells}with_cp: '
                      f'{mem["mmtwins+cp"] / 2**20:.0f}MB', flush=True)
        models = ours = mmseg_model = None
        if device == 'cuda':
            torch.cuda.empty_cache()
    if args.config_iter:
        t = config_iteration(args, device)
        results['config_iter'] = t
        print(f'{"svt_s":8s} {f"UPerNet iter {args.train_batch}x{args.config_crop}":28s} '
              f'{t["mmtwins"] * 1e3:8.1f}ms {t["mmseg"] * 1e3:8.1f}ms '
              f'{t["mmseg"] / t["mmtwins"]:8.2f}x')
    if args.segmentor or args.only_segmentor:
        paths = segmentor_paths(args, device)
        results['segmentor'] = paths
        base = paths.get('eager fp32', next(iter(paths.values())))['time']
        print(f'\nUPerNet-SVT-S, whole segmentor, inference 1x3x{args.config_crop} (logits at '
              f'input size)\n{"path":18s} {"time":>9s} {"speed-up":>9s} {"prep":>7s} '
              f'{"max rel. diff":>14s} {"same pixels":>12s}')
        for name, r in paths.items():
            prep = f'{r["prep_s"]:6.0f}s' if r['prep_s'] is not None else f'{"":7s}'
            print(f'{name:18s} {r["time"] * 1e3:7.1f}ms {base / r["time"]:8.2f}x {prep} '
                  f'{r["max_rel_diff"]:14.1e} {100 * r["same_pixels"]:11.3f}%')
        print('(speed-up over eager fp32; prep: compile time of the first call, or the ONNX '
              'export; differences against eager fp32 logits)')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == '__main__':
    os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    sys.exit(main())
